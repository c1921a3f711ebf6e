#!/usr/bin/env bash
# Benchmarks promptwall against its peers on one corpus (issue #10, part 2):
#   - promptwall through the Python binding (`Firewall.scan`, `scan_batch`) and the release CLI
#     (`promptwall scan --jsonl`);
#   - detect-secrets 1.5.0, in process, default plugins and filters;
#   - tiktoken against `promptwall.count_tokens` (cl100k_base, o200k_base), counts checked equal;
#   - LLM Guard 0.3.16's rule-based input scanners (Secrets, BanSubstrings, InvisibleText,
#     TokenLimit, Regex), in an environment of its own;
# and what each finds among planted secrets and benign prompts.
#
#   bash benches/peers/run.sh [--rounds N] [--no-llm-guard] [--llm-guard-full]
#
# Installs from PyPI into target/peers-venv and target/peers-llm-guard-venv (pinned in
# benches/peers/requirements*.txt), builds the CLI (`cargo build --release`) and
# `pip install ./bindings/python`, writes the corpus and results to target/peers/
# (corpus.jsonl, results.json, results.md) and prints the tables. Reads the benign rows of
# ../shared/data/injection/dev.jsonl when that file exists. Needs cargo and python3 3.11 or
# later with venv (LLM Guard: 3.11 or 3.12); not part of CI (it downloads packages). About 4
# minutes once installed; benches/README.md explains the method and keeps the results.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
python=${PYTHON:-python3}
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/peers
venv=$target/peers-venv
lg_venv=$target/peers-llm-guard-venv
rounds=5
llm_guard=light

die() {
  echo "run.sh: error: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --no-llm-guard) llm_guard=no; shift ;;
    --llm-guard-full) llm_guard=full; lg_venv=$target/peers-llm-guard-full-venv; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

command -v cargo >/dev/null || die "cargo is not on PATH"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
  die "$python is missing or older than 3.11 (set PYTHON=python3.11 or newer)"

make_venv() {
  if [ ! -x "$1/bin/python" ]; then
    "$python" -m venv "$1" || die "cannot create a virtual environment in $1 (Debian: apt-get install python3-venv)"
  fi
}
pip_in() {
  local v=$1
  shift
  "$v/bin/python" -m pip --disable-pip-version-check --quiet "$@"
}

echo "--- $venv: detect-secrets, tiktoken (benches/peers/requirements.txt)"
make_venv "$venv"
pip_in "$venv" install -r benches/peers/requirements.txt || die "pip could not install benches/peers/requirements.txt"

echo "--- cargo build --release -p promptwall-cli"
cargo build --release --quiet -p promptwall-cli || die "the CLI did not build"
cli=$target/release/promptwall
[ -x "$cli" ] || die "$cli is missing after the build"

echo "--- pip install ./bindings/python"
pip_in "$venv" install --force-reinstall --no-deps ./bindings/python || die "the Python package did not build or install"
"$venv/bin/python" -c 'import promptwall; promptwall.Firewall()' || die "promptwall does not import in $venv"

# tiktoken fetches its rank files from the internet on first use; promptwall bundles the
# same official files, so they go into tiktoken's cache (tiktoken checks their SHA-256).
export TIKTOKEN_CACHE_DIR=$target/peers-tiktoken-cache
echo "--- tiktoken rank files from crates/promptwall/data into $TIKTOKEN_CACHE_DIR"
"$venv/bin/python" benches/peers/tiktoken_cache.py || die "tiktoken cannot be set up offline"

lg_args=()
case $llm_guard in
  no) lg_args=(--llm-guard-skipped "left out with --no-llm-guard") ;;
  light|full)
    echo "--- $lg_venv: LLM Guard ($llm_guard install)"
    lg_ok=1
    make_venv "$lg_venv"
    if [ "$llm_guard" = light ]; then
      pip_in "$lg_venv" install --no-deps -r benches/peers/requirements-llm-guard.txt || lg_ok=0
    else
      pip_in "$lg_venv" install llm-guard==0.3.16 || lg_ok=0
    fi
    if [ $lg_ok = 1 ]; then
      lg_args=(--llm-guard-python "$lg_venv/bin/python")
    else
      echo "run.sh: LLM Guard did not install; going on without it" >&2
      lg_args=(--llm-guard-skipped "pip could not install it ($llm_guard install) on this machine")
    fi
    ;;
esac

mkdir -p "$out"
echo "--- corpus: $out/corpus.jsonl"
"$venv/bin/python" benches/peers/corpus.py "$out/corpus.jsonl" || die "the corpus could not be written"

echo "--- compare (rounds: $rounds)"
"$venv/bin/python" benches/peers/compare.py --corpus "$out/corpus.jsonl" --cli "$cli" \
  --out "$out" --rounds "$rounds" "${lg_args[@]}" || die "the comparison failed"
echo "--- written: $out/results.md, $out/results.json"
