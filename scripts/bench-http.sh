#!/usr/bin/env bash
# Requests/s for the sign-in page and the signed-in dashboard, with wrk on loopback.
# Needs the app running (scripts/run.sh) at BASE (default http://127.0.0.1:3000).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BASE="${BASE:-http://127.0.0.1:3000}"
case "$BASE" in http://127.*|http://localhost*) ;; *) die "load goes to loopback only";; esac
ensure_apt wrk wrk
jar="$(mktemp)"; trap 'rm -f "$jar"' EXIT
curl -fsS -c "$jar" -o /dev/null -H 'Accept: application/json' \
  --data 'email=manager%40acme.test&password=smartcrm-demo' "$BASE/api/sign_in"
cookie="$(awk '/smartcrm_session/{print $6"="$7}' "$jar")"
[ -n "$cookie" ] || die "sign-in failed"
for target in sign-in dashboard; do
  echo "== /$target (wrk -t2 -c50 -d15s)"
  wrk -t2 -c50 -d15s --latency -H "Cookie: $cookie" "$BASE/$target" | grep -E "Requests/sec|  50%|  99%|Non-2xx"
done
