#!/usr/bin/env bash
# Starts the services Rectiflow needs on loopback, unless MONGODB_URI / REDIS_URL are given.
# Source it (functions `services_up` / `services_down`) or run scripts/with-services.sh.
#   RECTIFLOW_DATA_DIR  where data lives; unset = a throw-away directory removed on exit
#   RECTIFLOW_PG_FAST=1 no fsync (throw-away test data only: a crash of the machine may corrupt it)
# Redis comes from Debian. The MongoDB-compatible server is FerretDB v2 (built once from the Go module
# proxy) over PostgreSQL 18 with the DocumentDB extension, both Debian packages from testing that run
# from a Debian root filesystem built once with debootstrap. Everything built is cached in
# ~/.cache/rectiflow (RECTIFLOW_CACHE); see docs/database.md.

FERRETDB_VERSION=v2.7.0
PG_MAJOR=18
PG_SUITE="${RECTIFLOW_DEBIAN_SUITE:-testing}"
RECTIFLOW_CACHE="${RECTIFLOW_CACHE:-$HOME/.cache/rectiflow}"
FERRETDB_BIN="$RECTIFLOW_CACHE/ferretdb-$FERRETDB_VERSION"
PG_ROOTFS="$RECTIFLOW_CACHE/rootfs-pg$PG_MAJOR-documentdb"
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
_BYPASS="set MONGODB_URI to a MongoDB 7 server of your own to skip this engine"
# Stop steps, each the name of a function without arguments (what it stops is in the variables below),
# run in order by services_down; one that fails is logged and the rest still run.
_svc_stops=()
_svc_tmp=""
_svc_redis_dir=""
_svc_pg_pid=""
_svc_pg_data=""
_svc_ferretdb_pid=""

_log() { echo "[services] $*" >&2; }
_die() { echo "[services] ERROR: $*" >&2; exit 1; }
_now() { date +%s.%N; }
_since() { awk -v a="$1" -v b="$(_now)" 'BEGIN { printf "%.1f s", b - a }'; }

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

_apt_install() { # why packages...
  local why=$1; shift
  command -v apt-get >/dev/null || _die "$why: apt-get is not available to install $*"
  [ "$(id -u)" = 0 ] || _die "$why: installing $* from Debian needs root"
  _log "installing Debian's $* ($why)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2 \
    || _die "apt-get install $* failed (output above)"
}

ensure_redis_binary() {
  command -v redis-server >/dev/null && return 0
  _apt_install "redis-server is missing (or set REDIS_URL)" redis-server
  # Debian's package may start its own instance on 6379; ours runs on a port of its own, so leave it be.
}

# Redis with production settings: AOF on, noeviction (BullMQ must never lose keys). Its pid file and log
# sit beside its data directory, so the soak (npm run soak) can restart it and services_down stops
# whichever Redis runs on that directory then.
redis_start() { # port datadir
  mkdir -p "$2"
  redis-server --port "$1" --bind 127.0.0.1 --dir "$2" --appendonly yes \
    --maxmemory-policy noeviction --save "" --daemonize no --pidfile "$2.pid" >>"$2.log" 2>&1 &
  _wait_port "$1" 15 "Redis" "$2.log"
}

redis_stop() { # datadir
  local pid i; pid=$(cat "$1.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  # Our own child is reaped by wait; one started by another shell (the soak restarts Redis) is polled until gone.
  wait "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# The soak runs nginx (Debian's package) in front of its web processes, with a configuration of its own.
ensure_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] && return 0
  _apt_install "the soak test puts nginx in front of its web processes" nginx
  # Debian's package may start its own instance on port 80; the soak's runs on a port of its own.
}

# The browser tests drive Debian's chromium (playwright cannot download its own here); CJK fonts
# make screenshots readable.
# Chromium and the CJK fonts it prints with (nothing is fetched at print time), and poppler-utils, whose
# pdfinfo/pdftotext/pdftoppm read the printed 督办通知 back in the tests.
ensure_browser() {
  # grep reads all of fc-list's output: with pipefail, `grep -q` quitting early fails the pipe (and reinstalls each run).
  [ -x /usr/bin/chromium ] && fc-list : family 2>/dev/null | grep -i "Noto Serif CJK" >/dev/null && command -v pdfinfo >/dev/null && command -v pdftoppm >/dev/null && return 0
  _apt_install "the browser tests need chromium, CJK fonts and poppler-utils (or set CHROMIUM_PATH)" chromium fonts-noto-cjk poppler-utils
}

ensure_ferretdb_binary() {
  [ -x "$FERRETDB_BIN" ] && return 0
  command -v go >/dev/null || _die "Go is needed to build FerretDB $FERRETDB_VERSION once; install Go, or $_BYPASS"
  local t0 dir src; t0=$(_now)
  _log "building FerretDB $FERRETDB_VERSION from the Go module proxy (once; cached at $FERRETDB_BIN)"
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB/v2@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') \
    || _die "go mod download github.com/FerretDB/FerretDB/v2@$FERRETDB_VERSION failed (the Go module proxy refused it?)"
  [ -d "$dir" ] || _die "FerretDB module source not found after download"
  src=$(mktemp -d)
  cp -r "$dir/." "$src/" && chmod -R u+w "$src"
  # Without it the binary reports its version as "unknown".
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  mkdir -p "$RECTIFLOW_CACHE"
  (cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath -o "$FERRETDB_BIN.tmp.$$" ./cmd/ferretdb) >&2 \
    || { rm -rf "$src" "$FERRETDB_BIN.tmp.$$"; _die "go build of FerretDB failed (output above)"; }
  mv "$FERRETDB_BIN.tmp.$$" "$FERRETDB_BIN"
  rm -rf "$src"
  _log "FerretDB built in $(_since "$t0")"
}

# A Debian root filesystem with PostgreSQL 18 and DocumentDB (Debian testing has both; the host's
# bookworm has neither). Built into a temporary directory and renamed when complete, under a lock,
# so a half-finished or concurrent attempt is never used.
ensure_pg_rootfs() {
  [ -f "$PG_ROOTFS/.complete" ] && return 0
  [ "$(id -u)" = 0 ] || _die "the PostgreSQL root filesystem $PG_ROOTFS is not built yet, and building it needs root (debootstrap, chroot): run npm start or npm test once as root (later runs can use proot unprivileged), or $_BYPASS"
  mkdir -p "$RECTIFLOW_CACHE"
  exec 8>"$RECTIFLOW_CACHE/rootfs.lock"
  flock 8
  if [ -f "$PG_ROOTFS/.complete" ]; then flock -u 8; return 0; fi
  command -v debootstrap >/dev/null || _apt_install "debootstrap is missing; it builds the PostgreSQL root filesystem" debootstrap
  local t0 tmp="$PG_ROOTFS.tmp"; t0=$(_now)
  if [ -d "$tmp" ]; then
    _log "removing a half-finished root filesystem from an earlier attempt"
    mountpoint -q "$tmp/proc" && umount -l "$tmp/proc"
    rm -rf "$tmp"
  fi
  _log "building a Debian $PG_SUITE root filesystem for PostgreSQL $PG_MAJOR + DocumentDB (once; ~1-2 min, ~700 MB, cached at $PG_ROOTFS)"
  debootstrap --variant=minbase "$PG_SUITE" "$tmp" ${RECTIFLOW_DEBIAN_MIRROR:-} >"$RECTIFLOW_CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$RECTIFLOW_CACHE/debootstrap.log" >&2; _die "debootstrap of Debian $PG_SUITE failed (log: $RECTIFLOW_CACHE/debootstrap.log)"; }
  _log "debootstrap done ($(_since "$t0"))"
  # Nothing may start inside (no init), and no default cluster: ours live in RECTIFLOW_DATA_DIR.
  printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d" && chmod +x "$tmp/usr/sbin/policy-rc.d"
  mkdir -p "$tmp/etc/postgresql-common" && echo "create_main_cluster = false" > "$tmp/etc/postgresql-common/createcluster.conf"
  mount -t proc proc "$tmp/proc"
  local t1 log="$RECTIFLOW_CACHE/rootfs-apt.log"; t1=$(_now)
  # testing's Release file is often older than its Valid-Until on this clock.
  if ! { chroot "$tmp" apt-get -o Acquire::Check-Valid-Until=false update \
      && chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confold "postgresql-$PG_MAJOR" "postgresql-$PG_MAJOR-documentdb" \
      && chroot "$tmp" apt-get clean; } >"$log" 2>&1; then
    umount -l "$tmp/proc"
    tail -n 20 "$log" >&2
    local refused; refused=$(grep -oE "Unable to locate package [^ ]+|Failed to fetch [^ ]+|Package '?[^ ']+'? has no installation candidate" "$log" | head -n 3 | tr '\n' ';')
    _die "installing postgresql-$PG_MAJOR and postgresql-$PG_MAJOR-documentdb in the root filesystem failed${refused:+: $refused} (log: $log); or $_BYPASS"
  fi
  umount -l "$tmp/proc"
  [ -x "$tmp$PG_BIN/postgres" ] || _die "postgres $PG_MAJOR is missing in the root filesystem after install (log: $log)"
  _log "packages installed ($(_since "$t1"))"
  touch "$tmp/.complete"
  mv "$tmp" "$PG_ROOTFS"
  flock -u 8
  _log "root filesystem ready in $(_since "$t0")"
}

# The command prefix that runs a program of the root filesystem as its postgres user, with the
# cluster's data directory visible inside: chroot (and a bind mount, see _pg_mount) as root, proot
# otherwise. A prefix rather than a function, so a program started in the background is our child.
_PG=()
_pg_prefix() { # hostdatadir
  local ids; ids=$(awk -F: '$1 == "postgres" { print $3 ":" $4 }' "$PG_ROOTFS/etc/passwd")
  local env=(env -i HOME=/var/lib/postgresql LANG=C.UTF-8 PATH="$PG_BIN:/usr/bin:/bin")
  if [ "$(id -u)" = 0 ]; then
    _PG=(chroot --userspec="$ids" "$PG_ROOTFS" "${env[@]}")
  else
    command -v proot >/dev/null || _die "proot is needed to run PostgreSQL without root (Debian package proot), or $_BYPASS"
    _PG=(proot -r "$PG_ROOTFS" -i "$ids" -b /proc -b /dev -b "$1:/srv/rectiflow/data" "${env[@]}")
  fi
}

# As root the data directory is bind-mounted into the root filesystem, one mount point per data
# directory; a mount a killed run left behind is cleared first.
_pg_mount() { # hostdatadir
  [ "$(id -u)" = 0 ] || return 0
  # One mount point per data directory: several concurrent runs each get their own.
  local m="$PG_ROOTFS/srv/rectiflow/$(printf '%s' "$(realpath "$1")" | sha1sum | cut -c1-12)"
  mkdir -p "$m"
  if mountpoint -q "$m"; then
    _log "clearing a stale mount of $1 left by a killed run"
    _pg_stop_stale "$1"
    umount -l "$m"
  fi
  mount --bind "$1" "$m" || _die "could not bind-mount $1 into the root filesystem"
  _pg_data_mount="$m"
}

# A postgres a killed run left running on this data directory is stopped (fast shutdown).
_pg_stop_stale() { # hostdatadir
  local pid; pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  _log "stopping PostgreSQL (pid $pid) that a killed run left on $1"
  kill -INT "$pid"
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  _die "PostgreSQL pid $pid on $1 did not stop"
}

start_postgres() { # datadir port
  local data=$1 port=$2 t0 inner; t0=$(_now)
  mkdir -p "$data"
  local ids; ids=$(awk -F: '$1 == "postgres" { print $3 ":" $4 }' "$PG_ROOTFS/etc/passwd")
  [ "$(id -u)" = 0 ] && chown "$ids" "$data"
  chmod 700 "$data"
  _pg_mount "$data"
  _pg_prefix "$data"
  inner="${_pg_data_mount#"$PG_ROOTFS"}"
  [ -n "$inner" ] || inner=/srv/rectiflow/data
  local fresh=0
  if [ ! -f "$data/PG_VERSION" ]; then
    fresh=1
    "${_PG[@]}" initdb -D "$inner" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >"$data/../postgres-initdb.log" 2>&1 \
      || { tail -n 20 "$data/../postgres-initdb.log" >&2; _die "initdb failed (log above)"; }
  else
    _pg_stop_stale "$data"
  fi
  local fast=()
  [ "${RECTIFLOW_PG_FAST:-0}" = 1 ] && fast=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
  "${_PG[@]}" postgres -D "$inner" -c listen_addresses=127.0.0.1 -c port="$port" -c unix_socket_directories=/tmp \
    -c dynamic_shared_memory_type=mmap -c max_connections=300 -c shared_buffers=256MB \
    -c shared_preload_libraries=pg_cron,pg_documentdb_core,pg_documentdb,pg_documentdb_extended_rum \
    -c documentdb.alternate_index_handler_name=extended_rum -c documentdb.defaultUseCompositeOpClass=on \
    -c cron.database_name=postgres -c cron.log_run=off -c cron.log_statement=off \
    "${fast[@]}" >"$data/../postgres.log" 2>&1 &
  local pid=$!
  _svc_pg_pid=$pid
  _svc_pg_data=$data
  _svc_stops+=(_svc_stop_postgres)
  local i
  for ((i = 0; i < 300; i++)); do
    "${_PG[@]}" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc "select 1" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$data/../postgres.log" >&2; _die "PostgreSQL exited at start (log above)"; }
    sleep 0.1
  done
  [ "$i" -lt 300 ] || { tail -n 20 "$data/../postgres.log" >&2; _die "PostgreSQL did not accept connections within 30 s"; }
  "${_PG[@]}" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atqc \
    "CREATE EXTENSION IF NOT EXISTS documentdb CASCADE; CREATE EXTENSION IF NOT EXISTS documentdb_extended_rum" >>"$data/../postgres.log" 2>&1 \
    || { tail -n 20 "$data/../postgres.log" >&2; _die "CREATE EXTENSION documentdb failed (log above)"; }
  # Tests and benchmarks read plans and refresh statistics through it (test/support/plans.ts).
  export RECTIFLOW_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  _log "PostgreSQL $PG_MAJOR + DocumentDB on 127.0.0.1:$port ($([ $fresh = 1 ] && echo new || echo existing) cluster in $data, $(_since "$t0"))"
}

_stop_postgres() { # pid datadir
  # The postmaster by its own pid file: under proot our child is proot, which does not pass signals on.
  local pm; pm=$(head -n 1 "$2/postmaster.pid" 2>/dev/null)
  kill -INT "${pm:-$1}" 2>/dev/null
  wait "$1" 2>/dev/null
  if [ -n "$_pg_data_mount" ]; then umount -l "$_pg_data_mount" 2>/dev/null && rmdir "$_pg_data_mount" 2>/dev/null; fi
  _pg_data_mount=""
}

_stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

_svc_stop_redis() { redis_stop "$_svc_redis_dir"; }
_svc_stop_postgres() { _stop_postgres "$_svc_pg_pid" "$_svc_pg_data"; }
_svc_stop_ferretdb() { _stop_pid "$_svc_ferretdb_pid"; }

services_up() {
  local data="${RECTIFLOW_DATA_DIR:-}" t0
  if [ -z "$data" ]; then
    _svc_tmp=$(mktemp -d -t rectiflow-XXXXXX)
    data="$_svc_tmp"
  fi
  mkdir -p "$data"
  data=$(realpath "$data")
  if [ -z "${REDIS_URL:-}" ]; then
    ensure_redis_binary
    t0=$(_now)
    local rport; rport="${RECTIFLOW_REDIS_PORT:-$(_free_port)}"
    # Registered first: a signal while it starts still stops it (redis_stop reads its pid file).
    _svc_redis_dir="$data/redis"
    _svc_stops+=(_svc_stop_redis)
    redis_start "$rport" "$data/redis"
    export REDIS_URL="redis://127.0.0.1:$rport"
    # Where its data lives: the soak restarts it on the same port and directory.
    export RECTIFLOW_REDIS_DIR="$data/redis"
    _log "Redis on $REDIS_URL (data in $data/redis, $(_since "$t0"))"
  else
    _log "using REDIS_URL=$REDIS_URL"
  fi
  if [ -z "${MONGODB_URI:-}" ]; then
    ensure_ferretdb_binary
    ensure_pg_rootfs
    local pport mport; pport="${RECTIFLOW_PG_PORT:-$(_free_port)}"
    start_postgres "$data/postgres" "$pport"
    t0=$(_now)
    mport="${RECTIFLOW_MONGO_PORT:-$(_free_port)}"
    mkdir -p "$data/ferretdb"
    "$FERRETDB_BIN" --postgresql-url="postgres://postgres@127.0.0.1:$pport/postgres" --listen-addr="127.0.0.1:$mport" \
      --state-dir="$data/ferretdb" --debug-addr=- --telemetry=disable --no-auth --log-level=warn >"$data/ferretdb.log" 2>&1 &
    # FerretDB first, so PostgreSQL's fast shutdown finds no client.
    _svc_ferretdb_pid=$!
    _svc_stops=(_svc_stop_ferretdb "${_svc_stops[@]}")
    _wait_port "$mport" 30 "FerretDB" "$data/ferretdb.log"
    export MONGODB_URI="mongodb://127.0.0.1:$mport/rectiflow"
    _log "FerretDB $FERRETDB_VERSION on $MONGODB_URI ($(_since "$t0"))"
  else
    _log "using MONGODB_URI (a MongoDB server of your own)"
  fi
}

# Runs every stop step, whichever fails (a step is a condition of ||, so set -e stops nothing inside it);
# returns 1 when one did, after all have run.
services_down() {
  local stop status failed=0
  for stop in "${_svc_stops[@]}"; do
    status=0
    "$stop" || status=$?
    [ "$status" = 0 ] || { _log "stop step $stop failed (status $status); stopping the rest"; failed=1; }
  done
  _svc_stops=()
  if [ -n "$_svc_tmp" ]; then rm -rf "$_svc_tmp" || { _log "could not remove $_svc_tmp"; failed=1; }; fi
  _svc_tmp=""
  return "$failed"
}
