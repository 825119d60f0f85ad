#!/usr/bin/env bash
# Issue-15 live-updates fan-out: two `smartcrm serve` instances on one throwaway PostgreSQL
# (fsync off, removed at exit), 200 browsers' event streams across them, the time from a task's
# move to all 200 seeing it, beside a bare LISTEN connection (the floor) and 200 clients polling
# every 2 s (the board's former way) in the same run. Release build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SMARTCRM_BENCH_DB_PORT:-55442}"
APP_PORTS=(3211 3212)
PGDIR="$DATA/bench-live-pg"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  pg_stop "$PGDIR"; rm -rf "$PGDIR"
}
trap cleanup EXIT

cd "$ROOT"
ensure_models
export SMARTCRM_MODELS_DIR="$MODELS_DIR"
log "release build of smartcrm and smartcrm-bench-live"
export LEPTOS_OUTPUT_NAME=smartcrm # as cargo-leptos sets it, so this build shares its artifacts
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm --bin smartcrm-bench-live

pg_stop "$PGDIR"; rm -rf "$PGDIR"
PG_FSYNC=off pg_start "$PGDIR" "$PORT"
pg_create_db "$PORT" bench
pg_urls "$PORT" bench
export RUST_LOG="${RUST_LOG:-warn}"
"$ROOT/target/release/smartcrm" seed-demo
URLS=()
for p in "${APP_PORTS[@]}"; do
  # No pipeline workers (the demo tasks stay put) and room for 200 streams of one member.
  SMARTCRM_ADDR="127.0.0.1:$p" SMARTCRM_WORKERS=0 SMARTCRM_LIVE_STREAMS_PER_MEMBER=1000 \
  LEPTOS_OUTPUT_NAME=smartcrm LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD \
    "$ROOT/target/release/smartcrm" serve &
  PIDS+=($!)
  URLS+=("http://127.0.0.1:$p")
done
for p in "${APP_PORTS[@]}"; do
  for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$p/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
done
log "measuring ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
BENCH_LIVE_URLS="$(IFS=,; echo "${URLS[*]}")" "$ROOT/target/release/smartcrm-bench-live"
