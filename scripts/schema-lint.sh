#!/usr/bin/env bash
# Lints schema.graphql with graphql-schema-linter's default rules (every type, field,
# argument and enum value described; fields and values in order); fails on any finding.
# Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd scripts/schema-lint && npm ci --silent --no-audit --no-fund)
scripts/schema-lint/node_modules/.bin/graphql-schema-linter schema.graphql
