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

demo: install
	$(BIN)/resync demo setup

test: install
	$(BIN)/python -m pytest -q

clean:
	-$(BIN)/resync db stop
	rm -rf $(VENV) .resync dbt_project/target dbt_project/logs
