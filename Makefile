# The README's commands. Everything installs what it needs first (fresh Debian, as root).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: setup engine browser demo test unit lint bench prune sweep clean

$(BIN)/pytest: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

engine:
	bash tools/ensure-engine.sh

# The harness's bytecode, compiled once here as a wheel's install would: where PYTHONDONTWRITEBYTECODE is set (as on
# some CI images), every pytest run would compile all of it again (0.3 s of each run's start).
setup: engine $(BIN)/pytest
	$(BIN)/python -m compileall -q harness

# The main job: the reference deployer against a simulated Proxmox VE 8 host (the gate), then its drift matrix.
# Each writes its reports under reports/ (JUnit, JSON, HTML), which CI keeps.
demo: setup
	$(BIN)/pytest --deployer pve-nut --junitxml=reports/gate.xml --deployer-json=reports/gate.json \
		--deployer-html=reports/gate.html
	$(BIN)/pytest --deployer pve-nut -m drift --junitxml=reports/drift.xml --deployer-json=reports/drift.json \
		--deployer-html=reports/drift.html

# The project's own tests: lint, types, unit tests and integration tests on real containers.
test: setup lint browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests

# Debian's headless Chromium and its driver, for the HTML report's test in a real browser.
browser:
	bash tools/ensure-browser.sh

unit: $(BIN)/pytest
	$(BIN)/pytest tests/unit

lint: $(BIN)/pytest
	$(BIN)/ruff check harness tests benchmarks
	$(BIN)/ruff format --check harness tests benchmarks
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/run.py

# Cached images are kept on purpose (labelled deployer-harness.cache); this removes them.
prune: $(BIN)/pytest
	$(BIN)/deployer-harness prune

# Remove containers, networks and volumes left by runs that are gone, and machines kept with --keep.
sweep: $(BIN)/pytest
	$(BIN)/deployer-harness sweep --kept

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find harness -name __pycache__ -prune -exec rm -rf {} +
