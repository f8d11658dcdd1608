#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest): what the tests need beyond npm packages, from Debian's
# packages, installed when missing and apt-get can (as root or with sudo); otherwise a message saying
# what to install. A Lua interpreter for the Argo CD health checks (lua5.4); MariaDB for the MySQL
# source tests (mariadb-server: the tests start their own servers, hack/mariadb/server.ts); PostGIS
# for Debian's PostgreSQL 15, the target of the spatial MySQL-source tests. The control plane is
# built (and cached) by the tests' own setup the first time.
set -euo pipefail
missing=()
has_lua=''
for lua in lua5.4 lua5.3 lua; do command -v "$lua" >/dev/null && has_lua=1; done
[ -n "$has_lua" ] || missing+=(lua5.4)
{ [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null; } || missing+=(mariadb-server)
if [ -x /usr/lib/postgresql/15/bin/postgres ] && [ ! -e /usr/lib/postgresql/15/lib/postgis-3.so ]; then
  missing+=(postgresql-15-postgis-3)
fi
[ ${#missing[@]} = 0 ] && exit 0
if command -v apt-get >/dev/null; then
  sudo=''
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo='sudo -n'; }
  if [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; then
    echo "installing ${missing[*]} from Debian's packages (for the tests)" >&2
    # The tests never use the system's own MariaDB service (if the package starts one): they start theirs.
    install=($sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}")
    "${install[@]}" >/dev/null 2>&1 || { $sudo apt-get update -qq && "${install[@]}"; }
    exit 0
  fi
fi
echo "the tests need: ${missing[*]} (Debian: apt-get install ${missing[*]}; macOS: brew install lua mariadb postgis)" >&2
exit 1
