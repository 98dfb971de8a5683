#!/usr/bin/env bash
# The dashboard's history over a large store: fills a broker store with N
# requests (default 1,000,000: a year of requests from 500 users on 2,000 hosts,
# 50 rules, 40 approvers, with votes), then times filtered history pages as the
# broker measures them (Server-Timing) and over HTTP. Goal: <= 200 ms server time
# for a filtered page.
# Usage: bench/dashboard-history.sh [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-1000000}"
if [ -z "${GATE:-}" ]; then
  (cd "$root" && cargo build --release --locked --quiet --bin gate)
  GATE="${CARGO_TARGET_DIR:-$root/target}/release/gate"
fi
work="$(mktemp -d)"
export GATE_HOME="$work/home"
config="$work/broker.toml"
{
  printf 'version = 1\nrequire_enrollment = false\n'
  for i in $(seq 0 39); do printf '[people.p%s]\n' "$i"; done
  printf '[people.auditor]\n[defaults]\napprovers = ["p0"]\n[dashboard]\nauditors = ["auditor"]\n'
} > "$config"
chmod 600 "$config"

start() {
  "$GATE" serve --listen 127.0.0.1:0 --config "$config" 2> "$work/broker.log" &
  pid=$!
  for _ in $(seq 600); do
    url="$(sed -n 's/^gate serve: listening on //p' "$work/broker.log")"
    [ -n "$url" ] && return
    sleep 0.1
  done
  cat "$work/broker.log" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
trap 'kill "${pid:-0}" 2>/dev/null; rm -rf "$work"' EXIT

start; stop   # creates the store, its tables, the dashboard's index and triggers
python3 "$root/bench/dashboard-history.py" fill "$GATE_HOME/broker/broker.db" "$n"
echo "store: $(du -sh "$GATE_HOME/broker" | cut -f1) for $n requests" >&2
start
cookie() {
  local token
  token="$("$GATE" serve token create "$1" --config "$config")"
  curl -s -o /dev/null -D - --data-urlencode "token=$token" "$url/dashboard/signin" \
    | sed -n 's/^[Ss]et-[Cc]ookie: gate_session=\([^;]*\).*/\1/p'
}
python3 "$root/bench/dashboard-history.py" time "$url" "$(cookie auditor)" "$(cookie p3)"
stop
