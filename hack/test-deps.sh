#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest): what the tests need beyond npm packages. A Lua interpreter
# for the Argo CD health checks, from Debian's lua5.4 package, installed when missing and apt-get
# can (as root or with sudo); otherwise a message saying what to install. The control plane is built
# (and cached) by the tests' own setup the first time.
set -euo pipefail
for lua in lua5.4 lua5.3 lua; do command -v "$lua" >/dev/null && exit 0; done
if command -v apt-get >/dev/null; then
  sudo=''
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo='sudo -n'; }
  if [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; then
    echo "installing lua5.4 from Debian's packages (for the Argo CD health-check tests)" >&2
    $sudo apt-get install -y -qq lua5.4 >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq lua5.4; }
    exit 0
  fi
fi
echo "the tests need a Lua interpreter (Debian: apt-get install lua5.4; macOS: brew install lua)" >&2
exit 1
