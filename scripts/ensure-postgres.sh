#!/usr/bin/env bash
# Makes sure a PostgreSQL server binary (initdb, pg_ctl) is on this machine, installing
# Debian's package when it is missing. The tests start their own throwaway cluster with it.
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ]; then exit 0; fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
echo "PostgreSQL server not found: installing Debian's postgresql package" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq postgresql >/dev/null
