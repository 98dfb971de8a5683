#!/usr/bin/env bash
# Per-call overhead of `gate -- true` (100-rule policy, durable audit write) against
# bare `true`, `sudo -n true` and a minimal C spawn-and-wait wrapper (the floor).
# Usage: bench/overhead.sh   (needs hyperfine, cc; installs hyperfine and sudo as root)
#        ROUNDS=10 RUNS=60 by default: RUNS calls of each command per round.
source "$(dirname "$0")/common.sh"
need sudo sudo
need cc gcc

cat > "$work/wrap.c" <<'C'
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    pid_t pid = fork();
    if (pid == 0) { execvp(argv[1], argv + 1); _exit(127); }
    int status; waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
C
cc -O2 -o "$work/wrap" "$work/wrap.c"

python3 "$root/bench/gen-policy.py" 100 > "$work/policy.toml"
chmod 600 "$work/policy.toml"
export GATE_POLICY="$work/policy.toml"
"$GATE" -- true  # create the key, the log and the policy cache

# The commands are measured in interleaved rounds (each round runs all four), so a
# machine that speeds up or slows down during the run (shared VMs do) affects all
# of them alike; the result is the median over the rounds.
rounds="${ROUNDS:-10}"
for r in $(seq "$rounds"); do
  hyperfine -N --style none --warmup 20 --runs "${RUNS:-60}" --export-json "$work/round-$r.json" \
    -n true "true" \
    -n c-wrapper "$work/wrap true" \
    -n sudo "sudo -n true" \
    -n gate "$GATE -- true" >/dev/null 2>"$work/hyperfine.err" \
    || { cat "$work/hyperfine.err" >&2; exit 1; }
done

python3 - "$work" "$rounds" <<'PY2'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
per_round = []
for r in range(1, rounds + 1):
    res = json.load(open(f"{work}/round-{r}.json"))["results"]
    per_round.append({x["command"]: x["mean"] * 1000 for x in res})
print("mean ms per call in each round, and gate's added time as a share of sudo's")
print("round   true  c-wrapper   sudo   gate   gate/sudo")
ratios = []
for i, m in enumerate(per_round, 1):
    ratio = (m["gate"] - m["true"]) / (m["sudo"] - m["true"])
    ratios.append(ratio)
    print(f"{i:5}  {m['true']:5.2f}  {m['c-wrapper']:9.2f}  {m['sudo']:5.2f}  {m['gate']:5.2f}"
          f"   {ratio:9.0%}")
med = {k: statistics.median(m[k] for m in per_round) for k in per_round[0]}
base = med["true"]
print(f"\nmedian over {rounds} rounds, per call: true {base:.2f} ms")
for name in ("c-wrapper", "sudo", "gate"):
    print(f"  {name:10} {med[name]:.2f} ms  (adds {med[name] - base:.2f} ms)")
floor = med["c-wrapper"] - base
print(f"gate adds {statistics.median(ratios):.0%} of what sudo adds (median of the rounds; "
      f"target < 50%; rounds ranged {min(ratios):.0%}-{max(ratios):.0%}); "
      f"{med['gate'] - base - floor:.2f} ms above the C floor")
PY2
echo "audit records written: $("$GATE" audit export --format jsonl | wc -l)"
