#!/usr/bin/env bash
# Per-call overhead of `gate -- true` (100-rule policy, durable audit write) against
# bare `true`, `sudo -n true` and a minimal C spawn-and-wait wrapper (the floor).
# Usage: bench/overhead.sh   (needs hyperfine, cc; installs hyperfine and sudo as root)
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

hyperfine -N --warmup 50 --runs "${RUNS:-500}" --export-json "$work/result.json" \
  -n true "true" \
  -n c-wrapper "$work/wrap true" \
  -n sudo "sudo -n true" \
  -n gate "$GATE -- true"

python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
base = r["true"]
print(f"\nmean per call: true {base:.2f} ms")
for name in ("c-wrapper", "sudo", "gate"):
    print(f"  {name:10} {r[name]:.2f} ms  (adds {r[name] - base:.2f} ms)")
gate_add, sudo_add, floor = r["gate"] - base, r["sudo"] - base, r["c-wrapper"] - base
print(f"gate adds {gate_add / sudo_add:.0%} of what sudo adds (target < 50%); "
      f"{gate_add - floor:.2f} ms above the C floor")
PY
echo "audit records written: $("$GATE" audit export --format jsonl | wc -l)"
