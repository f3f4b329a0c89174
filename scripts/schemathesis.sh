#!/usr/bin/env bash
# The API contract check: schemathesis `--checks all` against /api/openapi.json of the demo app, once
# signed in as the office (staff) and once as a unit (sthjj), each on a freshly seeded database of its
# own (what the office run creates cannot change what the unit run meets), with a fixed seed and a
# bounded number of examples. Any finding fails. Run under the services:
#   bash scripts/with-services.sh bash scripts/schemathesis.sh        (npm run contract)
# Env: ST_SEED, ST_EXAMPLES, ST_USERS ("staff sthjj"), DEMO_PASSWORD; schemathesis is installed once into
# ~/.cache/rectiflow/venv-schemathesis (RECTIFLOW_CACHE). What it checks and why: docs/api.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
SEED="${ST_SEED:-20260301}"
EXAMPLES="${ST_EXAMPLES:-25}"
USERS="${ST_USERS:-staff sthjj}"
PASSWORD="${DEMO_PASSWORD:-rectiflow-demo}"
CACHE="${RECTIFLOW_CACHE:-$HOME/.cache/rectiflow}"
VENV="$CACHE/venv-schemathesis"
OUT="${ST_OUT:-test-artifacts/schemathesis}"

log() { echo "[schemathesis] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -n "${MONGODB_URI:-}" ] && [ -n "${REDIS_URL:-}" ] || die "MONGODB_URI and REDIS_URL are not set: run under scripts/with-services.sh"

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV (once)"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2 || die "pip install schemathesis failed"
fi

mkdir -p "$OUT"
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

declare -A PIDS BASES SESSIONS TOKENS DBS
stop_apps() {
  for user in "${!PIDS[@]}"; do
    kill "${PIDS[$user]}" 2>/dev/null || true
    wait "${PIDS[$user]}" 2>/dev/null || true
  done
}
trap stop_apps EXIT

# Every app is started and signed in before any run: a run tries logins with made-up names, and the
# per-address login limit they use up (shared in Redis, for 15 minutes) must not refuse the next user's
# sign-in. The apps allow the most tries config takes (LOGIN_ATTEMPTS=100, 600 per address), so that runs
# repeated on one Redis within 15 minutes still sign in; the limit itself has tests of its own.
for user in $USERS; do
  DBS[$user]="rectiflow_contract_${user}_$$"
  port=$(free_port)
  BASES[$user]="http://127.0.0.1:$port"
  log "$user: demo app on ${BASES[$user]} (database ${DBS[$user]})"
  MONGODB_URI="${MONGODB_URI%/*}/${DBS[$user]}" PORT="$port" DEMO_SEED=1 DEMO_PASSWORD="$PASSWORD" LOG_LEVEL=warn LOGIN_ATTEMPTS=100 \
    SESSION_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    node_modules/.bin/tsx src/main.ts web > "$OUT/app-$user.log" 2>&1 &
  PIDS[$user]=$!
  for _ in $(seq 1 240); do
    curl -sf "${BASES[$user]}/readyz" > /dev/null 2>&1 && break
    kill -0 "${PIDS[$user]}" 2>/dev/null || { tail -n 30 "$OUT/app-$user.log" >&2; die "the app for $user stopped while starting"; }
    sleep 0.5
  done
  curl -sf "${BASES[$user]}/readyz" > /dev/null || { tail -n 30 "$OUT/app-$user.log" >&2; die "the app for $user did not become ready in 120 s"; }
  jar=$(mktemp)
  signed=$(curl -s -c "$jar" -H 'Content-Type: application/json' -d "{\"username\":\"$user\",\"password\":\"$PASSWORD\"}" "${BASES[$user]}/api/auth/login")
  SESSIONS[$user]=$(awk '$6 == "rf.sid" { print $7 }' "$jar")
  rm -f "$jar"
  [ -n "${SESSIONS[$user]}" ] || die "$user could not sign in: $signed"
  TOKENS[$user]=$(json_field csrfToken <<< "$signed")
done

failed=()
for user in $USERS; do
  log "$user: schemathesis run --checks all --seed $SEED --max-examples $EXAMPLES"
  # Logout is left out: it would end the very session the run signs in with.
  if RF_SESSION="${SESSIONS[$user]}" RF_CSRF="${TOKENS[$user]}" "$VENV/bin/schemathesis" --config-file scripts/schemathesis/schemathesis.toml \
    run "${BASES[$user]}/api/openapi.json" --checks all --seed "$SEED" --max-examples "$EXAMPLES" --workers 1 --no-color \
    --exclude-path /api/auth/logout \
    --report junit --report-junit-path "$OUT/junit-$user.xml" > "$OUT/run-$user.log" 2>&1; then
    log "$user: no findings ($(grep -E '^Test cases:' -A1 "$OUT/run-$user.log" | tail -n 1 | sed 's/^ *//'))"
  else
    sed -n '/FAILURES/,$p' "$OUT/run-$user.log" | head -n 300 >&2
    tail -n 25 "$OUT/run-$user.log" >&2
    failed+=("$user")
  fi
  kill "${PIDS[$user]}" 2>/dev/null || true
  wait "${PIDS[$user]}" 2>/dev/null || true
  unset "PIDS[$user]"
  MONGODB_URI="${MONGODB_URI%/*}/${DBS[$user]}" node -e 'import("mongoose").then(async ({ default: m }) => { await m.connect(process.env.MONGODB_URI); await m.connection.dropDatabase(); await m.disconnect(); })' || true
done

if [ ${#failed[@]} -gt 0 ]; then
  die "findings as: ${failed[*]} (full output in $OUT/run-<user>.log)"
fi
log "no findings as ${USERS// / or }"
