# faxbridge: the two entry points named at the top of README.md.
#   make run   install what is needed, build, start the daemon on the embedded default
#   make test  install what is needed, then format check, lint and the whole test suite
#              (with the `bench` feature, so the benchmarks' own tests run too)
#   make bench build with the `bench` feature and run the engine and document benchmarks
#   make fuzz  run every fuzz target for FUZZ_SECONDS (default 60) each (RELIABILITY.md)

CARGO ?= cargo

.PHONY: deps run test build bench

deps:
	./scripts/install-deps.sh

build: deps
	$(CARGO) build --release

run: build
	./target/release/faxbridge run

test: deps
	$(CARGO) fmt --check
	CARGO_INCREMENTAL=0 $(CARGO) clippy --lib --bins --locked -- -D warnings
	CARGO_INCREMENTAL=0 $(CARGO) clippy --all-targets --all-features --locked -- -D warnings
	CARGO_INCREMENTAL=0 $(CARGO) test --all-targets --all-features --locked
	CARGO_INCREMENTAL=0 CARGO_TARGET_DIR=target/vendor $(CARGO) test --locked \
	  --manifest-path vendor/spandsp-sys/Cargo.toml --test receive_recovery --test phase_training

bench: deps
	$(CARGO) build --release --features bench
	./scripts/install-deps.sh bench
	./target/release/faxbridge bench engine
	./target/release/faxbridge bench docs

# make fuzz: every fuzz target for FUZZ_SECONDS each (RELIABILITY.md);
# FUZZ_TARGETS picks some. The test suite replays the committed corpora.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: fuzz fuzz-merge
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh $(FUZZ_TARGETS)

# Minimise what the runs found into the committed corpora.
fuzz-merge: deps
	./scripts/fuzz.sh --merge $(FUZZ_TARGETS)
