# ironseal's front door. `make demo` and `make test` install what is missing (scripts/setup.sh),
# build, and run. Build trees: build/ (release, -Werror; with the Cortex-M33 firmware in
# build/firmware/ and its QEMU scenarios), build-asan/ (ASan+UBSan),
# build-fuzz/ (clang 16 + libFuzzer).
.PHONY: all setup build build-asan build-fuzz demo test test-unit test-asan fuzz bench clean evidence

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 15
CMAKE_COMMON = -G Ninja -DIRONSEAL_WERROR=ON

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B build $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: setup
	@cmake -S . -B build-asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DIRONSEAL_SANITIZE=ON -DIRONSEAL_FIRMWARE=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)

build-fuzz: setup
	@CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIRONSEAL_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

demo: build
	@bash scripts/demo.sh build/apps

# Every test: the -Werror build's suite, the same suite under ASan+UBSan, each fuzz target for
# FUZZ_SECONDS (default 15 s: about 3 min in all; `make fuzz FUZZ_SECONDS=3600` for a long run),
# then the certification evidence of the build (build/evidence/report.html; docs/evidence.md),
# which fails when a claimed requirement has no passing test.
test: test-unit test-asan fuzz
	@bash scripts/evidence.sh build
	@echo "make test: all stages passed"

# The evidence alone, from the results of the last `make test-unit`.
evidence: build
	@bash scripts/evidence.sh build

test-unit: build
	@bash scripts/run_tests.sh build

test-asan: build-asan
	@bash scripts/run_tests.sh build-asan

fuzz: build-fuzz
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench: build
	@bash bench/image_verify.sh build/apps/ironseal
	@bash bench/install.sh build/apps/ironseal
	@bash bench/install_http.sh build
	@if [ -f build/test-results/ctest.xml ]; then bash bench/evidence.sh build; fi
	@bash bench/audit.sh build
	@bash bench/backup.sh build 10000
	@if [ -f build/firmware/boot.elf ]; then bash bench/firmware_boot.sh build/apps/ironseal build/firmware; fi

clean:
	rm -rf build build-asan build-fuzz
