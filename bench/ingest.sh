#!/usr/bin/env bash
# Ledger ingest throughput: audit records verified (ed25519 signature, hash, chain)
# and stored per second by one broker, through POST /v1/audit/records on 127.0.0.1.
# The installations are pinned in broker.toml ([installations.NAME] audit_key).
# Usage: bench/ingest.sh [RECORDS] [INSTALLATIONS]   (defaults 50000 4)
source "$(dirname "$0")/common.sh"
source "$root/bench/broker.sh"
records="${1:-50000}"
installations="${2:-4}"
(cd "$root" && RUSTFLAGS="$flags" cargo build --release --locked --quiet --target "$target" --bench ingest)
ingest="$(ls -t "$target_dir/$target"/release/deps/ingest-* | grep -v '\.d$' | head -1)"

"$ingest" prepare "$work/logs" "$records" "$installations"
BROKER_EXTRA_CONFIG=""
for pem in "$work"/logs/*.pem; do
  BROKER_EXTRA_CONFIG+="$(printf '[installations.%s]\naudit_key = "%s"' "$(basename "$pem" .pem)" "$pem")"$'\n'
done
start_broker 10m
"$ingest" push "$BROKER_URL" "$work/logs" "$installations" "$BROKER_PID"
echo "broker peak RSS: $(sed -n 's/^VmHWM:\s*//p' "/proc/$BROKER_PID/status")"
