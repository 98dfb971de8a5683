#!/usr/bin/env bash
# Load on one broker: 1,000 requests long-polling at once (broker RSS), then
# create+approve round trips per second.
# Usage: bench/broker-load.sh [WAITING] [ROUNDS] [CONCURRENCY]   (defaults 1000 5000 32)
source "$(dirname "$0")/common.sh"
source "$root/bench/broker.sh"
(cd "$root" && cargo build --release --locked --quiet --bench broker_load)
load="$(ls -t "$root"/target/release/deps/broker_load-* | grep -v '\.d$' | head -1)"

start_broker 10m
token="$(alice_token)"
# A thousand waiting connections need more than the common soft limit of 1024 files.
ulimit -n "$(ulimit -Hn)"
"$load" "$BROKER_URL" "$token" "$BROKER_PID" "${1:-1000}" "${2:-5000}" "${3:-32}"
