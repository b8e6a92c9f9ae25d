# Sourced by scripts that drive a running aidgraph: builds it (unless a binary is given),
# starts `aidgraph serve` on a fresh SQLite database in a temporary directory on a free
# loopback port, waits for /readyz, and stops it and removes the directory on exit.
# Sets: bin, work, port, url; defines token ARGS… (aidgraph token issue --ttl 1h ARGS…).
#   . scripts/serve-fresh.sh [PATH/TO/aidgraph]
bin="${1:-}"
if [ -z "$bin" ]; then
    cargo build -q -p aidgraph --bin aidgraph
    bin="${CARGO_TARGET_DIR:-target}/debug/aidgraph"
fi
bin="$(realpath "$bin")"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port/graphql"
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
