# stackcast: every target creates .venv itself (via setup) and is safe to rerun.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,dask,docs,lightgbm,jax
# torch's CPU wheels for bench-peer (PyPI's Linux torch is a CUDA build of several GB).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: setup demo test test-fast lint format serve docs screenshot bench bench-peer clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The editable install finds `stackcast` through an import hook that runs after Python's path
# search, so a script run beside the clone's folder (~/stackcast next to ~/try.py) would import
# that folder as an empty namespace package. A path entry holding only a link to the package
# (.venv/import/stackcast) makes the real package win there too, squatting no other name.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	mkdir -p $(VENV)/import && ln -sfn "$(CURDIR)/stackcast" $(VENV)/import/stackcast
	$(BIN)/python -c 'import pathlib, sys, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "stackcast-import.pth").write_text(sys.argv[1] + "\n")' "$(CURDIR)/$(VENV)/import"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install stackcast with its dev extras (idempotent)

demo: setup  ## run the offline demo backtest on the bundled sample and print the report path
	$(BIN)/stackcast demo

test: setup  ## run the whole test suite (offline), slow tests included
	$(BIN)/python -m pytest -q

test-fast: setup  ## run the tests without the slow ones
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup  ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

serve: setup  ## start Prefect, serve the scheduled deployments and the reports (Ctrl-C stops)
	$(BIN)/stackcast serve

docs: setup  ## build the documentation site into site/ (offline, --strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

screenshot: setup  ## run the demo and save the top of its report as docs/assets/report.png
	$(BIN)/python docs/make_screenshot.py

bench: setup  ## run the benchmarks in bench/ (prints JSON lines, appends bench/results.jsonl)
	$(BIN)/python -m bench

# torch first, so darts[torch] finds it satisfied; skipped when 2.13.0 is installed already. pip
# takes a CPU wheel from its find-links or indexes where it has one (an unreachable TORCH_INDEX
# only warns); TORCH_INDEX= (empty) leaves the extra index out.
bench-peer: setup  ## install the peer extra (torch CPU, darts), then time darts vs stackcast on the demo
	$(BIN)/python -c 'import sys, torch; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null \
	  || $(BIN)/python -m pip install --quiet "torch==2.13.0" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[peer]"
	$(BIN)/python -m bench.peer

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build site *.egg-info
