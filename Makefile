# Each target sets itself up: a virtual environment in .venv is created when missing.
# Two stamps: the main job (`make demo`) installs the package and its own dependencies only;
# testing, linting, benchmarks and docs add the `dev` extra (every optional dependency).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MAIN_STAMP := $(VENV)/.installed-main
STAMP := $(VENV)/.installed
# The CPU build of torch lies on this workplace's disk; elsewhere pip takes it from PyPI.
TORCH_SPEC ?= torch==2.13.0
WHEELS := $(wildcard /opt/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links /opt/wheels,)

.PHONY: demo test lint bench bench-accuracy docs clean distclean

$(MAIN_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(FIND_LINKS) "$(TORCH_SPEC)"
	$(PY) -m pip install -q $(FIND_LINKS) -e .
	touch $(MAIN_STAMP)

$(STAMP): $(MAIN_STAMP)
	$(PY) -m pip install -q $(FIND_LINKS) -e ".[dev]"
	touch $(STAMP)

demo: $(MAIN_STAMP)
	$(PY) -m sklasd --output sklasd_output --overwrite

test: $(STAMP)
	$(PY) -m ruff check sklasd tests examples benchmarks
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(PY) -m ruff check sklasd tests examples benchmarks
	$(PY) -m ruff format --check sklasd tests examples benchmarks

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# Every detector with its defaults against the reference systems (under an hour; QUICK=1: minutes).
bench-accuracy: $(STAMP)
	cd benchmarks && ../$(PY) accuracy.py $(if $(QUICK),--quick,)

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

# Outputs and caches; the environment stays (`make distclean` removes it too).
clean:
	rm -rf sklasd_output .pytest_cache docs/_build docs/generated docs/auto_examples docs/api.rst

distclean: clean
	rm -rf $(VENV)
