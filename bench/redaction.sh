#!/usr/bin/env bash
# What redaction's detectors cost a command: `gate -- true WORD` for a word with
# no trigger (`hello`) against everyday words that hold a short trigger word
# (`path`, `keyboard`, `author`), `https`, and a URL (`https://x.org`).
# Allow-all policy, so the decision and the audit write are the same for all.
# Prints the median and fastest call of each, in ms.
# Usage: bench/redaction.sh              (needs hyperfine; RUNS=300 calls of each)
#        BASELINE=/path/to/old/gate bench/redaction.sh   also times an older build
source "$(dirname "$0")/common.sh"

printf 'version = 1\ndefault = "allow"\nopaque = "allow"\n' > "$work/policy.toml"
chmod 600 "$work/policy.toml"
export GATE_POLICY="$work/policy.toml"
"$GATE" -- true  # create the key, the log and the policy cache

words=(hello path keyboard https author https://x.org)
commands=()
for word in "${words[@]}"; do
  [ -n "${BASELINE:-}" ] && commands+=(-n "baseline $word" "$BASELINE -- true $word")
  commands+=(-n "gate $word" "$GATE -- true $word")
done
hyperfine -N --style none --warmup 20 --runs "${RUNS:-300}" --export-json "$work/redaction.json" \
  "${commands[@]}" >/dev/null 2>"$work/hyperfine.err" \
  || { cat "$work/hyperfine.err" >&2; exit 1; }

# Medians: on a shared machine a few slow calls move the mean a lot.
python3 - "$work/redaction.json" <<'PY'
import json, statistics, sys
print(f"{'gate -- true WORD':32} {'median':>8} {'min':>8}   (ms)")
for r in json.load(open(sys.argv[1]))["results"]:
    times = [t * 1000 for t in r["times"]]
    print(f"{r['command']:32} {statistics.median(times):8.2f} {min(times):8.2f}")
PY
