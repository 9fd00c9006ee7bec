# The two set-up commands of the README, plus bench. Each installs what is missing first.
BUILD ?= build
PYTHON := .venv/bin/python
JOBS ?= $(shell nproc)

.PHONY: all bootstrap build python test demo bench fuzz clean wheel deploy-test

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The pomona Python package (pyproject.toml) into .venv; its CMake build is kept in build-python/.
python: bootstrap
	@$(PYTHON) -m pip install -q --no-build-isolation .

test: build python wheel
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	POMONA_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests

# One manylinux wheel per CPython 3.10-3.13 found here, into dist/, checked by tools/check_wheel.py
# (scripts/build_wheels.sh). deploy-test installs one in a clean Debian root and runs it on a
# Spark cluster whose workers never saw the build (tests/test_deploy.py; needs root).
# Rebuilt only when a source of the wheels changed (make test and make deploy-test both need them),
# .deps/ (the fetched cpp-httplib, see scripts/bootstrap.sh) and the .venv's pins included.
WHEEL_SOURCES := $(shell find src include python cmake third_party .deps -type f -not -name '*.pyc' 2>/dev/null) \
  CMakeLists.txt pyproject.toml requirements.txt scripts/build_wheels.sh scripts/build_hdf5.sh \
  scripts/finish_wheel.py tools/check_wheel.py
wheel: bootstrap dist/.built
dist/.built: $(WHEEL_SOURCES)
	@bash scripts/build_wheels.sh
	@touch $@

deploy-test: build python wheel
	POMONA_DEPLOY_TEST=1 POMONA_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -rs tests/test_deploy.py

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@bash bench/run.sh $(BUILD)

# libFuzzer targets under ASan/UBSan, FUZZ_SECONDS (default 60) each: see fuzz/run.sh.
# FUZZ_TARGETS picks some (default: all).
fuzz:
	@bash scripts/bootstrap.sh fuzz
	@bash fuzz/run.sh build-fuzz $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)
