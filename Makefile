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
PYTEST_WORKERS ?= 4

.PHONY: all main main-generic setup sandbox-tool browser-tool build check test test-browser test-colab lint bench clean

all: main

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
		"torch==2.13.0" -e ".[dev]"
	@# pip byte-compiles on one core (52 s here); compileall on every core (31 s). Grading
	@# kernels see the venv read-only, so the .pyc files must exist before they start.
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true
	touch $@

# $(call debian_tool,COMMAND,PACKAGE,PURPOSE,WITHOUT): when COMMAND is missing, install the Debian
# PACKAGE as root, or else say what to ask an administrator for and what happens WITHOUT it.
define debian_tool
	@command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(2) ($(3)) ..."; \
	    (apt-get install -y -qq $(2) >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $(2) >/dev/null 2>&1)) \
	    || echo "WARNING: could not install $(2); $(4)"; \
	  else \
	    echo "WARNING: $(1) is missing: ask an administrator to install the Debian package '$(2)';"; \
	    echo "         $(4)"; \
	  fi; }
endef

# Grading runs every kernel in a bubblewrap sandbox (nmautils/course/sandbox.py). As root, install
# it when missing; otherwise say what to do (grading refuses without it unless --no-sandbox).
sandbox-tool:
	$(call debian_tool,bwrap,bubblewrap,grading sandbox,grading refuses to run without it unless --no-sandbox is given.)

# The browser tests (tests/browser/) drive Debian's chromium with Playwright (a dev dependency).
browser-tool:
	$(call debian_tool,chromium,chromium,browser tests,the browser tests skip without it.)

setup: $(VENV)/.installed sandbox-tool browser-tool

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
# the exit status is pytest's. One run over tests/ and, with nbval, solutions/ (under the generic
# arithmetic: tests/conftest.py NBVAL_CONFIG), with --dist loadgroup: tests/conftest.py gives
# every test a group (its file; one per assignment in the grading and fault modules; a notebook's
# cells share one kernel) and hands the groups out longest first. Four workers on two cores fill
# each other's waits (kernels started and stopped, the catalogues' timeouts and sleeps); each
# kernel gets one thread.
# The sanitiser is package data: the build's comparison (nmautils.course.build.SANITIZE_FILE) reads it.
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with nmautils/course/data/nbval_sanitize.cfg
test: setup
	@mkdir -p build
	start=$$(date +%s); \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder \
		$(NBVAL) --durations=20 tests solutions; \
	status=$$?; \
	echo "make test: tests/ and nbval over solutions/ took $$(( $$(date +%s) - start )) s"; \
	echo "$$(( $$(date +%s) - start )) $$(date -u +%Y-%m-%dT%H:%M:%SZ)" > build/ci_seconds.txt; \
	exit $$status

# Browser tests alone (tests/browser/: JupyterLab and formgrader in headless Chromium, driven by
# Playwright; screenshots in build/browser/). `make test` runs them too; without chromium they skip
# and say so.
test-browser: setup
	$(BIN)/python -m pytest -n 0 -p no:cacheprovider -rs tests/browser

# Colab's runtime (constraints/colab.txt; the CPU torch==2.13.0 wheel in place of Colab's CUDA
# build, this machine's Python in place of Colab's 3.13), nmautils installed from a wheel, every
# solution notebook executed live (no CI, no NMAUTILS_PROGRESS) and its text compared. Then the
# student's check of the browser tests in Colab's front end: the venv's classic Notebook 6.5 with
# ipywidgets 7.7.1 and widgetsnbextension, in headless Chromium driven by Playwright from .venv
# (tests/browser/test_colab_frontend.py; it skips without a browser). Prints both wall times.
# Needs PyPI.
COLAB_VENV := build/colab-venv
COLAB_PIP  := $(COLAB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check
test-colab: setup
	@rm -rf $(COLAB_VENV) build/colab-dist && mkdir -p build
	@start=$$(date +%s); \
	sed 's/^torch==.*/torch==2.13.0/' constraints/colab.txt > build/colab-local.txt && \
	$(PYTHON) -m venv $(COLAB_VENV) && \
	$(COLAB_PIP) "pip==24.1.2" && \
	$(COLAB_PIP) -c build/colab-local.txt "torch==2.13.0" && \
	$(COLAB_VENV)/bin/python -m pip wheel --quiet --no-deps -w build/colab-dist . && \
	$(COLAB_PIP) -c build/colab-local.txt build/colab-dist/nmautils-*.whl nbclient nbformat \
		notebook widgetsnbextension; \
	built=$$?; status=$$built; \
	if [ $$built = 0 ]; then \
	  (cd build && env -u CI -u NMAUTILS_PROGRESS colab-venv/bin/python ../tests/harness/colab_notebooks.py ../solutions); \
	  status=$$?; \
	fi; \
	echo "make test-colab: venv and notebooks $$(( $$(date +%s) - start )) s (status $$status)"; \
	if [ $$built = 0 ]; then \
	  front=$$(date +%s); \
	  env -u CI -u NMAUTILS_PROGRESS NMAUTILS_COLAB_VENV=$(CURDIR)/$(COLAB_VENV) $(BIN)/python -m pytest \
		-n 0 -p no:cacheprovider -rsx tests/browser/test_colab_frontend.py || status=1; \
	  echo "make test-colab: the classic Notebook in Chromium $$(( $$(date +%s) - front )) s"; \
	fi; \
	exit $$status

lint: setup
	$(BIN)/ruff check nmautils tests bench nbgrader_config.py

# Ratios measured side by side (README, "Benchmarks"); BENCH_ARGS=--quick for fewer repetitions.
bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
