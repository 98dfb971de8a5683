#!/usr/bin/env python3
"""A shell tool for a Python agent that runs every command through gate.

gate decides from its policy: allowed commands run, denied ones come back with
the reason (give it to the model so it chooses another way), others wait for a
person's approval. With `--json`, whenever nothing ran (refused, or the command
could not be started) gate's only report is one JSON object on stdout with
`"ran": false`, its exit code and a one-line `message`.

    from agent_tool import run_command
    result = run_command(["kubectl", "get", "pods"], reason="check the rollout")

Run it directly to try: python3 agent_tool.py -- ls -la
"""

import json
import subprocess
import sys

# gate's own outcomes (see the README's exit codes): nothing ran. 126 and 127 are
# also a command's own codes, so the JSON's "ran" decides.
REFUSED = {100: "denied by policy", 101: "denied by a person", 102: "approval timed out",
           103: "needs approval", 104: "cancelled", 105: "bad policy", 106: "audit failure",
           109: "approval invalid", 110: "usage", 111: "internal error",
           126: "not executable", 127: "command not found"}
LIMIT = 64 * 1024


def run_command(argv, reason=None, cwd=None, timeout=None):
    """Run argv through gate. Returns a dict the agent can show the model."""
    command = ["gate", "--json"]
    if reason:
        command += ["--reason", reason]
    command += ["--", *argv]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode in REFUSED:
        try:
            refusal = json.loads(done.stdout)
        except ValueError:
            refusal = None
        if isinstance(refusal, dict) and refusal.get("ran") is False:
            why = refusal.get("message") or refusal.get("reason") or ""
            return {"ran": False, "outcome": REFUSED[done.returncode], "exit_code": done.returncode,
                    "reason": why, "advice": "Do not retry this command unchanged."}
    return {"ran": True, "exit_code": done.returncode,
            "stdout": done.stdout[:LIMIT], "stderr": done.stderr[:LIMIT]}


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit("usage: agent_tool.py -- COMMAND [ARG...]")
    print(json.dumps(run_command(args), indent=2))
