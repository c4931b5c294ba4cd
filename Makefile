# Two commands on a fresh machine:  `make run`  (the app on the bundled sample)  and  `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench browser-deps clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/streamlit run app.py

# The browser test drives Debian's chromium through Playwright (never `playwright install`).
browser-deps:
	@bash scripts/ensure_chromium.sh

test: $(STAMP) browser-deps
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/train_gmb.py

clean:
	rm -rf $(VENV) .pytest_cache
