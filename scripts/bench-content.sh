#!/usr/bin/env bash
# Issue-12 benchmarks, each beside a reference in the same run: template preview and example
# save over HTTP, CSV import of 10,000 contacts against psql \copy, and "find similar" over HTTP
# at 100,000 examples with recall@10 against exact search. Uses its own throwaway PostgreSQL
# (fsync off, removed at exit), a release build and the built-in local embedding model.
# BENCH_EXAMPLES overrides the number of examples.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SMARTCRM_BENCH_DB_PORT:-55437}"
PGDIR="$DATA/bench-content-pg"
cleanup() { pg_stop "$PGDIR"; rm -rf "$PGDIR"; }
trap cleanup EXIT

cd "$ROOT"
ensure_models
export SMARTCRM_MODELS_DIR="$MODELS_DIR"
log "release build of smartcrm and smartcrm-bench-content"
export LEPTOS_OUTPUT_NAME=smartcrm # as cargo-leptos sets it, so this build shares its artifacts
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm --bin smartcrm-bench-content

pg_stop "$PGDIR"; rm -rf "$PGDIR"
PG_FSYNC=off pg_start "$PGDIR" "$PORT"
pg_create_db "$PORT" bench
pg_urls "$PORT" bench
export RUST_LOG="${RUST_LOG:-warn}"
"$ROOT/target/release/smartcrm" migrate
export BENCH_PSQL="$PG_BIN/psql" BENCH_OWNER_URL="$SMARTCRM_OWNER_DATABASE_URL"
log "measuring ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
"$ROOT/target/release/smartcrm-bench-content"
