"""Resync chosen objects of chosen districts: a validated plan, then its execution by dbt.

The programmatic API behind `resync run` and the request worker:

    plan = build_plan(conn, ["01"], ["AttendanceExcuse"], check_dependencies=True, school_year=None)
    result = execute(plan)          # one in-process dbt run; result.ok, result.as_dict()

build_plan checks everything a user can get wrong and touches nothing. execute runs every object
of the plan in one dbt invocation with --fail-fast: each object is replaced atomically (the
district_replace strategy runs in the model's transaction), so when one fails the objects before
it stay finished, the failed one is rolled back and the rest are skipped.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import catalog, database, dbt_invoker, missing_parents, registry, settings, state_config
from .sites import pulls
from .state_view import sync_log
from .catalog import CampusObject
from .errors import ResyncError

from .school_year import MAX_SCHOOL_YEAR, MIN_SCHOOL_YEAR, current_school_year, school_year_label  # noqa: F401


# --- the plan ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResyncPlan:
    """What a resync will do; built by build_plan, run by execute."""

    state_name: str
    districts: tuple[registry.District, ...]
    requested: tuple[CampusObject, ...]  # as asked, in run order
    objects: tuple[CampusObject, ...]  # everything that runs, in run order
    check_dependencies: bool
    school_year: int
    full_refresh: bool = False
    # The landing tables the objects read (dbt's graph: model -> staging -> source), pulled from
    # every district first; year-scoped ones for the school year only.
    pull_tables: tuple[str, ...] = ()

    @property
    def district_codes(self) -> list[str]:
        return [d.code for d in self.districts]

    @property
    def added_by_dependencies(self) -> list[CampusObject]:
        asked = {o.campus_name for o in self.requested}
        return [o for o in self.objects if o.campus_name not in asked]

    def dbt_vars(self) -> dict:
        # A full refresh rebuilds every registered district; the models refuse a narrowed one.
        districts = [] if self.full_refresh else self.district_codes
        return {"districts": districts, "school_year": self.school_year}

    def dbt_args(self) -> list[str]:
        """`dbt run` arguments: `+model` (model and all its parents) with dependencies."""
        prefix = "+" if self.check_dependencies else ""
        selected = [prefix + o.model_name for o in self.requested]
        args = ["run", "--select", *selected, "--vars", dbt_invoker.vars_argument(self.dbt_vars()),
                "--fail-fast"]
        if self.full_refresh:
            args.append("--full-refresh")
        return args

    def dbt_command(self) -> str:
        return dbt_invoker.plain_command(self.dbt_args())

    def as_dict(self) -> dict:
        return {
            "state": self.state_name,
            "districts": [d.as_dict() for d in self.districts],
            "requested_objects": [o.campus_name for o in self.requested],
            "objects": [
                {"object": o.campus_name, "model": o.model_name, "scope": o.scope,
                 "added_by_dependencies": o in self.added_by_dependencies}
                for o in self.objects
            ],
            "check_dependencies": self.check_dependencies,
            "school_year": self.school_year,
            "full_refresh": self.full_refresh,
            "pull": {d.code: list(self.pull_tables) for d in self.districts},
            "pull_command": self.pull_command(),
            "dbt_command": self.dbt_command(),
        }

    def pull_command(self) -> str:
        """The `resync pull` that fetches what the plan reads, for doing it by hand."""
        districts = " ".join(f"-d {d.code}" for d in self.districts)
        objects = " ".join(f"-o {o.campus_name}" for o in self.objects)
        return f"resync pull {districts} {objects} --school-year {self.school_year}"

    def describe(self) -> str:
        lines = [f"Resync for {self.state_name}, school year {school_year_label(self.school_year)}"
                 f" (end year {self.school_year}):"]
        lines.append("  Districts: " + ", ".join(f"{d.code} {d.name}" for d in self.districts))
        if self.pull_tables:
            lines.append(f"  Pulled first from each district ({len(self.pull_tables)} tables, only what"
                         f" changed): {', '.join(self.pull_tables)}.")
        added = {o.campus_name for o in self.added_by_dependencies}
        lines.append("  Objects, in order:")
        for number, obj in enumerate(self.objects, 1):
            note = "  (dependency)" if obj.campus_name in added else ""
            scope = "district and school year" if obj.year_scoped else "district"
            lines.append(f"    {number:2}. {obj.campus_name} ({obj.model_name}, replaced per {scope}){note}")
        if self.check_dependencies:
            lines.append("  Check dependencies: on (parents are resynced first).")
        else:
            lines.append("  Check dependencies: off (only the chosen objects are rebuilt).")
        if self.full_refresh:
            lines.append("  Full refresh: the tables are rebuilt from scratch for every registered"
                         " district; rows of other school years are dropped (the views over the"
                         " tables, such as the attendance reports, are kept).")
        return "\n".join(lines)


def build_plan(
    conn: Connection,
    districts: list[str],
    objects: list[str],
    check_dependencies: bool,
    school_year: int | None,
    full_refresh: bool = False,
) -> ResyncPlan:
    """Validate a request and say what it will do; raises ResyncError, changes nothing."""
    if not objects:
        raise ResyncError("Choose at least one object with -o OBJECT; `resync objects` lists them.")
    if not districts:
        raise ResyncError("Choose at least one district with -d CODE; `resync district list` shows them.")
    requested = list(dict.fromkeys(catalog.resolve(name) for name in objects))
    chosen = _registered_districts(conn, districts)
    planned = in_run_order(requested, check_dependencies)
    requested = [o for o in planned if o in requested]

    config = state_config.load()
    _check_subscribed(config, requested, planned)

    year = current_school_year() if school_year is None else int(school_year)
    if not MIN_SCHOOL_YEAR <= year <= MAX_SCHOOL_YEAR:
        raise ResyncError(
            f"School year {year} is out of range: give the end year, such as {current_school_year()}."
        )
    if full_refresh:
        _check_full_refresh(conn, chosen)
    if any(o.year_scoped for o in planned):
        _check_calendars(conn, chosen, year)
    return ResyncPlan(
        state_name=config.name,
        districts=tuple(chosen),
        requested=tuple(requested),
        objects=tuple(planned),
        check_dependencies=check_dependencies,
        school_year=year,
        full_refresh=full_refresh,
        pull_tables=tuple(pulls.tables_read([o.model_name for o in planned])),
    )


def in_run_order(objects: list[CampusObject], check_dependencies: bool) -> list[CampusObject]:
    """What a run of `objects` replaces (with every parent when check_dependencies), in the order
    dbt runs it: dbt's graph decides, so the plan, the progress and the results agree with the run."""
    prefix = "+" if check_dependencies else ""
    order = dbt_invoker.run_order([prefix + o.model_name for o in objects])
    wanted = catalog.with_dependencies(objects) if check_dependencies else objects
    by_model = {o.model_name: o for o in wanted}
    missing = sorted(by_model.keys() - set(order))
    if missing:  # tests/test_lineage.py keeps the catalog and the models equal
        raise ResyncError(f"The dbt project has no model {', '.join(missing)} that the catalog lists.")
    return [by_model[model] for model in order if model in by_model]


def _registered_districts(conn: Connection, codes: list[str]) -> list[registry.District]:
    # A plan lists its districts by code, whatever order they were named in.
    return sorted(registry.resolve(conn, [c.strip() for c in codes]), key=lambda d: d.code)


def _check_subscribed(config: state_config.StateConfig, requested, planned) -> None:
    for obj in planned:
        if config.subscribes(obj):
            continue
        where = f"vars.subscribed_objects in {state_config.config_path().name}"
        if obj in requested:
            raise ResyncError(
                f"{config.name} does not subscribe to {obj.campus_name}, so it cannot be resynced"
                f" (the subscriptions are {where})."
            )
        needing = [o.campus_name for o in requested if obj in catalog.with_dependencies([o])]
        raise ResyncError(
            f"{', '.join(needing)} depends on {obj.campus_name}, which {config.name} does not"
            f" subscribe to: resync without --check-dependencies or subscribe to it ({where})."
        )


def _check_full_refresh(conn: Connection, chosen: list[registry.District]) -> None:
    missing = sorted({d.code for d in registry.list_all(conn)} - {d.code for d in chosen})
    if missing:
        raise ResyncError(
            "A full refresh rebuilds the tables for every registered district, so it cannot be"
            f" narrowed: add -d {' -d '.join(missing)} or leave out --full-refresh."
        )


def _url_of(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=False)


def _check_calendars(conn: Connection, chosen: list[registry.District], year: int) -> None:
    """Refuse a school year a district has no calendar for: the resync would only empty it.

    Asked of the district's source itself; a district that cannot be asked now (its site does not
    answer) is not refused here: its pull will fail and say so, and the others still run.
    """
    without = []
    for district in chosen:
        if pulls.has_calendar(_url_of(conn), district, year) is False:
            without.append(district)
    if without:
        names = ", ".join(f"{d.code} {d.name}" for d in without)
        raise ResyncError(
            f"No calendar of school year {school_year_label(year)} exists in district"
            f"{'s' if len(without) > 1 else ''} {names}; choose another --school-year."
        )


# --- the result ----------------------------------------------------------------------------

SUCCESS, ERROR, SKIPPED = "success", "error", "skipped"


@dataclass
class ObjectResult:
    """One object in one district."""

    object: str
    model: str
    district: str
    district_name: str
    status: str  # success, error or skipped
    rows_replaced: int | None  # the district's rows in the replaced scope after the run
    seconds: float | None  # the object's dbt run time (one statement covers all its districts)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Progress:
    """One object starting or finishing, for progress displays (`index` counts from 1)."""

    kind: str  # "start" or "finish"
    object: str
    model: str
    index: int
    total: int
    status: str | None = None  # on finish
    seconds: float | None = None  # on finish
    rows_written: int | None = None  # on a district's pull: landing rows inserted, updated or deleted
    error: str | None = None  # on a district's pull that failed
    district: str | None = None  # on a district's pull: its code


@dataclass
class ResyncResult:
    plan: ResyncPlan
    objects: list[ObjectResult]
    error: str | None
    missing_parents: list[missing_parents.MissingParent] = field(default_factory=list)
    seconds: float = 0.0
    manifest_source: str = ""
    pulls: list = field(default_factory=list)  # sites.pull.DistrictPull per district
    interrupted: bool = False  # stopped by Ctrl-C: `objects` say exactly what committed

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.status == SUCCESS for r in self.objects)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "error": self.error,
            "plan": self.plan.as_dict(),
            "objects": [r.as_dict() for r in self.objects],
            "missing_parents": [m.as_dict() for m in self.missing_parents],
            "pulls": [p.as_dict() for p in self.pulls],
            "advice": self.advice,
            "summary": self.summary(),
            "seconds": self.seconds,
            "interrupted": self.interrupted,
        }

    def summary(self) -> str:
        """One sentence for a person (a notification, the last line of `resync run`)."""
        objects = len(self.plan.objects)
        where = ", ".join(self.plan.district_codes)
        if self.ok:
            rows = sum(r.rows_replaced or 0 for r in self.objects)
            changed = sum(p.written for p in self.pulls)
            pulled = f" ({changed:,} landing rows changed by the pull)" if self.pulls else ""
            return (f"Resynced {objects} object{'s' if objects != 1 else ''} for district"
                    f"{'s' if len(self.plan.districts) != 1 else ''} {where}: {rows:,} rows in"
                    f" {self.seconds:.1f} s{pulled}.")
        return self.error or "The resync did not finish."

    @property
    def advice(self) -> str | None:
        if self.missing_parents:
            return ("Some rows point at parents that are missing at the state: rerun with"
                    " --check-dependencies to resync the parents too.")
        return None


# --- execution -----------------------------------------------------------------------------

def execute(
    plan: ResyncPlan,
    url: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    origin: sync_log.SyncOrigin | None = None,
) -> ResyncResult:
    """Run the plan: pull what its objects read from every district, then one in-process dbt
    invocation for the districts whose pull succeeded, then rows per district and missing parents.
    Each object rebuilt for a district is recorded for `resync freshness` as asked by `origin`
    (a request; default: the current user at `resync run`).

    A district whose pull fails is left out of the rebuild (its objects are skipped and the
    failure is reported); the other districts still finish. A full refresh needs every district,
    so it does not rebuild when any pull failed.
    """
    url = url or database.database_url()
    started = time.perf_counter()
    pulled = _pull(plan, url, on_progress)
    failed_pulls = {p.district: p for p in pulled if not p.ok}
    ready = tuple(d for d in plan.districts if d.code not in failed_pulls)
    if plan.full_refresh and failed_pulls:
        ready = ()
    run_plan = dataclasses.replace(plan, districts=ready)

    statuses = {o.campus_name: SKIPPED for o in plan.objects}
    nodes, rows, orphans, invocation = {}, {}, [], None
    if ready:
        invocation = dbt_invoker.invoke(run_plan.dbt_args(), url=url, on_node=_node_progress(plan, on_progress))
        nodes = {n.model: n for n in invocation.nodes}
        statuses = _object_statuses(run_plan, invocation)
        succeeded = [o for o in plan.objects if statuses[o.campus_name] == SUCCESS]
        with database.transaction(url) as conn:
            rows = {o.model_name: rows_in_scope(conn, o, run_plan.district_codes, plan.school_year)
                    for o in succeeded}
            orphans = ([] if plan.check_dependencies or not succeeded
                       else missing_parents.find(conn, plan.objects, run_plan.district_codes, plan.school_year))
            sync_log.record(conn, origin, [
                sync_log.Synced(code, o.campus_name, plan.school_year if o.year_scoped else None,
                                rows[o.model_name].get(code, 0))
                for o in succeeded for code in run_plan.district_codes])

    results = []
    ready_codes = {d.code for d in ready}
    for obj in plan.objects:
        node = nodes.get(obj.model_name)
        for district in plan.districts:
            status = statuses[obj.campus_name] if district.code in ready_codes else SKIPPED
            results.append(ObjectResult(
                object=obj.campus_name, model=obj.model_name, district=district.code,
                district_name=district.name, status=status,
                rows_replaced=rows.get(obj.model_name, {}).get(district.code, 0) if status == SUCCESS else None,
                seconds=node.seconds if node and status == SUCCESS else None,
            ))
    errors = [p.error for p in failed_pulls.values()]
    if failed_pulls:
        errors.append(_pull_consequence(plan, failed_pulls, ready))
    if invocation is not None and not invocation.success:
        errors.append(_error_sentence(run_plan, invocation, statuses))
    return ResyncResult(
        plan=plan, objects=results, error=" ".join(errors) if errors else None, missing_parents=orphans,
        seconds=round(time.perf_counter() - started, 3),
        manifest_source=invocation.manifest_source if invocation else "", pulls=pulled,
        interrupted=bool(invocation and invocation.interrupted),
    )


def _pull(plan: ResyncPlan, url: str, on_progress: Callable[[Progress], None] | None) -> list:
    """Pull the plan's tables from every district; a Progress event per district pulled."""
    if not plan.pull_tables or not plan.districts:
        return []
    if on_progress:
        on_progress(Progress("pull-start", "pull", "", 0, len(plan.objects)))
    outcomes = pulls.pull(url, list(plan.districts), list(plan.pull_tables), plan.school_year)
    if on_progress:
        for outcome in outcomes:
            on_progress(Progress("pull", f"district {outcome.district}", "", 0, len(plan.objects),
                                 SUCCESS if outcome.ok else ERROR, outcome.seconds,
                                 rows_written=outcome.written, error=outcome.error, district=outcome.district))
    return outcomes


def _pull_consequence(plan: ResyncPlan, failed: dict, ready: tuple) -> str:
    codes = ", ".join(failed)
    if plan.full_refresh:
        return f"A full refresh needs every district, so nothing was rebuilt (the pull of {codes} failed)."
    if not ready:
        return "No district could be pulled, so nothing was rebuilt."
    return (f"The objects of district{'s' if len(failed) > 1 else ''} {codes} were skipped;"
            f" {', '.join(d.code for d in ready)} went on.")


def _node_progress(plan: ResyncPlan, on_progress: Callable[[Progress], None] | None):
    by_model = {o.model_name: o for o in plan.objects}
    counter = {"started": 0}

    def on_node(event: dbt_invoker.NodeEvent) -> None:
        obj = by_model.get(event.model)
        if obj is None or on_progress is None:
            return
        if event.kind == "start":
            counter["started"] += 1
        on_progress(Progress(event.kind, obj.campus_name, obj.model_name, counter["started"],
                             len(plan.objects), event.status, event.seconds))

    return on_node


def _object_statuses(plan: ResyncPlan, invocation: dbt_invoker.Invocation) -> dict[str, str]:
    """success, error or skipped per object (Campus name); exactly one error when dbt failed.

    A failure outside the objects' own models (a staging model they read failed to compile, or
    dbt stopped before any model) is charged to the first object that did not finish: it is the
    one that could not be built.
    """
    nodes = {n.model: n for n in invocation.nodes}
    statuses = {}
    for obj in plan.objects:
        node = nodes.get(obj.model_name)
        # No result: --fail-fast (or an interrupt) stopped the run before this object.
        statuses[obj.campus_name] = node.status if node and node.status in (SUCCESS, ERROR) else SKIPPED
    # Interrupted, the nodes are exactly what ended: what committed, and the one rolled back if any.
    if not invocation.success and not invocation.interrupted and ERROR not in statuses.values():
        unfinished = next((name for name, status in statuses.items() if status != SUCCESS), None)
        if unfinished:
            statuses[unfinished] = ERROR
    return statuses


def rows_in_scope(conn: Connection, obj: CampusObject, district_codes: list[str], school_year: int) -> dict[str, int]:
    """Rows per district in the scope a resync of `obj` replaces (the district, and the school year
    when it is year-scoped), as the caller may see them; a district with none is absent."""
    where = "district_id = any(:codes)" + (" and end_year = :year" if obj.year_scoped else "")
    found = conn.execute(sa.text(
        f'select district_id, count(*) from "{settings.STATE_SCHEMA}"."{obj.model_name}"'
        f" where {where} group by district_id"
    ), {"codes": list(district_codes), "year": school_year})
    return {code: count for code, count in found}


# dbt's node messages read "Database Error in model x (path)\n  <reason>\n  LINE 3: ...\n
# compiled code at ..."; the reason is what a person needs.
def _error_sentence(plan: ResyncPlan, invocation: dbt_invoker.Invocation, statuses: dict[str, str]) -> str:
    failed = next((name for name, status in statuses.items() if status == ERROR), None)
    if invocation.interrupted:
        return _stopped_sentence(statuses, failed)
    if failed is None:  # dbt failed, yet every object finished (a later step such as a hook)
        return f"dbt failed after the objects finished: {dbt_invoker.short_reason(invocation.error)}."
    message = invocation.error or ""
    failed_node = next((n for n in invocation.nodes if n.status == ERROR and n.model == catalog.resolve(failed).model_name), None)
    if failed_node and failed_node.message:
        message = failed_node.message
    # The failing statement covers every district; name the ones the message points at if any.
    named = [d for d in plan.districts
             if (d.schema_name and d.schema_name in message) or re.search(rf"\bdistrict {re.escape(d.code)}\b", message, re.I)]
    districts = named or list(plan.districts)
    where = ("district " if len(districts) == 1 else "districts ") + ", ".join(d.code for d in districts)
    finished = sum(1 for status in statuses.values() if status == SUCCESS)
    skipped = sum(1 for status in statuses.values() if status == SKIPPED)
    return (f"{failed} failed for {where} and was rolled back ({dbt_invoker.short_reason(message)});"
            f" {finished} object{'s' if finished != 1 else ''} before it finished and"
            f" {skipped} {'were' if skipped != 1 else 'was'} skipped.")


def _stopped_sentence(statuses: dict[str, str], rolled_back: str | None) -> str:
    """What an interrupted run left: the objects that committed stay, the one in progress is gone."""
    finished = [name for name, status in statuses.items() if status == SUCCESS]
    skipped = sum(1 for status in statuses.values() if status == SKIPPED)
    parts = [f"Stopped: {len(finished)} object{'s' if len(finished) != 1 else ''} had finished and"
             f" stay{'s' if len(finished) == 1 else ''} replaced"]
    if rolled_back:
        parts.append(f"{rolled_back}, in progress, was rolled back")
    parts.append(f"{skipped} {'were' if skipped != 1 else 'was'} not started")
    return "; ".join(parts) + "."
