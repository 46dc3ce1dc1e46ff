#!/usr/bin/env bash
# Make sure the Debian packages the tests need are installed: PostgreSQL's server (the fixtures start a
# throwaway cluster), Redis's server (tests/test_production.py runs Debian's /usr/bin/redis-server) and Chromium
# (the browser tests drive it with Playwright; Playwright's own browser download does not work on these machines). Nothing is installed when it is already there; PostgreSQL is
# skipped when DATABASE_URL names a server, Chromium when IURAN_SKIP_BROWSER=1.
set -euo pipefail

packages=()
case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*|postgresql+*://*) echo "ensure: using DATABASE_URL; not installing PostgreSQL" ;;
  *) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || packages+=(postgresql) ;;
esac
[ -x /usr/bin/redis-server ] || packages+=(redis-server)
if [ "${IURAN_SKIP_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
fi
[ ${#packages[@]} -eq 0 ] && exit 0

echo "ensure: installing Debian's ${packages[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "ensure: not root and no sudo; install ${packages[*]} yourself (or set DATABASE_URL / IURAN_SKIP_BROWSER=1)" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"

if [[ " ${packages[*]} " == *" postgresql "* ]] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "ensure: postgresql installed but no initdb under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
if [[ " ${packages[*]} " == *" redis-server "* ]] && [ ! -x /usr/bin/redis-server ]; then
  echo "ensure: redis-server installed but not at /usr/bin/redis-server" >&2
  exit 1
fi
if [[ " ${packages[*]} " == *" chromium "* ]] && ! command -v chromium >/dev/null 2>&1; then
  echo "ensure: chromium installed but not on PATH" >&2
  exit 1
fi
