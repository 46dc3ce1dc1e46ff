#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries exist, so the test fixtures can start a throwaway cluster.
# Skipped when DATABASE_URL already names a PostgreSQL server.
set -euo pipefail

case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*|postgresql+*://*)
    echo "ensure_postgres: using DATABASE_URL; not installing PostgreSQL"
    exit 0 ;;
esac

if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  exit 0
fi

echo "ensure_postgres: no /usr/lib/postgresql/*/bin/initdb; installing Debian's postgresql"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "ensure_postgres: not root and no sudo; install postgresql or set DATABASE_URL" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql

if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "ensure_postgres: postgresql installed but no initdb under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
