#!/usr/bin/env bash
# Issue-14 benchmarks, each beside its reference in the same run: model resolution with every
# level in play (Gateway::decide against a bare HashMap lookup), and the cost forecast of a bulk
# reassignment over 1,000,000 ai_calls rows (against the bare aggregate over the same rows).
# Uses its own throwaway PostgreSQL (fsync off, removed at exit) and a release build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SMARTCRM_BENCH_DB_PORT:-55439}"
PGDIR="$DATA/bench-models-pg"
cleanup() { pg_stop "$PGDIR"; rm -rf "$PGDIR"; }
trap cleanup EXIT

cd "$ROOT"
ensure_models
export SMARTCRM_MODELS_DIR="$MODELS_DIR"
log "release build of smartcrm and smartcrm-bench-models"
export LEPTOS_OUTPUT_NAME=smartcrm # as cargo-leptos sets it, so this build shares its artifacts
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm --bin smartcrm-bench-models

pg_stop "$PGDIR"; rm -rf "$PGDIR"
PG_FSYNC=off pg_start "$PGDIR" "$PORT"
pg_create_db "$PORT" bench
pg_urls "$PORT" bench
export RUST_LOG="${RUST_LOG:-warn}"
"$ROOT/target/release/smartcrm" migrate
log "measuring ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
# An emergency override on the fast tier and a remote provider (never called), so every level of
# the resolution order is in play.
SMARTCRM_OVERRIDE_FAST_MODEL=gpt-5.2-instant OPENAI_BASE_URL=http://127.0.0.1:9/v1 \
  "$ROOT/target/release/smartcrm-bench-models"
