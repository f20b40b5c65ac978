"""The one place dbt is invoked: in-process, on a parsed manifest that is cached between calls.

Parsing the project costs seconds; running one small model costs a fraction of that. So the
manifest is parsed once per set of project files (their fingerprint), kept in memory for the life
of the process and pickled under the resync home so that a fresh process starts warm too. Vars
change nothing here: the models read them in SQL bodies, which dbt renders at run time.

dbt is not safe to invoke twice at once inside one process, so every invocation holds one
process-wide lock. Each process gets its own target and log folders (unless DBT_TARGET_PATH /
DBT_LOG_PATH say otherwise), because several workers may run at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import re
import shlex
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from . import database, dbt_cte_injection, settings
from .errors import ResyncError

#: Folders (relative to the project) and files whose contents make up the parsed manifest.
_PROJECT_INPUTS = ("models", "macros", "seeds", "tests/dbt")
_DBT_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "packages.yml")
#: Bump when the way a manifest is cached changes, so old pickles are ignored.
_CACHE_FORMAT = "2"

_lock = threading.RLock()
_memory: dict[str, Any] = {}  # fingerprint -> _CachedManifest of this process


@dataclass
class NodeEvent:
    """A model starting or finishing, for progress displays."""

    kind: str  # "start" or "finish"
    model: str
    unique_id: str
    status: str | None = None  # on finish: success, error or skipped
    seconds: float | None = None  # on finish
    rows_affected: int | None = None  # on finish: the adapter's count for the model's last statement


@dataclass
class NodeResult:
    model: str
    unique_id: str
    status: str  # success, error or skipped (dbt's own words)
    seconds: float
    rows_affected: int | None
    message: str | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Invocation:
    """What one dbt call did."""

    args: list[str]
    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None  # why dbt stopped before or outside any node, if it did
    manifest_source: str = ""  # memory, disk or parse: how warm the call started
    interrupted: bool = False  # stopped by Ctrl-C (KeyboardInterrupt): `nodes` are those that ended

    def as_dict(self) -> dict:
        data = asdict(self)
        data["nodes"] = [n.as_dict() for n in self.nodes]
        return data


@dataclass
class _CachedManifest:
    """A parsed manifest, pickled.

    Kept as bytes and unpickled for every call because a run mutates the manifest it is given:
    dbt marks compiled nodes (ephemeral CTEs included) and reuses their SQL, which would carry
    one run's vars into the next.
    """

    pickled: bytes
    database: str  # the database the manifest's relation names point at


# --- paths ---------------------------------------------------------------------------------

def _process_folder() -> Path:
    folder = settings.home_folder("dbt") / f"process-{os.getpid()}"
    if not folder.exists():
        _remove_folders_of_ended_processes(folder.parent)
    return folder


def _remove_folders_of_ended_processes(parent: Path) -> None:
    """Per-process folders would pile up; a new process clears those whose process has ended."""
    for folder in parent.glob("process-*"):
        try:
            os.kill(int(folder.name.removeprefix("process-")), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


def target_path() -> Path:
    """dbt's target folder for this process: DBT_TARGET_PATH when set, else one per process."""
    configured = os.environ.get("DBT_TARGET_PATH")
    return Path(configured) if configured else _process_folder() / "target"


def log_path() -> Path:
    configured = os.environ.get("DBT_LOG_PATH")
    return Path(configured) if configured else _process_folder() / "logs"


def _manifest_cache_dir() -> Path:
    return settings.home_folder("dbt", "manifests")


# --- the fingerprint -----------------------------------------------------------------------

def project_fingerprint() -> str:
    """A hash of everything a parse reads: project files, dbt's version and the state schema.

    Contents, not modification times, so a fresh checkout of the same commit reuses a cache.
    """
    import dbt.version

    project = settings.project_dir()
    digest = hashlib.sha256()
    digest.update(f"{_CACHE_FORMAT}|{dbt.version.__version__}|{settings.STATE_SCHEMA}".encode())
    files = [settings.dbt_project_dir() / name for name in _DBT_PROJECT_FILES]
    for folder in _PROJECT_INPUTS:
        root = project / folder
        if root.is_dir():
            files += sorted(p for p in root.rglob("*") if p.is_file() and not _ignored(p))
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(project)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _ignored(path: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in path.parts)


# --- the command line ----------------------------------------------------------------------

def _project_dir_argument() -> str:
    """dbt_project relative to the working directory when inside it, else absolute."""
    folder = settings.dbt_project_dir()
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


def vars_argument(variables: dict) -> str:
    """dbt --vars as JSON: YAML would read the district code 01 as the number 1."""
    return json.dumps(variables, separators=(", ", ": "))


def plain_command(args: list[str]) -> str:
    """The `dbt ...` command line a person could run by hand for the same work.

    It expects the database variables in the environment: `eval "$(resync db env)"` sets them
    (including DBT_PROFILES_DIR).
    """
    command, *rest = args
    return shlex.join(["dbt", command, "--project-dir", _project_dir_argument(), *rest])


# --- the manifest --------------------------------------------------------------------------

def _retarget(manifest: Any, old: str, database_name: str) -> None:
    """Point a manifest parsed against one database at another.

    Postgres relation names carry the database, and dbt refuses cross-database references, so a
    manifest parsed for database A cannot run against database B as is. Everything else in it
    depends only on project files, so rewriting the names is far cheaper than parsing again.
    """
    if old == database_name:
        return
    quoted_old, quoted_new = f'"{old}".', f'"{database_name}".'
    for node in [*manifest.nodes.values(), *manifest.sources.values()]:
        if getattr(node, "database", None) == old:
            node.database = database_name
        relation = getattr(node, "relation_name", None)
        if relation and relation.startswith(quoted_old):
            node.relation_name = quoted_new + relation[len(quoted_old):]


def _load_from_disk(fingerprint: str) -> _CachedManifest | None:
    path = _manifest_cache_dir() / f"{fingerprint}.pickle"
    try:
        with path.open("rb") as handle:
            cached = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # truncated or written by another version: parse instead
        return None
    return cached if isinstance(cached, _CachedManifest) else None


def _save_to_disk(fingerprint: str, cached: _CachedManifest) -> None:
    folder = _manifest_cache_dir()
    _write_atomically(folder / f"{fingerprint}.pickle", pickle.dumps(cached, protocol=pickle.HIGHEST_PROTOCOL))
    for stale in [*folder.glob("*.pickle"), *folder.glob("*.order.json")]:  # one project version is enough
        if not stale.name.startswith(fingerprint + "."):
            stale.unlink(missing_ok=True)


def _parse(database_name: str) -> _CachedManifest:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(_common_args("parse"))
    if not result.success or result.result is None:
        raise ResyncError(f"dbt could not parse the project: {_exception_sentence(result.exception)}")
    return _CachedManifest(
        pickled=pickle.dumps(result.result, protocol=pickle.HIGHEST_PROTOCOL), database=database_name
    )


def _manifest_for(database_name: str) -> tuple[Any, str]:
    """The parsed manifest for the current project files, and where it came from."""
    fingerprint = project_fingerprint()
    cached = _memory.get(fingerprint)
    source = "memory"
    if cached is None:
        cached = _load_from_disk(fingerprint)
        source = "disk"
        if cached is None:
            cached = _parse(database_name)
            source = "parse"
            _save_to_disk(fingerprint, cached)
        _memory.clear()
        _memory[fingerprint] = cached
    manifest = pickle.loads(cached.pickled)
    _repair_lookups(manifest)
    _retarget(manifest, cached.database, database_name)
    return manifest, source


def _repair_lookups(manifest: Any) -> None:
    """Undo dbt 1.11's pickling slip: Manifest.__reduce_ex__ leaves out `fixtures`, so every field
    after it comes back one place early (the source lookup arrives as the doc lookup, the ref
    lookup as the source lookup, ...). The lookups are caches dbt rebuilds when they are None."""
    for name in [f for f in vars(manifest) if f.startswith("_") and f.endswith("_lookup")]:
        setattr(manifest, name, None)
    if not isinstance(getattr(manifest, "fixtures", None), dict):
        manifest.fixtures = {}


def forget_manifest() -> None:
    """Drop this process's cached manifest (the one on disk stays, keyed by its fingerprint)."""
    with _lock:
        _memory.clear()


# --- invoking ------------------------------------------------------------------------------

def _common_args(command: str, write_json: bool = False) -> list[str]:
    options = [
        # The caller shows its own progress; dbt's full log still goes to the log file.
        "--log-level", "none", "--log-level-file", "debug",
        # Results come back in-process: writing manifest.json and run_results.json would cost
        # more than a small run itself.
        "--write-json" if write_json else "--no-write-json",
        # Only the schemas of the selected models need listing before a run.
        "--cache-selected-only",
    ]
    return [
        *options,
        # A command of two words (source freshness) takes its options after both.
        *command.split(),
        "--project-dir", str(settings.dbt_project_dir()),
        "--profiles-dir", str(settings.dbt_project_dir()),
        "--target-path", str(target_path()),
        "--log-path", str(log_path()),
    ]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set the variables profiles.yml reads for the length of one call (under the lock)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _exception_sentence(exc: BaseException | None) -> str:
    if exc is None:
        return "no reason given"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _node_callback(on_node: Callable[[NodeEvent], None]) -> Callable[[Any], None]:
    def callback(msg: Any) -> None:
        name = msg.info.name
        if name not in ("NodeStart", "NodeFinished"):
            return
        info = msg.data.node_info
        if info.resource_type != "model":
            return
        if name == "NodeStart":
            on_node(NodeEvent("start", info.node_name, info.unique_id))
            return
        status, seconds, rows = _finish_details(msg)
        on_node(NodeEvent("finish", info.node_name, info.unique_id, status, seconds=seconds, rows_affected=rows))

    return callback


def _finish_details(msg: Any) -> tuple[str, float, int | None]:
    """Status, seconds and the adapter's row count of a NodeFinished event."""
    outcome = msg.data.run_result
    rows = dict(outcome.adapter_response).get("rows_affected")
    return (_status(msg.data.node_info.node_status), round(outcome.execution_time, 3),
            int(rows) if isinstance(rows, float) and rows >= 0 else None)


def _status(raw: Any) -> str:
    value = str(getattr(raw, "value", raw)).lower()
    return {"pass": "success", "fail": "error", "runtimeerr": "error"}.get(value, value)


class _FailureCollector:
    """Which nodes failed, and why, as dbt's events tell it; and which ended at all.

    With --fail-fast dbt cancels the run on the first failure and reports every node it had
    selected, the failed one included, as "skipped due to fail_fast"; its events still say
    which node failed and why. Stopped by Ctrl-C, dbt returns no results at all: the events
    are then the only record of what committed (a node's NodeFinished follows its commit).
    """

    def __init__(self) -> None:
        self.failed: dict[str, str | None] = {}  # model name -> message
        self.started: dict[str, str] = {}  # model name -> unique_id, in start order
        self.finished: dict[str, tuple[str, float, int | None]] = {}  # model -> status, seconds, rows

    def __call__(self, msg: Any) -> None:
        name = msg.info.name
        if name not in ("NodeStart", "NodeFinished", "CatchableExceptionOnRun", "RunResultError"):
            return
        if not msg.data.HasField("node_info") or not msg.data.node_info.node_name:
            return
        node = msg.data.node_info.node_name
        if name == "NodeStart":
            if msg.data.node_info.resource_type == "model":
                self.started[node] = msg.data.node_info.unique_id
            return
        if name == "NodeFinished":
            self.finished[node] = _finish_details(msg)
            if self.finished[node][0] == "error":
                self.failed.setdefault(node, None)
            return
        text = msg.data.exc if name == "CatchableExceptionOnRun" else msg.data.msg
        if text and not self.failed.get(node):
            self.failed[node] = " ".join(text.split())

    def first(self) -> tuple[str, str | None] | None:
        """The node that failed first, and its message."""
        return next(iter(self.failed.items()), None)

    def ended_nodes(self) -> list["NodeResult"]:
        """The nodes that ended, as the events tell (for a run dbt returned no results of)."""
        nodes = []
        for model, unique_id in self.started.items():
            status, seconds, rows = self.finished.get(model, ("error", 0.0, None))
            message = self.failed.get(model) or ("stopped while it ran and rolled back"
                                                 if model not in self.finished else None)
            nodes.append(NodeResult(model=model, unique_id=unique_id, status=status, seconds=seconds,
                                    rows_affected=rows, message=message))
        return nodes


def _node_results(run_result: Any, failures: _FailureCollector) -> list[NodeResult]:
    nodes = []
    for item in getattr(run_result, "results", None) or []:
        response = item.adapter_response or {}
        rows = response.get("rows_affected")
        status = _status(item.status)
        message = " ".join(str(item.message).split()) if item.message else None
        if item.node.name in failures.failed and status != "error":
            status, message = "error", failures.failed[item.node.name] or message
        nodes.append(NodeResult(
            model=item.node.name,
            unique_id=item.node.unique_id,
            status=status,
            seconds=round(float(item.execution_time or 0.0), 3),
            rows_affected=rows if isinstance(rows, int) and rows >= 0 else None,
            message=message,
        ))
    return nodes


def invoke(
    args: list[str],
    url: str | None = None,
    on_node: Callable[[NodeEvent], None] | None = None,
    write_json: bool = False,
) -> Invocation:
    """Run `dbt <args>` in-process against the database at `url` (default: the configured one).

    `args` starts with the dbt command (run, build, seed, test, ...) and holds no project, profile,
    target or log options: those are added here. `on_node` hears each model start and finish.
    `write_json` asks dbt to write manifest.json and run_results.json to the target folder too.
    Never raises for a failed dbt run: the Invocation says what failed.
    """
    from dbt.cli.main import dbtRunner

    dbt_cte_injection.install()

    url = url or database.database_url()
    environment = database.dbt_environment(url)
    command, *rest = args
    if command == "source" and rest:
        command, rest = f"source {rest[0]}", rest[1:]
    with _lock, _environment(environment):
        started = time.perf_counter()
        manifest, source = _manifest_for(environment["RESYNC_PGDATABASE"])
        failures = _FailureCollector()
        callbacks = [failures] + ([_node_callback(on_node)] if on_node else [])
        runner = dbtRunner(manifest=manifest, callbacks=callbacks)
        result = runner.invoke(_common_args(command, write_json) + rest)
        interrupted = isinstance(result.exception, KeyboardInterrupt)
        nodes = failures.ended_nodes() if interrupted else _node_results(result.result, failures)
        error = None
        if interrupted:
            error = "stopped by an interrupt (Ctrl-C)"
        elif not result.success:
            failed = [n for n in nodes if n.status == "error"]
            if result.exception is not None:
                error = _exception_sentence(result.exception)
            elif failures.first() and failures.first()[1]:
                error = failures.first()[1]
            elif failed:
                error = failed[0].message or f"{failed[0].model} failed without a message"
            else:
                error = "dbt reported a failure without a message"
        return Invocation(
            args=list(args), success=bool(result.success), seconds=round(time.perf_counter() - started, 3),
            nodes=nodes, error=error, manifest_source=source, interrupted=interrupted,
        )


def compiled_sql(models: list[str], variables: dict, url: str | None = None) -> dict[str, str]:
    """The SELECT each model would run with these vars (`dbt compile`, ephemeral staging inlined
    as CTEs), by model name; ResyncError with dbt's reason when it does not compile."""
    from dbt.cli.main import dbtRunner

    dbt_cte_injection.install()

    url = url or database.database_url()
    environment = database.dbt_environment(url)
    args = ["--select", *models, "--vars", vars_argument(variables)]
    with _lock, _environment(environment):
        manifest, _ = _manifest_for(environment["RESYNC_PGDATABASE"])
        failures = _FailureCollector()
        result = dbtRunner(manifest=manifest, callbacks=[failures]).invoke(_common_args("compile") + args)
        if not result.success:
            reason = _exception_sentence(result.exception) if result.exception is not None else (
                (failures.first() or (None, None))[1] or "dbt reported a failure without a message")
            raise ResyncError(f"{', '.join(models)} could not be compiled: {short_reason(reason)}.")
        return {item.node.name: item.node.compiled_code for item in result.result.results
                if item.node.resource_type == "model"}


_MESSAGE_PREFIX = re.compile(r"^(Database|Compilation|Runtime) Error in \w+ \w+ \([^)]*\)\s*")
_MESSAGE_NOISE = re.compile(r"\s+(LINE \d+:|compiled code at|HINT:|DETAIL:|CONTEXT:|> in macro|> called by).*$")


def short_reason(message: str | None) -> str:
    """A dbt error message as part of a sentence: without the "Database Error in model x (path)"
    prefix, the SQL excerpt and hints, or the final period."""
    text = " ".join((message or "").split())
    text = _MESSAGE_NOISE.sub("", _MESSAGE_PREFIX.sub("", text)).strip().rstrip(".")
    return text or "no reason given"


def warm(url: str | None = None) -> str:
    """Load or parse the manifest now (for a worker at start-up); returns where it came from."""
    url = url or database.database_url()
    environment = database.dbt_environment(url)
    with _lock, _environment(environment):
        return _manifest_for(environment["RESYNC_PGDATABASE"])[1]


# --- the graph -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectGraph:
    """What the orchestrator reads of dbt's graph, taken from the parsed manifest once per
    project version: each node's parents, the models' folders and the sources' meta."""

    parents: dict[str, tuple[str, ...]]  # unique_id -> unique_ids it depends on
    model_ids: dict[str, str]  # model name -> unique_id
    folders: dict[str, str]  # model unique_id -> its folder under models/ (state, staging, ...)
    sources: dict[str, tuple[str, str, dict]]  # source unique_id -> (source name, table, meta)


_graphs: dict[str, ProjectGraph] = {}


def project_graph(url: str | None = None) -> ProjectGraph:
    """The graph of the current project files (parsing them when no manifest is cached)."""
    fingerprint = project_fingerprint()
    if fingerprint in _graphs:
        return _graphs[fingerprint]
    url = url or database.database_url()
    environment = database.dbt_environment(url)
    with _lock, _environment(environment):
        manifest, _ = _manifest_for(environment["RESYNC_PGDATABASE"])
    models = {uid: node for uid, node in manifest.nodes.items() if node.resource_type == "model"}
    graph = ProjectGraph(
        parents={uid: tuple(getattr(node.depends_on, "nodes", ())) for uid, node in manifest.nodes.items()},
        model_ids={node.name: uid for uid, node in models.items()},
        folders={uid: (node.fqn[1] if len(node.fqn) > 2 else "") for uid, node in models.items()},
        sources={uid: (source.source_name, source.name, dict(source.meta or source.config.meta or {}))
                 for uid, source in manifest.sources.items()},
    )
    _graphs.clear()
    _graphs[fingerprint] = graph
    return graph


# --- the run order -------------------------------------------------------------------------

_orders: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # (fingerprint, selection) -> models


def run_order(select: list[str], url: str | None = None) -> list[str]:
    """The models `dbt run --select <select>` runs, in the order it runs them (one thread).

    dbt's own graph and queue decide it (depth in the selected subgraph, then unique id), so a plan
    lists its objects exactly as the run will take them. Kept per project fingerprint in memory
    and next to the cached manifest, so a fresh process need not load the manifest to plan.
    """
    select = sorted(select)  # the order of --select arguments changes nothing
    fingerprint = project_fingerprint()
    key = (fingerprint, tuple(select))
    if key in _orders:
        return _orders[key]
    path = _manifest_cache_dir() / f"{fingerprint}.order.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {}
    name = " ".join(select)
    if not isinstance(stored.get(name), list):
        stored[name] = _order_from_graph(select, url)
        _write_atomically(path, json.dumps(stored))
    _orders[key] = stored[name]
    return stored[name]


def _order_from_graph(select: list[str], url: str | None) -> list[str]:
    from argparse import Namespace

    from dbt.compilation import Linker
    from dbt.flags import get_flags, set_flags
    from dbt.graph import Graph, ResourceTypeSelector, parse_difference
    from dbt.node_types import NodeType

    url = url or settings.configured_database_url()
    # A parse reads no database: without a configured one, profiles.yml's defaults do.
    environment = database.dbt_environment(url) if url else {}
    with _lock, _environment(environment):
        manifest, _ = _manifest_for(environment.get("RESYNC_PGDATABASE", "postgres"))
        linker = Linker()
        linker.link_graph(manifest)
        saved = get_flags()
        # Selection reads one global flag; a dbt invocation sets all of them itself.
        set_flags(Namespace(INDIRECT_SELECTION="eager"))
        try:
            selector = ResourceTypeSelector(Graph(linker.graph), manifest, previous_state=None,
                                            resource_types=[NodeType.Model])
            queue = selector.get_graph_queue(parse_difference(select, None))
        finally:
            set_flags(saved)
        order = []
        while not queue.empty():  # as dbt's one worker thread takes them: next, then done
            node = queue.get(block=False)
            order.append(node.name)
            queue.mark_done(node.unique_id)
        return order


def _write_atomically(path: Path, data: str | bytes) -> None:
    """Write a cache file whole or not at all: other processes may be reading the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_bytes(data.encode() if isinstance(data, str) else data)
    partial.replace(path)
