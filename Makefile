# The course in two commands: `make lab` to learn, `make test` to check.
# Both create .venv on first use; only Python 3.10+ and make are needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
PYTEST_NOTEBOOK_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
PYTEST_FLAGS := -n 2 --dist loadfile
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# The course's JupyterLab settings (no news popup), installed where JupyterLab reads overrides.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: lab test lint notebooks data bench html browser-test clean
.DELETE_ON_ERROR:

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV): install Python's venv module (Debian/Ubuntu: apt install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

$(LAB_OVERRIDES): jupyter/lab/settings/overrides.json | $(VENV)/.installed
	mkdir -p $(dir $@) && cp $< $@

# `jupyter trust` lets JupyterLab draw the widgets saved in the course's own notebooks before they run.
lab: $(VENV)/.installed $(LAB_OVERRIDES)
	@$(BIN)/jupyter trust notebooks/*.ipynb > /dev/null
	@echo "Starting JupyterLab: open the http://127.0.0.1:...?token=... link it prints below;"
	@echo "it opens notebooks/00_start_here.ipynb. Stop it with Ctrl-C."
	$(BIN)/jupyter lab --no-browser --ip 127.0.0.1 --port $(PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb

test: $(VENV)/.installed
	$(BIN)/ruff check scalekit tests benchmarks notebooks
	$(BIN)/python -m pytest $(PYTEST_FLAGS) $(PYTEST_NOTEBOOK_FLAGS) tests notebooks

lint: $(VENV)/.installed
	$(BIN)/ruff check scalekit tests benchmarks notebooks
	$(BIN)/ruff format --check scalekit tests benchmarks

notebooks: $(VENV)/.installed
	$(BIN)/python -m scalekit.course run

data: $(VENV)/.installed
	$(BIN)/python -m scalekit.datasets

bench: $(VENV)/.installed
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The offline HTML edition: build/html/index.html. Mermaid and MathJax come from the npm registry
# into build/js at build time and run once in Debian's chromium; the pages need no network.
html: $(VENV)/.installed
	$(BIN)/python -m scalekit.html --output build/html

# What a learner sees: every notebook in JupyterLab, and the HTML edition offline, in headless chromium.
browser-test: $(VENV)/.installed html
	SCALEKIT_BROWSER_TEST=1 $(BIN)/python -m pytest -p no:cacheprovider tests/browser

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis .ruff_cache
