#!/usr/bin/env bash
# Runs the GraphQL-over-HTTP audit (the graphql-http package, the specification's reference
# implementation) against aidgraph on a fresh SQLite database; fails unless every audit
# passes with no notice, warning or failure. Needs node and npm.
#   scripts/http-audit.sh [PATH/TO/aidgraph]
set -euo pipefail
cd "$(dirname "$0")/.."
(cd scripts/http-audit && npm ci --silent --no-audit --no-fund)
. scripts/serve-fresh.sh "${1:-}"
node scripts/http-audit/audit.mjs "$url" "$(token --role viewer)"
