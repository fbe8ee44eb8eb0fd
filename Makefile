# Deep Learning for Neural Data - the two commands of the README:
#   make        set up, build into build/main, execute, autograde a demo class, compare with the
#               committed release/ + solutions/ and summarise (never rewrites tracked files)
#   make test   set up, then run the whole test suite (what CI runs)
# Maintainers: `make build` rewrites release/ + solutions/ from source/.
# Everything installs into ./.venv on first use; torch comes from the pinned CPU wheel.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# nbgrader shells out to alembic and jupyter: the venv's bin must come first on PATH.
export PATH := $(BIN):$(PATH)
PYTEST_WORKERS ?= 2

.PHONY: all main main-generic setup build check test lint bench bench-grading clean

all: main

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

main: setup
	$(BIN)/python -m nmautils.course main

# The main job's build-execute-compare under the second arithmetic (scalar kernels, one thread,
# capped instruction sets; nmautils.course.build.NUMERIC_CONFIGS), without the demo grading.
main-generic: setup
	$(BIN)/python -m nmautils.course main --config generic --no-demo

build: setup
	$(BIN)/python -m nmautils.course build

check: setup
	$(BIN)/python -m nmautils.course check

# The test recipe also records its wall time for bench/ (build/ci_seconds.txt: "<s> <UTC time>");
# the exit status is pytest's. tests/conftest.py puts tests/test_main_job.py first: its slow test
# runs the main job in a fresh clone under the generic arithmetic (the cross-configuration run of
# every solution notebook), so one worker starts it while the other takes the rest; nbval checks
# solutions/ under the native arithmetic.
test: setup
	@mkdir -p build
	start=$$(date +%s); \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--no-loadscope-reorder --durations=15 tests solutions; \
	status=$$?; \
	echo "$$(( $$(date +%s) - start )) $$(date -u +%Y-%m-%dT%H:%M:%SZ)" > build/ci_seconds.txt; \
	exit $$status

lint: setup
	$(BIN)/ruff check nmautils tests bench nbgrader_config.py

bench: setup
	$(BIN)/python bench/run.py

# Parallel class grading vs sequential nbgrader autograde on 52 synthetic submissions (~5 min).
bench-grading: setup
	$(BIN)/python bench/bench_grading.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
