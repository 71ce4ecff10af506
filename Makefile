# Tessera: the common commands. `make run` and `make test` work on a fresh Debian 12 machine.
JOBS        ?= $(shell nproc)
BUILD       ?= build
ASAN_BUILD  ?= build-asan
SOURCES      = $(shell git ls-files 'common/*.[ch]' 'services/*.[ch]' 'tools/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 2>/dev/null)
export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all deps build build-asan run test test-fast bench fuzz format format-check lint clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTSR_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# The whole suite in the foreground, with demo data; Ctrl-C stops it.
run: build
	@scripts/run.sh

# Everything CI runs: style, static analysis, then every test in the normal and the sanitizer build.
test: build build-asan format-check lint
	ctest --test-dir $(BUILD) --output-on-failure -j 2
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j 2

# The normal build's tests only, for a quick loop while working.
test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j 2

bench: build
	@bench/run.sh

# libFuzzer over each fuzz target for FUZZ_SECONDS (default 60) each; needs clang.
FUZZ_SECONDS ?= 60
fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DTSR_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_config fuzz_envelope
	@for t in config envelope; do \
	  mkdir -p build-fuzz/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ ; \
	  build-fuzz/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$t || exit 1; \
	done

format:
	@clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES)

lint: build
	@cppcheck --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem -q --std=c11 -I common -I $(BUILD)/proto \
	  common services tools tests bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
