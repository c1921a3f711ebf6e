#!/usr/bin/env bash
# Builds and tests the Python package the way a user installs it: in a virtual environment
# (target/py-venv), `pip install ./bindings/python` (maturin comes from PyPI in pip's isolated
# build), then pytest over bindings/python/tests (API, offsets, errors, threads, pickling,
# examples and the conformance table), mypy --strict over the tests and examples, and
# mypy's stubtest of the shipped .pyi stubs against the extension.
# Needs python3 (3.10 or newer, with venv) and cargo. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
python=${PYTHON:-python3}
venv=$root/target/py-venv

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || {
    echo "cannot create a virtual environment with $python (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
vpy=$venv/bin/python
pip=("$vpy" -m pip --disable-pip-version-check --quiet)

echo "--- test tools into $venv"
"${pip[@]}" install pytest mypy 'tomli; python_version < "3.11"' fastapi httpx

echo "--- pip install ./bindings/python"
"${pip[@]}" install --force-reinstall --no-deps ./bindings/python

# pytest runs in bindings/python, whose python/ folder is not importable as `promptwall`;
# stubtest runs in an empty folder: both see the installed package.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "--- pytest"
(cd "$root/bindings/python" && "$vpy" -m pytest -p no:cacheprovider tests)

echo "--- mypy --strict over the tests, examples and benches (the shipped stubs in use)"
(cd "$root/bindings/python" && "$vpy" -m mypy --strict --ignore-missing-imports \
  --cache-dir "$root/target/py-mypy-cache" tests examples bench)

echo "--- stubtest"
"$vpy" -m mypy.stubtest promptwall \
  --allowlist "$root/bindings/python/stubtest-allowlist.txt"
