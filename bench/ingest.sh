#!/usr/bin/env bash
# Ledger ingest throughput: audit records verified (the installation's ed25519
# signature, the record hash, the chain, and the broker's own signature on each
# approval) and stored per second by one broker, through POST /v1/audit/records on
# 127.0.0.1. The installations are pinned in broker.toml ([installations.NAME]
# audit_key); each pushes its log in ~40 KB batches, all at once. Every run starts
# from an empty ledger with the same records.
# Usage: bench/ingest.sh [RECORDS] [INSTALLATIONS]   (defaults 50000 4; ROUNDS=1)
#        BASELINE=/path/to/old/gate bench/ingest.sh   also runs an older build, in turn
source "$(dirname "$0")/common.sh"
source "$root/bench/broker.sh"
records="${1:-50000}"
installations="${2:-4}"
(cd "$root" && RUSTFLAGS="$flags" cargo build --release --locked --quiet --target "$target" --bench ingest)
ingest="$(ls -t "$target_dir/$target"/release/deps/ingest-* | grep -v '\.d$' | head -1)"

# The logs, and the broker key their approvals are signed with (in GATE_HOME).
"$ingest" prepare "$work/logs" "$records" "$installations"
BROKER_EXTRA_CONFIG=""
for pem in "$work"/logs/*.pem; do
  BROKER_EXTRA_CONFIG+="$(printf '[installations.%s]\naudit_key = "%s"' "$(basename "$pem" .pem)" "$pem")"$'\n'
done

run() { # run LABEL BINARY
  GATE="$2" start_broker 10m
  echo "$1:"
  "$ingest" push "$BROKER_URL" "$work/logs" "$installations" "$BROKER_PID"
  echo "broker peak RSS $(sed -n 's/^VmHWM:\s*//p' "/proc/$BROKER_PID/status")"
  kill "$BROKER_PID"
  wait "$BROKER_PID" 2>/dev/null || true
  rm -f "$GATE_HOME"/broker/broker.db*
}
for _ in $(seq "${ROUNDS:-1}"); do
  [ -n "${BASELINE:-}" ] && run baseline "$BASELINE"
  run gate "$GATE"
done
