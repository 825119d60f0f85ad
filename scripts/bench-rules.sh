#!/usr/bin/env bash
# Issue-13 benchmarks, each beside its reference in the same run: a simulation of 10,000
# evaluated drafts against a 20-rule set (server time, against reading the same rows alone),
# and rule-set evaluations per second on the bench's path against the worker's. The
# validation of a large rule is in `BENCH_ONLY=decisions scripts/bench-pipeline.sh`. Uses its
# own throwaway PostgreSQL (fsync off, removed at exit) and a release build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SMARTCRM_BENCH_DB_PORT:-55438}"
PGDIR="$DATA/bench-rules-pg"
cleanup() { pg_stop "$PGDIR"; rm -rf "$PGDIR"; }
trap cleanup EXIT

cd "$ROOT"
ensure_models
export SMARTCRM_MODELS_DIR="$MODELS_DIR"
log "release build of smartcrm and smartcrm-bench-rules"
export LEPTOS_OUTPUT_NAME=smartcrm # as cargo-leptos sets it, so this build shares its artifacts
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm --bin smartcrm-bench-rules

pg_stop "$PGDIR"; rm -rf "$PGDIR"
PG_FSYNC=off pg_start "$PGDIR" "$PORT"
pg_create_db "$PORT" bench
pg_urls "$PORT" bench
export RUST_LOG="${RUST_LOG:-warn}"
"$ROOT/target/release/smartcrm" migrate
log "measuring ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
"$ROOT/target/release/smartcrm-bench-rules"
