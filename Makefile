# The course in two commands: `make lab` to learn, `make test` to check.
# Both create .venv on first use; only Python 3.10+ and make are needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
PYTEST_NOTEBOOK_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
PYTEST_FLAGS := -n 2 --dist loadfile
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test lint notebooks data bench html clean
.DELETE_ON_ERROR:

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV): install Python's venv module (Debian/Ubuntu: apt install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

lab: $(VENV)/.installed
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

html: $(VENV)/.installed
	$(BIN)/jupyter nbconvert --to html --output-dir build/html notebooks/*.ipynb

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis .ruff_cache
