# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install clean

$(BIN)/resync: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/resync

# The last lines say what to try next: tests/test_readme.py runs them as printed.
demo: install
	$(BIN)/resync demo setup
	@echo ""
	@echo "Next, activate the virtualenv (once per shell):  source $(VENV)/bin/activate"
	@echo "then try:"
	@echo "  resync run -d 01 -o AttendanceExcuse --dry-run    # the plan, and the dbt command that does it"
	@echo "  resync run -d 01 -o AttendanceExcuse              # the same, now (it asks first)"
	@echo "  resync demo change && resync aggregate            # a school day of changes, then the nightly aggregation"
	@echo "The administrators' web page: run  resync web  and open http://127.0.0.1:8800/ in a browser;"
	@echo "sign in as state_admin, abbott_admin or analyst (the embedded database accepts any password)."

# One pytest worker per CPU (tests/conftest.py says how many; none with servers given from outside).
test: install
	$(BIN)/python -m pytest -q -n auto

clean:
	-$(BIN)/resync db stop
	rm -rf $(VENV) .resync dbt_project/target dbt_project/logs
