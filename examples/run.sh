#!/usr/bin/env bash
# Runs the client examples against aidgraph on a fresh SQLite database: Python with `gql`
# (a query with variables, a mutation, a subscription) and TypeScript with types generated
# from schema.graphql and graphql-ws. Fails if either does. Needs python3 (with venv), node and npm.
#   examples/run.sh [PATH/TO/aidgraph]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
. scripts/serve-fresh.sh "${1:-}"
export AIDGRAPH_URL="$url"
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
