#!/usr/bin/env bash
# Runs a command with Redis and a MongoDB-compatible server up (see scripts/services.sh),
# and stops them when the command ends. Usage: scripts/with-services.sh [--browser|--nginx] CMD [ARGS...]
# (--browser also makes sure chromium is installed, for the browser tests; --nginx that nginx is, for the soak).
set -euo pipefail
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
PATH="$PWD/node_modules/.bin:$PATH" "$@"
