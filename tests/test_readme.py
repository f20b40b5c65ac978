"""The README's command lines, typed as a newcomer types them after `make demo`.

One bash session, as a person following the README top to bottom: the virtualenv activated as
the README says, then what `make demo` prints to try, then every line of the README's `sh` blocks
in order, each of which must exit 0. Against a scratch database set up the way `make demo` sets up
its own (`resync demo setup`, with fewer students), through RESYNC_DATABASE_URL, with the
district sites on the test's site server (RESYNC_SITES_URL).

Optional parts of a synopsis (`[--json]`, `[-d CODE ...]`) are left out, as typed without them.
A line whose comment shows a refusal (`# Error: ...`) must fail with that message.
The lines not run are those below, each for its reason.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import settings

README = settings.project_dir() / "README.md"
MAKEFILE = settings.project_dir() / "Makefile"

#: Lines not run here: (pattern, reason).
NOT_RUN = [
    (r"^make ", "the set-up itself: make test runs this test, make demo is done below"),
    (r"^(systemctl|journalctl) ", "a service manager's"),
    (r"^resync worker\b", "runs until stopped (tests/test_worker.py runs workers)"),
    (r"^resync web\b", "serves the page until stopped (tests/test_web_browser.py drives it)"),
    (r"--wait\b", "waits for a worker (tests/test_requests.py)"),
    (r"^resync demo (setup|generate)\b", "regenerates every district: make demo's work, done once below"),
    (r"^resync district add .*--schema \w+_replica", "needs a replicated schema of one's own (tests/test_state_models.py)"),
    (r"^resync district add .*--url ", "needs a district server of one's own (tests/test_pull.py)"),
    (r"\b(ID|CODE|NAME|DATE)\b", "a placeholder to fill in"),
    # Slow (a fresh dbt process re-parses for new vars and runs every model); the same dbt
    # commands run in tests/test_state_models.py, and `dbt run ... --select reports` below shows
    # that a plain dbt run reaches the database after `eval "$(resync db env)"`.
    (r"^dbt (build|run .*(--full-refresh|--select \+))", "slow: runs many models (tests/test_state_models.py)"),
]
#: Lines typed as they mean here: the README's default database is the demo's in the checkout;
#: the test's is its scratch database (RESYNC_DATABASE_URL), which the line must not leave.
MEANT = {"unset RESYNC_DATABASE_URL": 'export RESYNC_DATABASE_URL="$README_DEFAULT_URL"'}
#: A line the README shows being refused: `command   # Error: the sentence` (or psql's `ERROR:`).
REFUSAL = re.compile(r"#\s*(?:Error|ERROR):\s*(.+)$")
#: `[-...]` and `[UPPER...]` groups: a synopsis's optional parts (not JSON such as `["01"]`).
OPTIONAL = re.compile(r"\s+\[(?:-|[A-Z])[^\]]*\]")


def readme_lines() -> list[str]:
    """Every line of the README's sh blocks, continuation lines joined, in order."""
    lines: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and lines:
                lines[-1] += " " + line.strip()
            elif line.strip():
                lines.append(line.strip())
    return lines


def made_demo_suggestions() -> list[str]:
    """The commands `make demo` prints to try next (the Makefile's `@echo "  ..."` lines)."""
    demo = MAKEFILE.read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r'^\t@echo "  (.+)"$', demo, re.MULTILINE)


def _reason_not_run(line: str) -> str | None:
    return next((reason for pattern, reason in NOT_RUN if re.search(pattern, line)), None)


def test_the_readme_lines_work_as_typed_after_make_demo(database_url, demo_sites, tmp_path):
    activate = Path(sys.executable).parent / "activate"
    if not activate.exists():
        pytest.skip("the tests do not run in a virtualenv, so there is none to activate")
    lines = readme_lines()
    assert "source .venv/bin/activate" in lines  # the README says how, before any command
    suggestions = made_demo_suggestions()
    assert len(suggestions) == 3

    typed = []
    for line in lines[lines.index("source .venv/bin/activate") + 1:]:
        if _reason_not_run(line) is None and (shutil.which("psql") or not line.startswith("psql ")):
            typed.append(MEANT.get(line, OPTIONAL.sub("", line)))
    typed += [f"python {script} --help" for script in sorted(set(re.findall(r"benchmarks/\w+\.py", README.read_text())))]
    assert any(line.startswith("dbt ") for line in typed) and any(line.startswith("python ") for line in typed)

    script = [f"source {shlex.quote(str(activate))}", "set -o pipefail",
              "resync demo setup --students 20 > /dev/null || exit 1"]
    for line in suggestions + typed:
        # The line on a line of its own (a trailing `# comment` ends with it), answering "y" when
        # `resync run` asks before it changes anything, as a person would.
        script += [f"printf '%s\\n' {shlex.quote('$ ' + line)}"]
        refusal = REFUSAL.search(line)
        if refusal is None:
            script += ["{ " + line, "} <<< y", f"[ $? -eq 0 ] || {{ echo {shlex.quote('FAILED: ' + line)}; exit 1; }}"]
        else:  # the README shows a refusal: the line must fail, with that message
            expected = " ".join(refusal.group(1).split())
            script += ["out=$({ " + line, "} <<< y 2>&1)", 'status=$?; printf "%s\\n" "$out"',
                       f"[ $status -ne 0 ] && tr -s ' ' <<< \"$out\" | grep -qF -- {shlex.quote(expected)}"
                       f" || {{ echo {shlex.quote('FAILED (not refused as shown): ' + line)}; exit 1; }}"]
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("RESYNC_PG", "PG", "DBT_", "VIRTUAL_ENV"))}
    # A fresh shell: the venv not on PATH yet, nothing of the test session's dbt set-up.
    environment["PATH"] = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                          if Path(p) != Path(sys.executable).parent)
    environment.update(RESYNC_DATABASE_URL=database_url, README_DEFAULT_URL=database_url,
                       RESYNC_HOME=str(tmp_path / "home"),
                       DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    shell = subprocess.run(["bash", "-c", "\n".join(script)], cwd=settings.project_dir(), env=environment,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert shell.returncode == 0, shell.stdout[-6000:] + shell.stderr[-4000:]
    assert "Traceback" not in shell.stdout + shell.stderr
    # Every line reached the scratch database: none started an embedded server of its own.
    assert not (tmp_path / "home" / "pgdata").exists(), "a README line reached a database of its own"


def test_every_line_not_run_has_its_reason():
    # So that a new README line is run unless someone says why not.
    skipped = {line: _reason_not_run(line) for line in readme_lines() if _reason_not_run(line)}
    assert "resync worker" in " ".join(skipped) and all(skipped.values())
    assert not any(re.search(r"\s\|\s", OPTIONAL.sub("", line)) for line in readme_lines()
                   if not _reason_not_run(line) and "'" not in line), "a `a | b` synopsis would run as a pipe"
