# The two set-up commands of the README, plus bench. Each installs what is missing first.
BUILD ?= build
PYTHON := .venv/bin/python
JOBS ?= $(shell nproc)

.PHONY: all bootstrap build python test demo bench fuzz clean

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The pomona Python package (pyproject.toml) into .venv; its CMake build is kept in build-python/.
python: bootstrap
	@$(PYTHON) -m pip install -q --no-build-isolation .

test: build python
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	POMONA_BUILD_DIR=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests

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
