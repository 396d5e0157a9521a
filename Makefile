# Canal build. Plain make + pkg-config; warnings are errors.
#   make            release build  -> build/canal
#   make asan       ASan+UBSan     -> build-asan/canal
#   make unit       build and run the cmocka unit tests
#   make test       the whole suite (unit + end-to-end) under ASan+UBSan
#   make web-unit   node:test unit tests of the web client's rendering modules
#   make bench      start a server and print throughput/latency figures
#   make crash-test SIGKILL the server under load, many rounds; check every acknowledged write
#   make soak       mixed workload for SOAK_SECONDS; RSS, fds, latency over time
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS (60) each; make fuzz-ci: 8 s each
PKGS    := libuv jansson sqlite3 libsodium libcrypto libcurl libmagic stb
CC      ?= cc
MODE    ?= release
# The release build links mimalloc (Debian's libmimalloc, which replaces
# malloc for the whole process): glibc's per-thread cache keeps 7 blocks
# of a size, and the loop's bursts (a Socket Mode envelope per app per
# post, ~90 allocations per chat.postMessage) fell through to its general
# bins, a sixth of the CPU in the apps and pairs benchmarks. Measured in
# bench/README.md. ASan builds keep glibc's malloc (ASan replaces it).
ifeq ($(MODE),asan)
  BUILD   := build-asan
  OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  MALLOC_LIB :=
else
  BUILD   := build
  OPTFLAGS := -O2 -g
  MALLOC_LIB := -lmimalloc
endif
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           $(OPTFLAGS) -Isrc $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(MALLOC_LIB) $(shell pkg-config --libs $(PKGS)) -lhttp_parser -lpthread -lm
LDFLAGS += $(filter -fsanitize=%,$(OPTFLAGS))

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c src/*/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all asan unit unit-bins e2e web-unit test bench bench-files crash-test soak fuzz fuzz-ci clean
all: $(BUILD)/canal

asan:
	$(MAKE) MODE=asan all

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcanal.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/canal: $(BUILD)/obj/src/main.o $(BUILD)/libcanal.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcanal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit-bins: $(UNIT_BIN)

# Runs every unit test binary; each prints cmocka's summary lines.
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

# One file: make e2e E2E=tests/e2e/chat.test.mjs
E2E ?= tests/e2e/
e2e: $(BUILD)/canal
	CANAL_BIN=$(abspath $(BUILD)/canal) node --test --test-concurrency=2 $(E2E)

# Unit tests of the web client's pure modules (web/js), node:test, no browser.
web-unit:
	node --test tests/web/

# The whole suite under ASan+UBSan: build first, then run unit, then e2e.
test:
	$(MAKE) MODE=asan all unit-bins
	$(MAKE) MODE=asan unit
	$(MAKE) web-unit
	$(MAKE) MODE=asan e2e

bench: build/canal build/canal-load build/canal-wsload build/canal-search-fill
	bench/run
	bench/rt-run
	node bench/web-render.mjs
	bench/web-run
	bench/search-run
	bench/apps-run

# Uploads and downloads through the upload URL; prints MiB/s and the server's RSS (bench/files.mjs).
bench-files: build/canal
	CANAL_BIN=$(abspath build/canal) node bench/files.mjs

# Not part of `make test` (about 60-90 s; CRASH_ROUNDS=N to change). See docs/reliability.md.
crash-test: build/canal
	CANAL_BIN=$(abspath build/canal) node tests/crash/crash.mjs

# SOAK_SECONDS (default 120) of mixed load; fails if RSS or fds grow. See docs/reliability.md.
soak: build/canal
	bench/soak

build/canal-load: bench/load.c
	@mkdir -p build
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $< $(shell pkg-config --cflags --libs libuv) -lm

# Bulk loader for bench/search-run: links the library (offline store API).
build/canal-search-fill: bench/search_fill.c build/libcanal.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/canal-wsload: bench/wsload.c
	@mkdir -p build
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -o $@ $< -lm

# libFuzzer harnesses (fuzz/README.md): build with clang, run each one.
fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} fuzz/run
fuzz-ci:
	FUZZ_SECONDS=8 fuzz/run

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/src/main.d
