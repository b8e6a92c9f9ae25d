#!/usr/bin/env bash
# Runs the GraphQL-over-HTTP audit (the graphql-http package, the specification's reference
# implementation) against aidgraph on a fresh SQLite database; fails unless every audit
# passes with no notice, warning or failure. Needs node and npm.
#   scripts/http-audit.sh [PATH/TO/aidgraph]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [ -z "$bin" ]; then
    cargo build -q -p aidgraph --bin aidgraph
    bin="target/debug/aidgraph"
fi
bin="$(realpath "$bin")"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
(cd scripts/http-audit && npm ci --silent --no-audit --no-fund)
cd "$work"
env -u DATABASE_URL RUST_LOG=warn AIDGRAPH_BIND="127.0.0.1:$port" "$bin" serve &
server=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
done
token="$(env -u DATABASE_URL "$bin" token issue --role viewer --ttl 1h)"
cd - >/dev/null
node scripts/http-audit/audit.mjs "http://127.0.0.1:$port/graphql" "$token"
