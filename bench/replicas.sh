#!/usr/bin/env bash
# Two broker replicas on one PostgreSQL database (a throwaway cluster, fsync and
# synchronous_commit as PostgreSQL ships them), against one broker on its SQLite
# file, under the same load (bench/broker_load.rs):
#   1. WAITING requests long-polling at once, spread over the replicas (RSS of each);
#   2. create+approve round trips per second, created on one replica and approved
#      on the other;
#   3. approval answered -> waiter answered, p50/p99, waiter on the other replica;
# then `gate approve` on replica B -> the command gate waits with on replica A
# starts (p50/p90).
# Usage: bench/replicas.sh [WAITING] [ROUNDS] [CONCURRENCY]   (defaults 10000 5000 32)
source "$(dirname "$0")/common.sh"
source "$root/bench/broker.sh"
waiting="${1:-10000}" rounds="${2:-5000}" concurrency="${3:-32}"
(cd "$root" && RUSTFLAGS="$flags" cargo build --release --locked --quiet --target "$target" --bench broker_load)
load="$(ls -t "$target_dir/$target"/release/deps/broker_load-* | grep -v '\.d$' | head -1)"
ulimit -n "$(ulimit -Hn)"

# PostgreSQL refuses to run as root: as root the cluster belongs to `gatepg`.
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$pgbin/initdb" ] || { echo "bench: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
pgdir="$(mktemp -d /tmp/gate-bench-pg.XXXXXX)"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id gatepg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin gatepg
  chown gatepg "$pgdir"
  as_pg=(runuser -u gatepg --)
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U gate --auth=trust -E UTF8 --no-locale >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-k $pgdir -p $port -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
stop_all() {
  kill "${BROKER_PID:-}" "${REPLICA_PID:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work" "$pgdir"
}
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$port" -U gate -d postgres -c 'CREATE DATABASE gate'
url="postgres://gate@127.0.0.1:$port/gate?sslmode=disable"

limits="$(printf '[limits]\nmax_pending = 100000\nmax_pending_per_requester = 100000\n')"
echo "== one broker, SQLite"
BROKER_EXTRA_CONFIG="$limits"
start_broker 30m
trap stop_all EXIT
"$load" "$BROKER_URL" "$(alice_token)" "$BROKER_PID" "$waiting" "$rounds" "$concurrency"
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true

echo "== two replicas, PostgreSQL"
BROKER_EXTRA_CONFIG="$limits$(printf '\n[store]\nurl = "%s"\n' "$url")"
start_broker 30m
trap stop_all EXIT
"$GATE" serve --listen 127.0.0.1:0 --config "$BROKER_CONFIG" 2> "$work/replica.log" &
REPLICA_PID=$!
for _ in $(seq 100); do
  REPLICA_URL="$(sed -n 's/^gate serve: listening on //p' "$work/replica.log")"
  [ -n "$REPLICA_URL" ] && break
  sleep 0.1
done
"$load" "$BROKER_URL,$REPLICA_URL" "$(alice_token)" "$BROKER_PID,$REPLICA_PID" "$waiting" "$rounds" "$concurrency"

# The whole path: gate waits on A; `gate approve` is run against B.
"$GATE" serve pubkey > "$work/broker.pub"
chmod 600 "$work/broker.pub"
printf 'version = 1\ndefault = "approve"\nopaque = "approve"\n' > "$work/policy.toml"
chmod 600 "$work/policy.toml"
GATE_TOKEN="$(alice_token)" GATE_POLICY="$work/policy.toml" GATE_SERVER_KEY="$work/broker.pub" \
python3 - "$GATE" 50 "$work" "$BROKER_URL" "$REPLICA_URL" <<'PY'
import json, os, statistics, subprocess, sys, time
gate, rounds, work, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
on = lambda url: dict(os.environ, GATE_SERVER=url)
latencies = []
for i in range(rounds):
    started = f"{work}/started-{i}"
    waiting = subprocess.Popen([gate, "--", "sh", "-c", f"date +%s%N > {started}"], env=on(a),
                               stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    request, deadline = None, time.time() + 10
    while request is None and time.time() < deadline:
        listing = json.loads(subprocess.check_output([gate, "pending", "--json"], env=on(b)))
        request = next((r["id"] for r in listing["requests"]), None)
        if request is None:
            time.sleep(0.01)
    assert request, "the request never reached replica B"
    subprocess.run([gate, "approve", request], check=True, stdout=subprocess.DEVNULL, env=on(b))
    returned = time.time_ns()
    assert waiting.wait(timeout=10) == 0, "the approved command failed"
    latencies.append((int(open(started).read()) - returned) / 1e6)
latencies.sort()
print(f"{rounds} approvals on replica B: approve returned -> command (waiting on A) started: "
      f"median {statistics.median(latencies):.1f} ms, "
      f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.1f} ms, max {latencies[-1]:.1f} ms "
      "(target: median <= 50 ms)")
PY
