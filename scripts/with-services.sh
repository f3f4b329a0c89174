#!/usr/bin/env bash
# Runs a command with Redis and a MongoDB-compatible server up (see scripts/services.sh),
# and stops them when the command ends. Usage: scripts/with-services.sh CMD [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
trap services_down EXIT
trap 'exit 130' INT TERM
services_up
PATH="$PWD/node_modules/.bin:$PATH" "$@"
