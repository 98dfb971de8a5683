#!/usr/bin/env python3
"""Write a policy with N rules to stdout: a realistic mix of allow/approve/deny rules
over many programs, so gate's rule index and matcher do real work."""
import sys

n = int(sys.argv[1])
verbs = ["get", "describe", "apply", "delete", "patch", "scale", "logs", "exec"]
actions = ["allow", "approve", "deny"]
print('version = 1\ndefault = "approve"\nopaque = "approve"\n')
print('[people.alice]\nunix = "alice"\n[people.bob]\nunix = "bob"\n')
print('[groups]\nsre = ["alice", "bob"]\n')
print('[approval]\napprovers = ["group:sre"]\nquorum = 1\ntimeout = "15m"\n')
for i in range(n):
    program = f"tool{i % max(1, n // 4)}"
    verb = verbs[i % len(verbs)]
    action = actions[i % len(actions)]
    print("[[rule]]")
    print(f'name = "rule {i}"')
    print(f'action = "{action}"')
    print(f'match = ["{program} {verb} **", "{program} ** --target=env{i}-*"]')
    if action != "allow":
        print(f'reason = "generated rule {i}"')
    print()
# The command the benchmarks run must be allowed, matched by a rule of its own.
print('[[rule]]\nname = "true"\naction = "allow"\nmatch = "true **"\n')
