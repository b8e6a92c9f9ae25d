#!/usr/bin/env bash
# Browser tests of the coordination desk (tests/desk/desk_test.py): starts `aidgraph serve` on
# a fresh demo registry — SQLite by default, or PostgreSQL with --postgres — and drives /desk
# in headless Chromium (Debian's `chromium`, installed when missing) with Playwright for
# Python (in a venv under target/). Screenshots go to target/desk-screenshots/<database>/.
#   scripts/desk-test.sh [--postgres URL] [PATH/TO/aidgraph]
# URL names a PostgreSQL server's database the script may drop and recreate databases beside
# (it uses `aidgraph_desk`), e.g. postgres://postgres@127.0.0.1:5432/test.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

postgres=""
if [ "${1:-}" = "--postgres" ]; then
    postgres="$2"
    shift 2
fi
bin="${1:-}"
if [ -z "$bin" ]; then
    cargo build -q -p aidgraph --bin aidgraph
    bin="${CARGO_TARGET_DIR:-target}/debug/aidgraph"
fi
bin="$(realpath "$bin")"

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium"
    apt-get install -y -q chromium >/dev/null 2>&1 \
        || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)
fi
chromium="$(command -v chromium)"

venv="$root/target/desk-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r tests/desk/requirements.txt

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -n "$postgres" ]; then
    database="aidgraph_desk"
    PGOPTIONS="--client-min-messages=warning" psql -q -v ON_ERROR_STOP=1 "$postgres" \
        -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
    export DATABASE_URL="${postgres%/*}/$database"
    export AIDGRAPH_JWT_SECRET
    AIDGRAPH_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
    label="postgres"
else
    unset DATABASE_URL AIDGRAPH_JWT_SECRET
    label="sqlite"
fi
shots="$root/target/desk-screenshots/$label"
rm -rf "$shots"
(cd "$work" && RUST_LOG=warn "$bin" demo >/dev/null)

echo "== desk in Chromium on $label ($chromium)"
AIDGRAPH_BIN="$bin" AIDGRAPH_DESK_WORK="$work" AIDGRAPH_DESK_SHOTS="$shots" \
    AIDGRAPH_CHROMIUM="$chromium" "$venv/bin/python" tests/desk/desk_test.py
