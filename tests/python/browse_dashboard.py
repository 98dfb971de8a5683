"""Use the broker's dashboard in a real headless Chromium (Debian's, driven by
Playwright for Python): be sent to the sign-in form, sign in with an approver
token, see the pending requests, filter the history by host, open a request's
whole story, follow it to the approval page and approve, see the vote on the
story, and export the filtered history as CSV and JSONL; then sign in again as
an auditor and make the evidence report. Fails (exit 1, the reason on stderr)
on the first thing that is wrong; on success prints one JSON object with what
it saw, which the Rust test (tests/it/browser.rs) checks against the broker.

usage: browse_dashboard.py BROKER_URL TARGET_ID OTHER_ID RUN_ID DAY SCREENSHOT_DIR
(RUN_ID: an approved request whose run an installation forwarded)
(environment: GATE_WEB_TOKEN, an approver's token; GATE_AUDITOR_TOKEN, an auditor's)
"""

import json
import os
import sys
import tempfile

from browse_web import ARGS, CHROMIUM, WATCH_CSP, Failed, check
from playwright.sync_api import sync_playwright


def main():
    url, target, other, run, day, shots = sys.argv[1:7]
    os.makedirs(shots, exist_ok=True)
    seen = {}
    problems = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            accept_downloads=True,
            viewport={"width": 1100, "height": 640},
        )
        context.set_default_timeout(10_000)
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        try:
            approver(page, url, target, other, shots, seen)
            auditor(page, url, target, run, day, shots, seen)
            check(not problems, f"console or page errors: {problems}")
            seen["violations"] = page.evaluate("window.__violations")
            check(seen["violations"] == [], f"CSP violations: {seen['violations']}")
        except Exception:
            page.screenshot(path=os.path.join(shots, "failure.png"), full_page=True)
            raise
        finally:
            context.close()
    print(json.dumps(seen))


def shot(page, shots, name):
    page.screenshot(path=os.path.join(shots, name), full_page=True)


def sign_in(page, url, token):
    page.goto(url + "/dashboard")
    page.wait_for_url(url + "/dashboard/signin")
    check(page.locator("#token").is_visible(), "no sign-in form")
    page.fill("#token", token)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/dashboard")


def listed(page):
    return page.eval_on_selector_all(
        "a[href^='/dashboard/requests/']",
        "links => links.map(a => a.getAttribute('href').split('/').pop())",
    )


def approver(page, url, target, other, shots, seen):
    page.goto(url + "/dashboard")
    page.wait_for_url(url + "/dashboard/signin")
    shot(page, shots, "signin.png")
    sign_in(page, url, os.environ["GATE_WEB_TOKEN"])
    seen["signed_in"] = page.locator("nav").inner_text()
    seen["pending"] = listed(page)
    shot(page, shots, "pending.png")

    # History, filtered by host through the form.
    page.click("nav >> text=History")
    page.wait_for_url(url + "/dashboard/history")
    page.fill("input[name=host]", "ci-9")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    seen["filtered"] = listed(page)
    check(seen["filtered"] == [target], f"host filter: {seen['filtered']}")
    shot(page, shots, "history.png")

    # Exports of the same filtered view.
    for kind in ("CSV", "JSONL"):
        with page.expect_download() as download:
            page.click(f"text={kind}")
        with open(download.value.path(), encoding="utf-8") as f:
            seen[kind.lower()] = f.read()

    # The request's story, then its approval page, and approve.
    with page.expect_navigation():
        page.click(f"a[href='/dashboard/requests/{target}']")
    seen["story_before"] = page.locator("body").inner_text()
    shot(page, shots, "request.png")
    with page.expect_navigation():
        page.click("text=Decide on the approval page")
    page.wait_for_url(f"{url}/r/{target}")
    page.fill("#reason", "change ticket 7 reviewed")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()
    check(page.locator(".status.approved").count() == 1, "not approved")
    page.goto(f"{url}/dashboard/requests/{target}")
    seen["story_after"] = page.locator("body").inner_text()
    shot(page, shots, "request-approved.png")
    check(other not in listed(page), "the other request leaked into the story")


def auditor(page, url, target, run, day, shots, seen):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    sign_in(page, url, os.environ["GATE_AUDITOR_TOKEN"])
    seen["auditor_nav"] = page.locator("nav").inner_text()
    page.click("nav >> text=Installations")
    page.wait_for_url(url + "/dashboard/installations")
    shot(page, shots, "installations.png")
    page.click("nav >> text=Evidence")
    page.fill("input[name=from]", day)
    page.fill("input[name=to]", day)
    with page.expect_navigation():
        page.get_by_role("button", name="Make the report").click()
    seen["evidence"] = listed(page)
    seen["evidence_text"] = page.locator("body").inner_text()
    shot(page, shots, "evidence.png")
    page.click("nav >> text=Metrics")
    page.wait_for_url(url + "/dashboard/metrics")
    charts = page.locator("svg[role=img]")
    seen["metrics_charts"] = charts.count()
    seen["metrics_chart_box"] = charts.first.bounding_box() if charts.count() else None
    seen["metrics_text"] = page.locator("body").inner_text()
    shot(page, shots, "metrics.png")
    page.goto(f"{url}/dashboard/requests/{target}")
    seen["auditor_story"] = page.locator("body").inner_text()
    page.goto(f"{url}/dashboard/requests/{run}")
    seen["run_story"] = page.locator("body").inner_text()
    shot(page, shots, "request-run.png")


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        print(f"browse_dashboard.py: {e}", file=sys.stderr)
        sys.exit(1)
