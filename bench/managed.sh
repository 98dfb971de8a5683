#!/usr/bin/env bash
# Managed mode on the allow path: `gate -- true` under one 100-rule policy text
#   (1) unmanaged: the policy a local file, through GATE_POLICY;
#   (2) managed, cached: the broker's signed copy in $GATE_HOME/cache, younger than
#       refresh = "1h", so no network call (the signature is verified every call);
#   (3) managed, refresh = "0s": a fetch from the local broker on every call
#       (for information: what a call costs when the cached copy is stale).
# Each setup has its own GATE_HOME; the broker has another.
# Usage: bench/managed.sh   (needs hyperfine; installs it as root)
#        ROUNDS=10 RUNS=60 by default: RUNS calls of each setup per round.
source "$(dirname "$0")/common.sh"

if [ -e /etc/gate/managed.toml ]; then
  echo "bench: /etc/gate/managed.toml exists, so every gate here is managed;" \
    "setup (1) cannot be measured" >&2
  exit 1
fi
unset GATE_POLICY GATE_SERVER

python3 "$root/bench/gen-policy.py" 100 > "$work/policy.toml"
chmod 600 "$work/policy.toml"

# The broker: its own home, serving the same policy text, signed.
broker_home="$work/broker-home"
mkdir -p "$broker_home"
cp "$work/policy.toml" "$work/org.toml"
printf 'version = 1\nrequire_enrollment = false\n[people.alice]\nunix = "alice"\n[defaults]\napprovers = ["alice"]\nquorum = 1\ntimeout = "1m"\n[policy]\nfile = "org.toml"\n' \
  > "$work/broker.toml"
chmod 600 "$work/broker.toml" "$work/org.toml"
broker_pid=
cleanup() {
  if [ -n "$broker_pid" ]; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
GATE_HOME="$broker_home" "$GATE" serve --listen 127.0.0.1:0 --config "$work/broker.toml" \
  2> "$work/broker.log" &
broker_pid=$!
broker_url=
for _ in $(seq 100); do
  broker_url="$(sed -n 's/^gate serve: listening on //p' "$work/broker.log")"
  [ -n "$broker_url" ] && break
  kill -0 "$broker_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$broker_url" ]; then
  echo "bench: the broker did not start; its log:" >&2
  cat "$work/broker.log" >&2
  exit 1
fi
GATE_HOME="$broker_home" "$GATE" serve pubkey > "$work/broker.pub"
chmod 600 "$work/broker.pub"

home_local="$work/home-local"
home_cached="$work/home-cached"
home_fetch="$work/home-fetch"
mkdir -p "$home_local" "$home_cached" "$home_fetch"
chmod 700 "$home_local" "$home_cached" "$home_fetch"
manage() {  # manage HOME REFRESH
  printf 'url = "%s"\nserver_key = "%s"\nrefresh = "%s"\n' "$broker_url" "$work/broker.pub" "$2" \
    > "$1/managed.toml"
  chmod 600 "$1/managed.toml"
}
manage "$home_cached" 1h
manage "$home_fetch" 0s

# One call each creates the key, the audit log and the compiled-policy cache, and
# in managed mode fetches the policy; then check that each setup decides under the
# policy it should.
GATE_HOME="$home_local" GATE_POLICY="$work/policy.toml" "$GATE" -- true
GATE_HOME="$home_cached" "$GATE" -- true
GATE_HOME="$home_fetch" "$GATE" -- true
version="$(sha256sum < "$work/policy.toml" | cut -d' ' -f1)"
for setup in "$home_local" "$home_cached" "$home_fetch"; do
  [ "$setup" = "$home_local" ] && policy="$work/policy.toml" || policy=
  json="$(GATE_HOME="$setup" GATE_POLICY="$policy" "$GATE" check --json -- true)"
  python3 - "$json" "$version" "$setup" <<'PY'
import json, sys
out, version, setup = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
managed = not setup.endswith("home-local")
if out["decision"] != "allow" or out["policy_version"] != version \
        or ("organisation policy" in out["policy"]) != managed:
    sys.exit(f"bench: {setup} does not decide as expected: {out}")
PY
done
[ -f "$home_cached/cache/org-policy.json" ] \
  || { echo "bench: managed mode wrote no cached policy" >&2; exit 1; }
stamp() { stat -c %y "$1/cache/org-policy.json"; }
cached_at="$(stamp "$home_cached")"
fetched_at="$(stamp "$home_fetch")"

measure() {  # measure NAME ROUND HOME [GATE_POLICY]
  GATE_HOME="$3" GATE_POLICY="${4:-}" hyperfine -N --style none --warmup 20 \
    --runs "${RUNS:-60}" --export-json "$work/$1-$2.json" -n "$1" "$GATE -- true" \
    >/dev/null 2>"$work/hyperfine.err" || { cat "$work/hyperfine.err" >&2; exit 1; }
}
# Interleaved rounds, as in overhead.sh: a machine that speeds up or slows down
# during the run affects every setup alike.
rounds="${ROUNDS:-10}"
for r in $(seq "$rounds"); do
  measure local "$r" "$home_local" "$work/policy.toml"
  measure cached "$r" "$home_cached"
  measure fetch "$r" "$home_fetch"
done
# The cache file is rewritten only by a fetch: setup (2) must not have fetched, and
# setup (3) must have (a broker that went away would leave it deciding, more
# quickly, under its cached copy).
[ "$(stamp "$home_cached")" = "$cached_at" ] \
  || { echo "bench: setup (2) fetched the policy; its cached copy was rewritten" >&2; exit 1; }
if ! kill -0 "$broker_pid" 2>/dev/null || [ "$(stamp "$home_fetch")" = "$fetched_at" ]; then
  echo "bench: the broker stopped answering during the run; its log:" >&2
  cat "$work/broker.log" >&2
  exit 1
fi

python3 - "$work" "$rounds" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, math, statistics as st, sys
work, rounds, cpus, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
names = {"local": "(1) unmanaged, GATE_POLICY", "cached": "(2) managed, cached copy",
         "fetch": "(3) managed, refresh = 0s"}
times, means, cpu = {}, {}, {}
for key in names:
    times[key], means[key], cpu[key] = [], [], []
    for r in range(1, rounds + 1):
        result = json.load(open(f"{work}/{key}-{r}.json"))["results"][0]
        times[key] += [t * 1000 for t in result["times"]]
        means[key].append(result["mean"] * 1000)
        cpu[key].append((result["user"] + result["system"]) * 1000)
print(f"gate -- true, {rounds} rounds x {len(times['local']) // rounds} calls per setup; "
      f"{cpus} CPUs, load average at the end {load}")
print("wall time per call over all calls (ms); CPU = user+sys of gate and true, "
      "median of the rounds' means")
print(f"{'setup':28} {'mean ± σ':>14} {'median':>7} {'min':>6} {'CPU':>6}")
for key, name in names.items():
    t = times[key]
    print(f"{name:28} {st.mean(t):6.2f} ± {st.stdev(t):5.2f} {st.median(t):7.2f} {min(t):6.2f}"
          f" {st.median(cpu[key]):6.2f}")
def diff(a, b):
    ta, tb = times[a], times[b]
    d = st.mean(tb) - st.mean(ta)
    se = math.sqrt(st.variance(ta) / len(ta) + st.variance(tb) / len(tb))
    per_round = sorted(y - x for x, y in zip(means[a], means[b]))
    cpu_round = [y - x for x, y in zip(cpu[a], cpu[b])]
    return (f"mean {d:+.3f} ms ({d / st.mean(ta):+.1%}), 95% interval {d - 1.96 * se:+.3f} "
            f"to {d + 1.96 * se:+.3f}\n"
            f"      per round: median {st.median(per_round):+.3f} ms, range "
            f"{per_round[0]:+.3f} to {per_round[-1]:+.3f}, "
            f"{sum(x > 0 for x in per_round)} of {len(per_round)} rounds slower\n"
            f"      median call {st.median(tb) - st.median(ta):+.3f} ms, "
            f"fastest call {min(tb) - min(ta):+.3f} ms, CPU {st.median(cpu_round):+.3f} ms")
print(f"\n(2) - (1): {diff('local', 'cached')}")
print(f"(3) - (1): {diff('local', 'fetch')}")
PY
