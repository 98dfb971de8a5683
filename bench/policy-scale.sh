#!/usr/bin/env bash
# Whole-process `gate check` time with 10 and 10,000 rules: warm (compiled policy
# cached) and cold (the policy changed, so it is parsed again).
# Usage: bench/policy-scale.sh   (needs hyperfine)
source "$(dirname "$0")/common.sh"
for n in 10 10000; do
  python3 "$root/bench/gen-policy.py" "$n" > "$work/p$n.toml"
  chmod 600 "$work/p$n.toml"
  echo "$n rules: $(wc -c < "$work/p$n.toml") bytes"
done
cmd() { echo "$GATE check --policy $work/p$1.toml -- tool3 delete --target=env9-x"; }
hyperfine -N --warmup 20 --runs "${RUNS:-200}" \
  -n "10 rules (cached)" "$(cmd 10)" \
  -n "10000 rules (cached)" "$(cmd 10000)"
# Cold: every run sees a changed file (a new comment), so nothing can be reused.
hyperfine --warmup 2 --runs "${COLD_RUNS:-20}" \
  --prepare "echo '# \$RANDOM' >> $work/p10000.toml" \
  -n "10000 rules (changed every run: parse)" "$(cmd 10000) >/dev/null"
