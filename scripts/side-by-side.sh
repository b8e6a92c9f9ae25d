#!/usr/bin/env bash
# Runs ../shared/bench/side-by-side.sh (aidgraph against PostGraphile 4, see its README) with
# aidgraph's nested question in today's contract: `Activity.overlaps` is a paged connection, so
# the question reads `overlaps(first: 5) { totalCount nodes { … } }`, as the peer's
# `overlapping(first: 5) { totalCount nodes … }` does. Everything else is the shared script.
#
# usage: scripts/side-by-side.sh [AIDGRAPH_BIN] [ROUNDS]   (default target/release/aidgraph, 2)
# env:   as side-by-side.sh; AIDGRAPH_RESPONSE_CACHE_MIB=0 measures answers computed afresh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$HERE/../shared/bench}
[ -x "$SHARED/side-by-side.sh" ] || [ -f "$SHARED/side-by-side.sh" ] \
  || { echo "no $SHARED/side-by-side.sh (set SHARED_BENCH)" >&2; exit 2; }
BIN=$(realpath "${1:-$HERE/target/release/aidgraph}")
COPY=$(mktemp -d /tmp/aidgraph-side-by-side.XXXXXX)
trap 'rm -rf "$COPY"' EXIT
cp -r "$SHARED/." "$COPY/"
chmod -R u+w "$COPY"
cat >"$COPY/queries/ag-activities-nested.graphql" <<'GRAPHQL'
# aidgraph: 50 activities, each with its reporting organisation, countries, sectors and its
# first 5 overlap flags (the other activity of each pair) — the peer of pg-activities-nested.graphql.
query ActivitiesNested {
  activities(first: 50) {
    nodes {
      id title plannedStart plannedEnd
      budget { amount currency }
      reportingOrg { id name }
      recipientCountries { code percentage }
      sectors { code percentage }
      overlaps(first: 5) { totalCount nodes { score class activityB { id title plannedStart plannedEnd } } }
    }
  }
}
GRAPHQL
bash "$COPY/side-by-side.sh" "$BIN" "${2:-2}"
