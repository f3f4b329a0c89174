#!/usr/bin/env bash
# Runs a command with Redis and a MongoDB-compatible server up (see scripts/services.sh),
# and stops them when the command ends. Usage: scripts/with-services.sh [--browser|--nginx] CMD [ARGS...]
# (--browser also makes sure chromium is installed, for the browser tests; --nginx that nginx is, for the soak).
# SIGINT or SIGTERM is passed on to the command as SIGTERM; the services stop once it has ended.
set -euo pipefail
# Job control: the services and the command run in process groups of their own, so Ctrl-C at a terminal
# reaches this shell alone, which passes it on; the services are not stopped under a command still draining.
set -m
cd "$(dirname "$0")/.."
source scripts/services.sh
trap services_down EXIT
trap 'exit 130' INT TERM
if [ "${1:-}" = "--browser" ]; then
  shift
  [ -n "${CHROMIUM_PATH:-}" ] || ensure_browser
elif [ "${1:-}" = "--nginx" ]; then
  shift
  ensure_nginx
fi
services_up
# In the background, so that a signal reaches this shell at once (it would wait for a command in the
# foreground to end first) and is passed on; the command keeps this shell's standard input.
PATH="$PWD/node_modules/.bin:$PATH" "$@" <&0 &
command_pid=$!
signalled=""
trap 'signalled=1; kill -TERM "$command_pid" 2>/dev/null || true' INT TERM
while :; do
  signalled=""
  status=0
  wait "$command_pid" || status=$?
  # wait returns early when a signal arrived; the command is still draining.
  [ -n "$signalled" ] && kill -0 "$command_pid" 2>/dev/null || break
done
exit "$status"
