# Tessera: the common commands. `make run` and `make test` work on a fresh Debian 12 machine.
#
#   make run         install what is missing, build, run the suite with demo data (Ctrl-C stops it)
#   make test        everything CI runs: both builds, format check, lint, then every test in both
#   make bench       the benchmark (bench/run.sh)
#   make format      reformat the C sources; make lint: cppcheck; make clean: remove the builds
JOBS       ?= $(shell nproc)
BUILD      ?= build
ASAN_BUILD ?= build-asan
# Every C source and header of the project; generated code lives in the build trees only.
SOURCES := $(sort $(shell find common services tools tests bench -name '*.[ch]' 2>/dev/null))
# cmake --build runs make too: no "Entering directory" lines from it.
MAKEFLAGS  += --no-print-directory
export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all help deps build build-asan run test test-fast bench fuzz format format-check lint clean

all: build

help:
	@sed -n '3,7s/^# //p' Makefile

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTSR_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# The whole suite in the foreground, with demo data; Ctrl-C stops it. See scripts/run.sh.
run: build
	@scripts/run.sh

# Everything CI runs (.ci/run): both builds, style, static analysis, then every test in the
# normal and the sanitizer (ASan + UBSan) build.
test: deps build build-asan format-check lint
	ctest --test-dir $(BUILD) --output-on-failure -j 2
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j 2

# The normal build's tests only, for a quick loop while working.
test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j 2

bench: build
	@bench/run.sh
	@bench/workview.sh
	@bench/journey.sh
	@bench/audit.sh
	@bench/cpis.sh
	@bench/family_context.sh

# libFuzzer over each fuzz target for FUZZ_SECONDS (default 60) each; needs clang.
FUZZ_SECONDS ?= 60
fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DTSR_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_config fuzz_envelope fuzz_feed fuzz_csv
	@for t in config envelope feed csv; do \
	  mkdir -p build-fuzz/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ ; \
	  build-fuzz/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$t || exit 1; \
	done

format: deps
	$(if $(SOURCES),,$(error no C sources found under common services tools tests bench))
	@clang-format -i $(SOURCES)

format-check: deps
	$(if $(SOURCES),,$(error no C sources found under common services tools tests bench))
	@clang-format --dry-run --Werror $(SOURCES)

# The generated protobuf-c headers come from the build, hence `build` first.
lint: build
	@cppcheck --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem -q --std=c11 -j $(JOBS) -I common -I $(BUILD)/proto \
	  common services tools tests bench

# Stops make run's PostgreSQL (if it is running) before removing it with the build tree.
clean:
	@if [ -d $(BUILD)/run-instance ]; then scripts/instance.sh stop $(BUILD)/run-instance; fi
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
