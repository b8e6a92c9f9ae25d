#!/usr/bin/env bash
# Runs the client examples against aidgraph on a fresh SQLite database: Python with `gql`
# (a query with variables, a mutation, a subscription) and TypeScript with types generated
# from schema.graphql and graphql-ws. Fails if either does. Needs python3 (with venv), node and npm.
#   examples/run.sh [PATH/TO/aidgraph]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
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

(cd "$work" && env -u DATABASE_URL RUST_LOG=warn AIDGRAPH_BIND="127.0.0.1:$port" "$bin" serve) &
server=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
done
token() { (cd "$work" && env -u DATABASE_URL "$bin" token issue --ttl 1h "$@"); }
export AIDGRAPH_URL="http://127.0.0.1:$port/graphql"
AIDGRAPH_VIEWER_TOKEN="$(token --role viewer)"
AIDGRAPH_RECIPIENT_TOKEN="$(token --role recipient --country KE)"
export AIDGRAPH_VIEWER_TOKEN AIDGRAPH_RECIPIENT_TOKEN

echo "== Python (gql)"
venv="$root/target/examples-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r examples/python/requirements.txt
"$venv/bin/python" examples/python/registry_client.py

echo "== TypeScript (GraphQL Code Generator, graphql-ws)"
cd examples/typescript
npm ci --silent --no-audit --no-fund
npm run --silent codegen
npm run --silent typecheck
npm start --silent
