# gameday's everyday commands. `make drill` and `make test` each set up everything they
# need on a fresh machine (scripts/setup.sh) and do nothing extra where it is already there.
VENV ?= .venv
BIN := $(VENV)/bin
export TESTCONTAINERS_RYUK_DISABLED ?= true
export TESTCONTAINERS_HOST_OVERRIDE ?= localhost

.PHONY: setup drill test unit lint typecheck bench clean docker-stop

setup:
	scripts/setup.sh

## The main job: a full drill on the bundled replica, ending in a report.
drill: setup
	$(BIN)/gameday run --all

## Everything CI runs: lint, types, unit and integration tests (real Docker, Chromium).
test:
	scripts/setup.sh --test
	$(MAKE) lint typecheck
	$(BIN)/pytest -p no:cacheprovider --durations=25 tests

## Fast loop for developers: no Docker needed.
unit:
	GAMEDAY_SKIP_DOCKER=1 scripts/setup.sh
	$(BIN)/pytest -p no:cacheprovider -m "not docker and not browser" tests

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck:
	$(BIN)/mypy

bench:
	scripts/setup.sh --bench
	$(BIN)/python benchmarks/bench_replica.py
	$(BIN)/python benchmarks/bench_proxy.py
	$(BIN)/python benchmarks/bench_gameday.py
	$(BIN)/python benchmarks/bench_capacity.py
	$(BIN)/python benchmarks/bench_verdicts.py
	$(BIN)/python benchmarks/bench_campaign.py

clean:
	-$(BIN)/gameday cleanup
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist

docker-stop:
	scripts/stop-docker.sh
