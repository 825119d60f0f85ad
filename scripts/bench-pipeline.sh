#!/usr/bin/env bash
# Issue-5 benchmarks: pipeline throughput with 1, 2 and 4 workers against an instant mock
# provider, pgbench TPC-B on the same PostgreSQL for scale, decision-rule evaluations per second,
# and the similar-example query at 100,000 examples (p50 and recall@10 against exact search).
# Uses its own throwaway PostgreSQL (fsync off, as the test command's; removed at exit) and a
# release build. BENCH_TASKS and BENCH_EXAMPLES override the sizes; BENCH_ONLY=decisions runs
# the decision-rule evaluations alone.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SMARTCRM_BENCH_DB_PORT:-55436}"
PGDIR="$DATA/bench-pipeline-pg"
cleanup() { pg_stop "$PGDIR"; rm -rf "$PGDIR"; }
trap cleanup EXIT

cd "$ROOT"
ensure_models
export SMARTCRM_MODELS_DIR="$MODELS_DIR"
log "release build of smartcrm and smartcrm-bench-pipeline"
export LEPTOS_OUTPUT_NAME=smartcrm # as cargo-leptos sets it, so this build shares its artifacts
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm --bin smartcrm-bench-pipeline

# BENCH_ONLY=decisions: the decision-rule evaluations alone (no database needed).
if [ "${BENCH_ONLY:-}" = decisions ]; then
  BENCH_ONLY=decisions "$ROOT/target/release/smartcrm-bench-pipeline"
  exit 0
fi

pg_stop "$PGDIR"; rm -rf "$PGDIR"
PG_FSYNC=off pg_start "$PGDIR" "$PORT"
pg_create_db "$PORT" bench
pg_create_db "$PORT" pgbench
pg_urls "$PORT" bench
export RUST_LOG="${RUST_LOG:-warn}"
"$ROOT/target/release/smartcrm" migrate
log "measuring ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
"$ROOT/target/release/smartcrm-bench-pipeline"
echo
log "pgbench TPC-B on the same server (scale 10, 8 clients, 2 threads, 30 s)"
PGPASSWORD="$(pg_secret pg-owner)" "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U smartcrm -i -s 10 -q pgbench >/dev/null 2>&1
PGPASSWORD="$(pg_secret pg-owner)" "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U smartcrm -c 8 -j 2 -T 30 pgbench 2>/dev/null | grep -E "^(tps|latency average|number of transactions actually processed)"
