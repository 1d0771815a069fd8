# zkcustoms: the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
# Where cargo puts builds; .ci/run may point it outside the clone to reuse compiled dependencies.
export CARGO_TARGET_DIR ?= target

.PHONY: demo test deps build lint bench clean help

help:
	@echo "make demo   run the zkcustoms story end to end (keys, registry, proofs, verification)"
	@echo "make test   run the whole test suite (formatting, lints, unit and end-to-end tests)"
	@echo "make bench  run the criterion benchmarks (slow: minutes for the large circuits)"

# Checks the toolchain and installs what the build needs on Debian when it is missing.
deps:
	@command -v $(CARGO) >/dev/null || { \
	  echo "cargo not found: install the Rust toolchain from rustup (https://rustup.rs)"; exit 1; }
	@if ! command -v cc >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update && apt-get install -y gcc; \
	  else \
	    echo "a C compiler (cc) is needed: install gcc or clang with your package manager"; exit 1; \
	  fi; \
	fi
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

build: deps
	$(CARGO) build --release --bin zkcustoms

demo: build
	ZK=$(CARGO_TARGET_DIR)/release/zkcustoms bash scripts/demo.sh

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --profile test --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) test --profile test --workspace

bench: deps
	$(CARGO) bench -p zkcustoms-benches

clean:
	rm -rf demo-out
	$(CARGO) clean
