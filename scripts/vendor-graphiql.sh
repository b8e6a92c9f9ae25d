#!/usr/bin/env bash
# Refreshes the GraphiQL build that aidgraph serves from inside its binary
# (crates/api/assets/graphiql): GraphiQL, React and ReactDOM at pinned versions, with their
# licences. Needs npm; the service itself never does.
#   scripts/vendor-graphiql.sh [GRAPHIQL_VERSION] [REACT_VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
graphiql="${1:-3.9.0}"
react="${2:-18.3.1}"
out="crates/api/assets/graphiql"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund \
    "graphiql@$graphiql" "react@$react" "react-dom@$react")
modules="$work/node_modules"
cp "$modules/graphiql/graphiql.min.js" "$modules/graphiql/graphiql.min.css" \
   "$modules/react/umd/react.production.min.js" \
   "$modules/react-dom/umd/react-dom.production.min.js" "$out/"
{
    echo "# Licences of the GraphiQL assets served by aidgraph"
    for package in graphiql react react-dom; do
        version="$(node -p "require('$modules/$package/package.json').version")"
        printf '\n## %s %s\n\n' "$package" "$version"
        cat "$modules/$package"/LICENSE*
    done
} > "$out/LICENSES.md"
echo "GraphiQL $graphiql and React $react copied to $out"
