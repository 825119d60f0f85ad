#!/usr/bin/env bash
# Attacks and crowds a real `smartcrm serve` on loopback and prints a table of what held:
# four concurrent 3 GiB POSTs, the 40-request sign-in throttle race, 500 parallel sign-ins with
# random emails (with /healthz probed), 25 concurrent forced refreshes by one rep while another
# workspace browses, and 200 signed-in users browsing for ABUSE_BROWSE_SECS (60).
# Its own throwaway PostgreSQL (removed at exit), a release build, a mock AI provider inside the
# tool; every loop is bounded in count and time and all traffic stays on 127.0.0.1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${SMARTCRM_ABUSE_DB_PORT:-55437}"
PGDIR="$DATA/abuse-pg"
cleanup() { pg_stop "$PGDIR"; rm -rf "$PGDIR" "$DATA/abuse-models"; }
trap cleanup EXIT

cd "$ROOT"
log "release build of smartcrm and smartcrm-abuse"
# LEPTOS_OUTPUT_NAME as cargo-leptos sets it, so this build shares its artifacts.
export LEPTOS_OUTPUT_NAME=smartcrm
SQLX_OFFLINE=true cargo build --release -p server --bin smartcrm --bin smartcrm-abuse

pg_stop "$PGDIR"; rm -rf "$PGDIR"
pg_start "$PGDIR" "$PORT"
pg_create_db "$PORT" abuse
pg_urls "$PORT" abuse
export RUST_LOG="${RUST_LOG:-warn}"
"$ROOT/target/release/smartcrm" migrate
"$ROOT/target/release/smartcrm" seed-demo
# The app signs in as its own role from here on, like a deployment.
unset SMARTCRM_OWNER_DATABASE_URL
# A deployment with a hosted model: the AI answers come from the tool's mock provider, and the
# built-in local models (about 450 MiB once loaded) stay unloaded, so the RSS figures are the
# server's own. Only the pronunciation dictionary that scoring reads is there.
MODELS="$DATA/abuse-models"
rm -rf "$MODELS"; mkdir -p "$MODELS"
[ -d "$DATA/models/cmudict" ] && ln -s "$DATA/models/cmudict" "$MODELS/cmudict"
export SMARTCRM_MODELS_DIR="$MODELS"
log "abusing ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
SMARTCRM_BIN="$ROOT/target/release/smartcrm" "$ROOT/target/release/smartcrm-abuse"
