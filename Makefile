# zkcustoms: the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
# Where cargo puts builds; .ci/run may point it outside the clone to reuse compiled dependencies.
export CARGO_TARGET_DIR ?= target
# Builds use the versions Cargo.lock pins, never versions re-resolved behind a stale lock file.
LOCKED ?= --locked

.PHONY: demo test deps build lint bench fuzz fuzz-deps clean help snarkjs browser deny

help:
	@echo "make demo   run the zkcustoms story end to end on a single-validator ledger node"
	@echo "make test   run the whole test suite (formatting, lints, unit and end-to-end tests)"
	@echo "make bench  run the criterion benchmarks (slow: minutes for the large circuits)"
	@echo "make fuzz   run a fuzzing campaign over every decoder of outside bytes (FUZZING.md)"

# Checks the toolchain and installs what the build needs on Debian when it is missing.
deps:
	@command -v $(CARGO) >/dev/null || { \
	  echo "cargo not found: install the Rust toolchain from rustup (https://rustup.rs)"; exit 1; }
	@if ! command -v cc >/dev/null || ! command -v c++ >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update && apt-get install -y gcc g++; \
	  else \
	    echo "C and C++ compilers (cc, c++) are needed: install gcc and g++ (or clang) with your package manager"; exit 1; \
	  fi; \
	fi
	@# RocksDB's Rust bindings are generated with bindgen, which loads libclang.
	@if [ -z "$$LIBCLANG_PATH" ] && ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update && apt-get install -y libclang-dev; \
	  else \
	    echo "libclang is needed to build RocksDB's bindings: install libclang-dev (Debian, Ubuntu)," \
	      "clang-devel (Fedora) or llvm (macOS; then export LIBCLANG_PATH=\$$(brew --prefix llvm)/lib)"; exit 1; \
	  fi; \
	fi
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# snarkjs, pinned in tools/snarkjs, for the tests that check exported proofs with it. Installs
# Node.js and npm on Debian when they are missing.
snarkjs:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update && apt-get install -y nodejs npm; \
	  else \
	    echo "Node.js and npm are needed to install snarkjs: install them with your package manager" \
	      "or from https://nodejs.org (Node.js 18 or later), then run make snarkjs again"; exit 1; \
	  fi; \
	fi
	@# Installed again whenever the lock file changed; no package's install script runs.
	@if [ ! -x tools/snarkjs/node_modules/.bin/snarkjs ] || \
	  ! cmp -s tools/snarkjs/package-lock.json tools/snarkjs/node_modules/.installed-lock.json; then \
	  cd tools/snarkjs && npm ci --no-audit --no-fund --ignore-scripts && \
	  cp package-lock.json node_modules/.installed-lock.json; \
	fi

# Headless Chromium and its WebDriver, for the explorer's end-to-end test (tests/explorer.rs).
# Installs Debian's chromium and chromium-driver when they are missing; elsewhere install
# Chromium (or Chrome) and the matching chromedriver and link them to /usr/bin/chromium and
# /usr/bin/chromedriver.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update && apt-get install -y chromium chromium-driver; \
	  else \
	    echo "the explorer's browser test needs /usr/bin/chromium and /usr/bin/chromedriver:" \
	      "install chromium and chromium-driver (Debian, Ubuntu) or link a Chromium and its" \
	      "matching chromedriver there, then run make browser again"; exit 1; \
	  fi; \
	fi

build: deps
	$(CARGO) build $(LOCKED) --release --bin zkcustoms

demo: build
	ZK=$(CARGO_TARGET_DIR)/release/zkcustoms bash scripts/demo.sh

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(LOCKED) --profile test --workspace --all-targets -- -D warnings

# `make test` lints inside the test build: clippy-driver compiles the workspace's own crates (all
# targets, benches included) and lints them in the same pass, with warnings denied, so the
# dependencies are compiled once instead of once to check and once to build. Dependencies are
# compiled by plain rustc either way.
CLIPPY_DRIVER = $(shell rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
LINTED_BUILD = RUSTC_WORKSPACE_WRAPPER="$(CLIPPY_DRIVER)" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# Test fixtures kept in statics are never dropped, so their temporary directories would pile up
# in /tmp run after run: the suite gets its own TMPDIR, emptied before and after.
TEST_TMP := $(abspath $(CARGO_TARGET_DIR))/test-tmp

test: deps snarkjs browser
	$(CARGO) fmt --all -- --check
	@test -n "$(CLIPPY_DRIVER)" || { echo "clippy-driver not found: rustup component add clippy"; exit 1; }
	$(LINTED_BUILD) $(CARGO) test $(LOCKED) --profile test --workspace --all-targets --no-run
	@rm -rf "$(TEST_TMP)" && mkdir -p "$(TEST_TMP)"
	@TMPDIR="$(TEST_TMP)" $(LINTED_BUILD) $(CARGO) test $(LOCKED) --profile test --workspace; status=$$?; \
	  rm -rf "$(TEST_TMP)"; exit $$status

# Every benchmark in one run, then one table of their figures, each beside its anchor measured in
# the same run, with the ratio and its target (`$(CARGO_TARGET_DIR)/bench-table.md`).
BENCH_TABLE = $(CARGO) run --release --quiet -p zkcustoms-benches --bin bench-table --
bench: build
	$(BENCH_TABLE) start
	CRITERION_HOME="$(abspath $(CARGO_TARGET_DIR))/criterion" $(CARGO) bench $(LOCKED) -p zkcustoms-benches
	$(BENCH_TABLE)

# Fuzzing needs a nightly toolchain and cargo-fuzz; installs them when they are missing.
fuzz-deps: deps
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

# FUZZ_SECONDS per target (default 300), FUZZ_JOBS targets at a time (default 1); the corpora
# under fuzz/corpus grow. `make test` replays them (fuzz/tests/corpora.rs).
fuzz: fuzz-deps
	bash scripts/fuzz.sh

# Supply-chain checks with cargo-deny (deny.toml): advisories (RustSec, fetched from GitHub),
# licences, banned crates and sources, for the workspace and the fuzzing workspace. Not part of
# `make test`, which runs offline but for the package registries; install with
# `cargo install cargo-deny --locked`.
deny:
	@command -v cargo-deny >/dev/null || { echo "cargo-deny not found: cargo install cargo-deny --locked"; exit 1; }
	$(CARGO) deny $(LOCKED) check
	$(CARGO) deny $(LOCKED) --manifest-path fuzz/libfuzzer/Cargo.toml check

clean:
	rm -rf demo-out
	$(CARGO) clean
