# brightspots: `make demo` and `make test` work on a fresh machine with Python 3.11+, git and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO ?= demo

.PHONY: demo test lint format venv clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[spark,warehouse,test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/brightspots demo --out $(DEMO)

# the tests in a worker per core (at most 2: some tests start processes of their own), a
# file's tests in one worker (its module fixtures made once)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses=2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# issue 9's benchmark: analyze against a pandas reference and the DuckDB floor (figures are
# printed and appended to bench/RESULTS.md); BENCH_ARGS="--activities 10M" for the big one
BENCH_ARGS ?= --activities 1M
bench: $(STAMP)
	$(BIN)/python -m bench.analyze $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
