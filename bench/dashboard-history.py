"""Fill a broker store with N requests (default 1,000,000) and time the
dashboard's history pages with filters, as the broker itself measures them
(its Server-Timing header: query and rendering), beside the wall time of the
HTTP round trip. Run by bench/dashboard-history.sh, which builds gate and
starts and stops the broker.

usage: dashboard-history.py fill DB N
       dashboard-history.py time URL COOKIE_AUDITOR COOKIE_APPROVER
"""

import json
import random
import sqlite3
import statistics
import sys
import time
import urllib.request

PEOPLE = [f"p{i}" for i in range(40)]
VERBS = [
    ("kubectl", ["delete", "ns", "payments-{n}"]),
    ("kubectl", ["apply", "-f", "deploy/{w}.yaml", "--context", "prod-{n}"]),
    ("terraform", ["apply", "-target=module.{w}", "-auto-approve"]),
    ("psql", ["-h", "db-{n}.prod.internal", "-c", "DELETE FROM {w} WHERE id = {n}"]),
    ("systemctl", ["restart", "{w}-{n}.service"]),
    ("aws", ["s3", "rm", "s3://backups-{w}/{n}", "--recursive"]),
    ("helm", ["upgrade", "{w}", "charts/{w}", "--set", "replicas={n}"]),
]
WORDS = ["billing", "ledger", "search", "auth", "gateway", "orders", "ingest", "mailer"]
CHANNELS = ["slack", "web", "cli", "teams", "inbox"]
STATUSES = ["approved"] * 85 + ["denied"] * 8 + ["timed_out"] * 5 + ["cancelled"] * 2


def fill(db, n):
    rnd = random.Random(7)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    start = time.time()
    base = time.time() - 365 * 86400
    step = 365 * 86400 / n
    requests, votes = [], []
    for i in range(n):
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i * step))
        at += ".%03dZ" % (i % 1000)
        rid = "%032x" % rnd.getrandbits(128)
        program, args = rnd.choice(VERBS)
        w, k = rnd.choice(WORDS), rnd.randrange(1000)
        argv = [program] + [a.format(n=k, w=w) for a in args]
        user = f"user{rnd.randrange(500)}"
        requester = {
            "user": user,
            "host": f"host{rnd.randrange(2000)}",
            "ci": {"system": "github", "actor": user, "repository": f"org/repo{rnd.randrange(200)}",
                   "branch": "main", "commit": None, "url": None} if rnd.random() < 0.4 else None,
            "agent": {"name": rnd.choice(["claude-code", "codex", "cursor", "gemini", "cline"]),
                      "session": None} if rnd.random() < 0.3 else None,
        }
        rules = [f"rule-{rnd.randrange(50)}"] + ([f"rule-{rnd.randrange(50)}"] if rnd.random() < 0.5 else [])
        approvers = rnd.sample(PEOPLE, 3)
        status = "pending" if i >= n - 100 else rnd.choice(STATUSES)
        glass = 1 if rnd.random() < 0.005 else 0
        requests.append((rid, status, json.dumps(requester), json.dumps(argv), json.dumps(rules),
                         json.dumps(approvers), glass, at,
                         "2099-01-01T00:00:00.000Z" if status == "pending" else at))
        if status in ("approved", "denied"):
            verdict = "approve" if status == "approved" else "deny"
            votes.append((rid, approvers[0], rnd.choice(CHANNELS), verdict, at))
        if len(requests) == 20000 or i == n - 1:
            conn.executemany(
                "INSERT INTO requests (id, status, version, token_hash, claimed, requester,"
                " requester_person, argv, cwd, action_digest, rules, rule_reason, approvers,"
                " quorum, break_glass, created_at, expires_at)"
                " VALUES (?, ?, 1, zeroblob(32), 0, ?, NULL, ?, '/srv', 'ab', ?, 'bench', ?, 1, ?, ?, ?)",
                requests,
            )
            conn.executemany(
                "INSERT INTO votes (request_id, person, channel, verdict, reason, at)"
                " VALUES (?, ?, ?, ?, NULL, ?)",
                votes,
            )
            conn.commit()
            requests, votes = [], []
            print(f"\r{i + 1} requests, {time.time() - start:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    conn.execute("ANALYZE")
    conn.commit()


def page(url, cookie):
    req = urllib.request.Request(url, headers={"Cookie": f"gate_session={cookie}"})
    start = time.perf_counter()
    with urllib.request.urlopen(req) as res:
        body = res.read().decode()
        timing = res.headers.get("Server-Timing", "")
    wall = (time.perf_counter() - start) * 1000
    server = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
    return server, wall, body


def timed(url, path, cookie, runs=5):
    results = [page(url + path, cookie) for _ in range(runs + 1)][1:]  # first one warms up
    rows = results[-1][2].count("/dashboard/requests/")
    server = statistics.median(r[0] for r in results)
    wall = statistics.median(r[1] for r in results)
    return server, wall, rows, results[-1][2]


def run_times(url, auditor, approver):
    cases = [
        ("auditor", "no filter, newest 50", "/dashboard/history"),
        ("auditor", "host", "/dashboard/history?host=host17"),
        ("auditor", "requester + decision", "/dashboard/history?requester=user42&decision=denied"),
        ("auditor", "rule + one month", "/dashboard/history?rule=rule-7&from=2026-06-01&to=2026-06-30"),
        ("auditor", "CI repository + agent", "/dashboard/history?repo=org/repo3&agent=codex"),
        ("auditor", "person who voted", "/dashboard/history?person=p3"),
        ("auditor", "break-glass only", "/dashboard/history?break_glass=yes"),
        ("auditor", "rare: host + cancelled", "/dashboard/history?host=host17&decision=cancelled"),
        ("auditor", "search, rare: payments-123", "/dashboard/history?q=payments-123"),
        ("auditor", "search, common: kubectl", "/dashboard/history?q=kubectl"),
        ("auditor", "search + host", "/dashboard/history?q=billing&host=host17"),
        ("auditor", "three large filters, few matches", "/dashboard/history?decision=cancelled&agent=codex&rule=rule-7"),
        ("auditor", "common search + cancelled", "/dashboard/history?q=kubectl&decision=cancelled"),
        ("auditor", "search, no match", "/dashboard/history?q=zz-not-there"),
        ("auditor", "pending (live)", "/dashboard"),
        ("approver", "approver p3, no filter", "/dashboard/history"),
        ("approver", "approver p3, decision=denied", "/dashboard/history?decision=denied"),
    ]
    print(f"| view | rows | server ms (median of 5) | HTTP round trip ms |")
    print(f"|---|---:|---:|---:|")
    for who, name, path in cases:
        cookie = auditor if who == "auditor" else approver
        server, wall, rows, body = timed(url, path, cookie)
        print(f"| {name} | {rows} | {server:.1f} | {wall:.1f} |", flush=True)
    # Page 20 of the unfiltered history, following the "Older requests" links.
    path = "/dashboard/history"
    for _ in range(19):
        body = page(url + path, auditor)[2]
        at = body.find('rel="next"')
        href = body.rfind('href="', 0, at)
        path = body[href + 6: body.find('"', href + 6)].replace("&amp;", "&")
    server, wall, rows, _ = timed(url, path, auditor)
    print(f"| no filter, page 20 (cursor) | {rows} | {server:.1f} | {wall:.1f} |")
    for name, path in [
        ("export.csv, host filter", "/dashboard/export.csv?host=host17"),
        ("export.csv, one month (all rows)", "/dashboard/export.csv?from=2026-06-01&to=2026-06-30"),
    ]:
        _, wall, _, body = timed(url, path, auditor, runs=1)
        rows = body.count("\n") - 1
        print(f"| {name} | {rows} | - | {wall:.1f} |")


if __name__ == "__main__":
    if sys.argv[1] == "fill":
        fill(sys.argv[2], int(sys.argv[3]))
    else:
        run_times(sys.argv[2], sys.argv[3], sys.argv[4])
