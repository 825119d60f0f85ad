#!/usr/bin/env bash
# Issue-15 benchmarks at 1M tasks and 5M AI calls in one workspace, each beside its reference in
# the same run: the dashboard's server time from the rollups against the same figures from the
# raw tables, the rollup refresh, and one workspace's alert evaluation against the budget rule's
# former raw-table query. Uses its own throwaway PostgreSQL (fsync off, removed at exit) and a
# release build. Seeding takes a few minutes.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SMARTCRM_BENCH_DB_PORT:-55441}"
PGDIR="$DATA/bench-dashboard-pg"
cleanup() { pg_stop "$PGDIR"; rm -rf "$PGDIR"; }
trap cleanup EXIT

cd "$ROOT"
ensure_models
export SMARTCRM_MODELS_DIR="$MODELS_DIR"
log "release build of smartcrm and smartcrm-bench-dashboard"
export LEPTOS_OUTPUT_NAME=smartcrm # as cargo-leptos sets it, so this build shares its artifacts
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm --bin smartcrm-bench-dashboard

pg_stop "$PGDIR"; rm -rf "$PGDIR"
PG_FSYNC=off pg_start "$PGDIR" "$PORT"
pg_create_db "$PORT" bench
pg_urls "$PORT" bench
export RUST_LOG="${RUST_LOG:-warn}"
"$ROOT/target/release/smartcrm" migrate
log "measuring ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
"$ROOT/target/release/smartcrm-bench-dashboard"
