#!/usr/bin/env bash
# Starts the services Rectiflow needs on loopback, unless MONGODB_URI / REDIS_URL are given.
# Source it (functions `services_up` / `services_down`) or run scripts/with-services.sh.
#   RECTIFLOW_DATA_DIR  where data lives; unset = a throw-away directory removed on exit
# Redis comes from Debian; the MongoDB-compatible server is FerretDB v1.24.2 (SQLite handler),
# built once from the Go module proxy and cached in ~/.cache/rectiflow.

FERRETDB_VERSION=v1.24.2
RECTIFLOW_CACHE="${RECTIFLOW_CACHE:-$HOME/.cache/rectiflow}"
FERRETDB_BIN="$RECTIFLOW_CACHE/ferretdb-$FERRETDB_VERSION"
_svc_pids=()
_svc_tmp=""

_log() { echo "[services] $*" >&2; }
_die() { echo "[services] ERROR: $*" >&2; exit 1; }

_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

_wait_port() { # port seconds name logfile
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  [ -f "$4" ] && tail -n 20 "$4" >&2
  _die "$3 did not start listening on 127.0.0.1:$1 within $2 s (log above)"
}

ensure_redis_binary() {
  command -v redis-server >/dev/null && return 0
  _log "redis-server not found: installing Debian's redis-server"
  command -v apt-get >/dev/null || _die "redis-server is missing and apt-get is not available; install Redis 7 or set REDIS_URL"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >&2 \
    || _die "apt-get install redis-server failed; install Redis 7 or set REDIS_URL"
  # Debian's package may start its own instance on 6379; ours runs on a port of its own, so leave it be.
}

# The browser tests drive Debian's chromium (playwright cannot download its own here); CJK fonts
# make screenshots readable.
ensure_browser() {
  [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" && return 0
  _log "installing Debian's chromium and CJK fonts for the browser tests"
  command -v apt-get >/dev/null || _die "chromium is missing and apt-get is not available; install chromium or set CHROMIUM_PATH"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; } >&2 \
    || _die "apt-get install chromium fonts-noto-cjk failed"
}

ensure_ferretdb_binary() {
  [ -x "$FERRETDB_BIN" ] && return 0
  command -v go >/dev/null || _die "Go is needed to build FerretDB $FERRETDB_VERSION (or set MONGODB_URI to a MongoDB server)"
  _log "building FerretDB $FERRETDB_VERSION (once; cached at $FERRETDB_BIN)"
  local src dir
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') \
    || _die "go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION failed"
  [ -d "$dir" ] || _die "FerretDB module source not found after download"
  src=$(mktemp -d)
  cp -r "$dir/." "$src/" && chmod -R u+w "$src"
  # A plain `go install` leaves build/version/version.txt empty and the binary panics at start.
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  mkdir -p "$RECTIFLOW_CACHE"
  (cd "$src" && GOFLAGS=-buildvcs=false go build -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) >&2 \
    || { rm -rf "$src"; _die "go build of FerretDB failed (output above)"; }
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  rm -rf "$src"
}

services_up() {
  local data="${RECTIFLOW_DATA_DIR:-}"
  if [ -z "$data" ]; then
    _svc_tmp=$(mktemp -d -t rectiflow-XXXXXX)
    data="$_svc_tmp"
  fi
  mkdir -p "$data"
  if [ -z "${REDIS_URL:-}" ]; then
    ensure_redis_binary
    local rport; rport="${RECTIFLOW_REDIS_PORT:-$(_free_port)}"
    mkdir -p "$data/redis"
    # Production settings: AOF on, noeviction (BullMQ must never lose keys).
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$data/redis" --appendonly yes \
      --maxmemory-policy noeviction --save "" --daemonize no >"$data/redis.log" 2>&1 &
    _svc_pids+=($!)
    _wait_port "$rport" 15 "Redis" "$data/redis.log"
    export REDIS_URL="redis://127.0.0.1:$rport"
    _log "Redis on $REDIS_URL (data in $data/redis)"
  else
    _log "using REDIS_URL=$REDIS_URL"
  fi
  if [ -z "${MONGODB_URI:-}" ]; then
    ensure_ferretdb_binary
    local mport; mport="${RECTIFLOW_MONGO_PORT:-$(_free_port)}"
    mkdir -p "$data/ferretdb"
    "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$data/ferretdb/" --listen-addr="127.0.0.1:$mport" \
      --state-dir="$data/ferretdb" --debug-addr=- --telemetry=disable --log-level=warn >"$data/ferretdb.log" 2>&1 &
    _svc_pids+=($!)
    _wait_port "$mport" 30 "FerretDB" "$data/ferretdb.log"
    export MONGODB_URI="mongodb://127.0.0.1:$mport/rectiflow"
    _log "FerretDB $FERRETDB_VERSION on $MONGODB_URI (data in $data/ferretdb)"
  else
    _log "using MONGODB_URI (a MongoDB server of your own)"
  fi
}

services_down() {
  local pid
  for pid in "${_svc_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${_svc_pids[@]}"; do wait "$pid" 2>/dev/null; done
  _svc_pids=()
  [ -n "$_svc_tmp" ] && rm -rf "$_svc_tmp"
  _svc_tmp=""
}
