# Thin wrapper over Meson for the README's commands.
#   make demo    install deps, build, tour all six tools on sample data
#   make check   install deps, build release + sanitizer + fuzz, run every test
#   make bench   build release, run every benchmark against its peer
#   make fuzz    run every fuzz target for FUZZ_SECONDS (default 60)
#   make test T=mdraid   run one tool's tests (release build only)
FUZZ_SECONDS ?= 60
.PHONY: all deps build demo check bench fuzz test clean

all: build

deps:
	@scripts/install-deps

build/build.ninja:
	meson setup build -Dbuildtype=release

build: build/build.ninja
	ninja -C build

demo: deps build
	@scripts/demo

check: deps
	@scripts/check

test: deps build
	meson test -C build --print-errorlogs --suite $(T)

bench: deps build
	@scripts/bench

fuzz: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Dbuildtype=debug -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=all -Db_lundef=false
	ninja -C build-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) meson test -C build-fuzz --suite fuzz --timeout-multiplier 0 --print-errorlogs

clean:
	rm -rf build build-asan build-fuzz build*.log
