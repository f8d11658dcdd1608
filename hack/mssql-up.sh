#!/usr/bin/env bash
# For machines with Docker only (none runs on ferry's CI, where the SQL Server suite is skipped): SQL
# Server 2022 in a container on a loopback port, with a generated sa password, for the SQL Server
# end-to-end suite. Waits until it accepts logins, then prints the variable to export:
#   eval "$(hack/mssql-up.sh)" && npx vitest run engine/source/mssql
# MSSQL_PORT (default 14330) and MSSQL_CONTAINER (default ferry-mssql) choose the port and the
# container, which is replaced if it exists. Remove it afterwards: docker rm -f ferry-mssql
set -euo pipefail
name=${MSSQL_CONTAINER:-ferry-mssql}
port=${MSSQL_PORT:-14330}
image=mcr.microsoft.com/mssql/server:2022-latest
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "hack/mssql-up.sh: no running Docker engine here, so no SQL Server can be started;" \
    "set FERRY_MSSQL_URL to a server you have instead (format in test/support/mssql.ts)" >&2
  exit 1
fi
# SQL Server's password policy wants upper and lower case, digits and a symbol; URL-safe as it is.
password="Fy1-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export MSSQL_SA_PASSWORD=$password MSSQL_PORT=$port
docker rm -f "$name" >/dev/null 2>&1 || true
# The password travels in the environment (-e NAME without a value), never in a process's arguments.
docker run -d --name "$name" -e ACCEPT_EULA=Y -e MSSQL_SA_PASSWORD -p "127.0.0.1:$port:1433" "$image" >/dev/null
# A login with tedious (the repository's own driver): the server takes a while to start.
probe="
const { createRequire } = require('node:module');
const { Connection } = createRequire('$root/')('tedious');
const c = new Connection({
  server: '127.0.0.1',
  authentication: { type: 'default', options: { userName: 'sa', password: process.env.MSSQL_SA_PASSWORD } },
  options: { port: Number(process.env.MSSQL_PORT), encrypt: true, trustServerCertificate: true, connectTimeout: 5000 },
});
c.on('error', () => {});
c.connect((err) => { c.close(); process.exit(err ? 1 : 0); });
"
for _ in $(seq 1 90); do
  if node -e "$probe" >/dev/null 2>&1; then
    echo "export FERRY_MSSQL_URL='mssql://sa:$password@127.0.0.1:$port/master?sslmode=require'"
    exit 0
  fi
  sleep 2
done
echo "hack/mssql-up.sh: SQL Server in container $name did not accept a login within 3 minutes; its log ends:" >&2
docker logs --tail 30 "$name" >&2 || true
exit 1
