#!/usr/bin/env bash
# From `gate approve` returning to the wrapped command starting, on loopback.
# Usage: bench/approval-latency.sh [ROUNDS]   (default 30)
source "$(dirname "$0")/common.sh"
source "$root/bench/broker.sh"

start_broker 5m
export GATE_TOKEN="$(alice_token)"
"$GATE" serve pubkey > "$work/broker.pub"
chmod 600 "$work/broker.pub"
printf 'version = 1\ndefault = "approve"\nopaque = "approve"\n' > "$work/policy.toml"
chmod 600 "$work/policy.toml"
export GATE_POLICY="$work/policy.toml" GATE_SERVER="$BROKER_URL" GATE_SERVER_KEY="$work/broker.pub"

python3 - "$GATE" "${1:-30}" "$work" <<'PY'
import json, statistics, subprocess, sys, time
gate, rounds, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
latencies = []
for i in range(rounds):
    started = f"{work}/started-{i}"
    # The wrapped command writes the wall-clock time it started at.
    waiting = subprocess.Popen([gate, "--", "sh", "-c", f"date +%s%N > {started}"],
                               stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    request = None
    deadline = time.time() + 10
    while request is None and time.time() < deadline:
        listing = json.loads(subprocess.check_output([gate, "pending", "--json"]))
        request = next((r["id"] for r in listing["requests"]), None)
        if request is None:
            time.sleep(0.01)
    assert request, "the request never reached the broker"
    subprocess.run([gate, "approve", request], check=True, stdout=subprocess.DEVNULL)
    returned = time.time_ns()
    assert waiting.wait(timeout=10) == 0, "the approved command failed"
    latencies.append((int(open(started).read()) - returned) / 1e6)
latencies.sort()
print(f"{rounds} approvals: approve returned -> command started: "
      f"median {statistics.median(latencies):.1f} ms, "
      f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.1f} ms, max {latencies[-1]:.1f} ms "
      "(target: median < 100 ms)")
PY
