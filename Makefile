# Two commands: `make run` (set up and start the app) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench demo clean screenshot

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) -m dashboard demo --if-empty
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT)

# One worker per core (pytest-xdist); the sign-in tests share one worker (their xdist_group).
# A quick loop while working (about a minute on two cores): $(PY) -m pytest -q -n auto -m "not slow"
test: $(VENV)/.dev
	$(PY) -m pytest -q -n auto --dist loadgroup

lint: $(VENV)/.dev
	$(PY) -m ruff check .

# Refresh docs/overview.png (the README's picture) from the browser test's Overview screenshot.
screenshot: $(VENV)/.dev
	REFRESH_DOCS_SCREENSHOT=1 $(PY) -m pytest -q tests/e2e

bench: $(VENV)/.dev
	$(PY) benchmarks/import_bench.py
	$(PY) benchmarks/dashboard_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
