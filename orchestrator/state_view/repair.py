"""`resync verify --repair`: the smallest resync requests that remove what a verification found.

For each district that differs, the objects to rebuild are
- every verified object that differs (its state table, or a source table it reads), and
- the parents of those objects (catalog.with_dependencies) that read a source table that
  differs: the repair's pull brings that table up to date, and a parent built from the old copy
  would be left behind, with children pointing at rows it lacks.
Nothing else: no --check-dependencies, which would rebuild every ancestor. A request covers
districts x objects, so districts that need the same objects share one request; the requests go
through the request API exactly as `resync request` would queue them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from .. import catalog, database, registry, requests, resync, rights, state_config
from ..sites import pulls
from .verify import Verification, record_repair, verify


@dataclass(frozen=True)
class Repair:
    districts: tuple[str, ...]
    objects: tuple[str, ...]  # Campus names, in run order
    school_year: int

    def as_dict(self) -> dict:
        return {"districts": list(self.districts), "objects": list(self.objects), "school_year": self.school_year,
                "check_dependencies": False}


def repairs(verification: Verification) -> list[Repair]:
    """The requests that make the verified districts equal again; [] when nothing differs.
    Districts that could not be verified are not repaired (nothing is known of them)."""
    config = state_config.load()
    wanted: dict[frozenset, list[str]] = {}
    for district in verification.districts:
        if district.error or district.equal:
            continue
        differing_tables = set(district.differing_tables)
        objects = {catalog.resolve(name) for name in district.differing_objects}
        for obj in list(objects):
            for parent in catalog.with_dependencies([obj]):
                if (parent not in objects and config.subscribes(parent)
                        and differing_tables & set(pulls.tables_read([parent.model_name]))):
                    objects.add(parent)
        names = frozenset(o.campus_name for o in objects)
        wanted.setdefault(names, []).append(district.district)
    return [Repair(tuple(sorted(codes)), tuple(o.campus_name for o in resync.in_run_order(
        [catalog.resolve(n) for n in names], check_dependencies=False)), verification.school_year) for names, codes in wanted.items()]


def check_may_queue(conn: Connection, district_codes: list[str] | None) -> None:
    """Refuse, before anything is verified, a caller who may not queue a repair of these districts
    (every one they see by default): the database's queue_request would refuse it afterwards."""
    rights.check_request(conn, [d.code for d in registry.resolve(conn, district_codes or None)])


def preview(conn: Connection, planned: list[Repair]) -> list[resync.ResyncPlan]:
    """The resync plans the repairs would queue, validated as a request is; nothing queued."""
    return [resync.build_plan(conn, list(r.districts), list(r.objects), False, r.school_year) for r in planned]


def queue(conn: Connection, verification: Verification, planned: list[Repair]) -> list[requests.Request]:
    """Queue the repairs (in the caller's transaction, requested by the login role: the database's
    queue_request refuses a caller without Write on these districts) and note them on the
    verification."""
    queued = [requests.submit_resync(conn, districts=list(r.districts), objects=list(r.objects),
                                     check_dependencies=False, school_year=r.school_year) for r in planned]
    if verification.id is not None:
        record_repair(conn, verification.id, [r.id for r in queued])
    return queued


@dataclass
class Outcome:
    """What `verify --repair` did: the repairs it found, and their plans (a dry run) or requests."""

    dry_run: bool
    planned: list[Repair] = field(default_factory=list)
    plans: list[resync.ResyncPlan] = field(default_factory=list)
    queued: list[requests.Request] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "requests": [r.as_dict() for r in self.planned],
                "queued": [q.id for q in self.queued], "plans": [p.as_dict() for p in self.plans]}


def verify_and_repair(url: str, district_codes: list[str] | None, object_names: list[str],
                      school_year: int | None = None, *, dry_run: bool = False,
                      recompute: bool = False) -> tuple[Verification, Outcome]:
    """Verify, then queue (or with `dry_run` only plan) the repairs of what differs, as the login
    role (`resync verify --repair`, the web page's Repair button). A caller who may not queue a
    repair of these districts is refused before anything is verified."""
    if not dry_run:
        with database.transaction(url) as conn:
            check_may_queue(conn, district_codes)
    found = verify(url, district_codes, object_names, school_year, recompute=recompute)
    outcome = Outcome(dry_run, repairs(found))
    if outcome.planned:
        with database.transaction(url) as conn:
            if dry_run:
                outcome.plans = preview(conn, outcome.planned)
            else:
                outcome.queued = queue(conn, found, outcome.planned)
    return found, outcome
