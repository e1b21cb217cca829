# The two commands a new user needs:  make demo   and   make test
.PHONY: setup build demo test bench lint doc clean

setup:
	./scripts/setup.sh

build: setup
	cargo build --release

demo: build
	./target/release/telescope demo

test: setup
	cargo build --release
	cargo test --release

bench: setup
	cargo build --release
	./target/release/telescope bench

lint: setup
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings

clean:
	cargo clean
