# Two commands on a fresh machine:  `make run`  (the app on the bundled sample)  and  `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run serve test test-fast lint format bench browser-deps clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/streamlit run app.py

# The REST API on http://127.0.0.1:8000 (docs at /docs). On a fresh clone it first trains model2 and
# baseline on the bundled sample (a minute or two) and registers them as primary and speed.
serve: $(STAMP)
	$(PY) -m ner_core registry bootstrap
	$(PY) -m ner_core serve

# The browser test drives Debian's chromium through Playwright (never `playwright install`).
browser-deps:
	@bash scripts/ensure_chromium.sh

# The whole suite on both cores (pytest-xdist): 1,699 tests (stop 19) took 17 min in one process and 11-13 min
# on two workers here. Every worker has its own workspace. loadfile keeps each file's tests on one
# worker in order, so a module's shared server and browser start once; worksteal split them across
# workers (each then started its own) and showed one test that leaned on an earlier one (now fixed).
test: $(STAMP) browser-deps
	$(PY) -m pytest -q -n 2 --dist loadfile

# The inner loop: everything but the tests marked slow (TensorFlow training processes,
# benchmarks, the browser), spread over every core by pytest-xdist (each worker has its own
# workspace, so this also catches a test that leans on what another left behind).
# `make test` still runs them all, as CI does.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n auto

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/train_gmb.py

clean:
	rm -rf $(VENV) .pytest_cache
