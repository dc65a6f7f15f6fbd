# The two commands a new user needs (see README.md). Each installs what it uses, so they work
# on a bare machine with only Python 3.11 and pip.
SHELL := /bin/bash
# `python3 -m uv` works right after `pip install uv`, whatever PATH the machine has.
UV := python3 -m uv
# `--compile-bytecode`: every run worker imports dagster, dagster-dbt and dbt afresh; without .pyc
# files (PYTHONDONTWRITEBYTECODE=1, or a read-only venv) it compiles them first, 4 s of each run.

.PHONY: pipeline test tools browser servers

## Run the whole lakehouse end to end on the bundled sample clients, then say where to look.
pipeline: tools
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --frozen python -m orchestration.pipeline --fresh

## Run the test suite (what CI runs), on two workers; a test module's tests stay on one worker,
## so its shared fixtures (a built lake, a demo run) are made once. Modules start in the order
## tests/conftest.py gives (the longest first): xdist's default reorder by test count sent the
## one-test reader module last, to run alone for six minutes while the other worker idled.
## The 25 slowest tests are listed at the end, so a CI log shows where the suite's time goes.
test: tools browser servers
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --frozen pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=25

tools:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

# Headless Chromium renders the HTML reports in the browser tests; the CJK font lets Hangul show
# in its screenshots instead of empty boxes.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# PostgreSQL's server binaries for the scale-out tests, which start their own server on loopback
# (tests/scale_out/lake_servers.py); Debian keeps them off PATH, under /usr/lib/postgresql/<version>/bin.
servers:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }
