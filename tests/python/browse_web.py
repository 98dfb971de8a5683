"""Use the broker's web pages in a real headless Chromium (Debian's, driven by
Playwright for Python): sign in on the landing page, follow the link to a
pending request, look at the decision buttons and the clock, try a deny
without a reason, approve with one; and watch a short-lived request expire.
Fails (exit 1, the reason on stderr) on the first thing that is wrong; on
success prints one JSON object with what it saw, which the Rust test
(tests/it/browser.rs) checks again beside the broker's own state.

usage: browse_web.py BROKER_URL REQUEST_ID SHORT_REQUEST_ID SCREENSHOT_DIR
(environment: GATE_WEB_TOKEN, the approver token to sign in with)
"""

import json
import os
import sys
import tempfile

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Runs before any page script, through the DevTools protocol (not subject to
# the page's CSP): every CSP violation is kept and reported on the console.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
  console.error("CSP violation: " + e.violatedDirective);
});
"""


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def style(page, selector, prop):
    return page.eval_on_selector(selector, "(el, p) => getComputedStyle(el)[p]", prop)


def main():
    url, request_id, short_id, shots = sys.argv[1:5]
    token = os.environ["GATE_WEB_TOKEN"]
    os.makedirs(shots, exist_ok=True)
    seen = {}
    problems = []  # console errors and page errors, as they happen
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS
        )
        context.set_default_timeout(10_000)
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        try:
            browse(page, url, request_id, short_id, token, shots, seen, problems)
            check(not problems, f"console or page errors: {problems}")
            seen["violations"] = page.evaluate("window.__violations")
            check(seen["violations"] == [], f"CSP violations: {seen['violations']}")
            control(page, seen)
        except Exception:
            page.screenshot(path=os.path.join(shots, "failure.png"), full_page=True)
            raise
        finally:
            context.close()
    print(json.dumps(seen))


def browse(page, url, request_id, short_id, token, shots, seen, problems):
    # The landing page: a sign-in form, then the requests waiting for this person.
    page.goto(url + "/")
    check(page.locator("#token").is_visible(), "no sign-in form on /")
    page.fill("#token", token)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")
    page.screenshot(path=os.path.join(shots, "landing.png"), full_page=True)
    seen["signed_in"] = page.locator("p", has_text="Signed in as").first.inner_text()
    seen["listed"] = page.eval_on_selector_all(
        "a[href^='/r/']", "links => links.map(a => a.textContent)"
    )
    check(request_id in seen["listed"], f"{request_id} not listed: {seen['listed']}")

    expiry(page, url, short_id, shots, seen)

    # The request's page, through the landing page's link.
    page.goto(url + "/")
    with page.expect_navigation():
        page.click(f"a[href='/r/{request_id}']")
    page.wait_for_url(f"{url}/r/{request_id}")
    approve, deny = "button.approve", "button.deny"
    seen["approve"] = {p: style(page, approve, p) for p in ("backgroundColor", "borderTopColor", "color")}
    seen["deny"] = {p: style(page, deny, p) for p in ("backgroundColor", "borderTopColor", "color")}
    check(seen["approve"]["backgroundColor"] != seen["deny"]["backgroundColor"], f"same backgrounds: {seen}")
    check(seen["approve"]["borderTopColor"] != seen["deny"]["borderTopColor"], f"same borders: {seen}")
    check(page.get_by_role("button", name="Approve").count() == 1, "no button named Approve")
    check(page.get_by_role("button", name="Deny").count() == 1, "no button named Deny")

    # Keyboard focus shows an outline.
    page.click("#reason")
    page.keyboard.press("Tab")
    check(page.evaluate("document.activeElement.value") == "approve", "Tab does not reach Approve")
    seen["focus_outline"] = style(page, approve, "outlineStyle") + " " + style(page, approve, "outlineWidth")
    check(seen["focus_outline"] == "solid 3px", f"focus outline: {seen['focus_outline']}")

    # The time left counts down.
    clock = page.locator(".time-left")
    before = clock.inner_text()
    page.wait_for_function(
        "t => document.querySelector('.time-left').textContent !== t", arg=before, timeout=3_000
    )
    seen["time_left"] = [before, clock.inner_text()]
    page.screenshot(path=os.path.join(shots, "request.png"), full_page=True)

    # A deny without a reason is refused (400); nothing is decided. The 400 is
    # the one console error expected.
    check(not problems, f"console or page errors: {problems}")
    page.fill("#reason", "")
    with page.expect_navigation():
        page.click(deny)
    check(page.get_by_text("A deny needs a reason").is_visible(), "an empty deny was not refused")
    check(page.locator(".status.pending").count() == 1, "the request is no longer pending")
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    check(problems == [refused], f"console or page errors: {problems}")
    problems.clear()
    page.screenshot(path=os.path.join(shots, "deny-refused.png"), full_page=True)

    # Approve with a reason.
    page.fill("#reason", "checked in the browser")
    with page.expect_navigation():
        page.click(approve)
    page.wait_for_url(f"{url}/r/{request_id}")
    page.locator(".status.approved").wait_for()
    seen["vote"] = page.locator("li", has_text="approved via web").inner_text()
    check(page.locator("button.approve").count() == 0, "a decided request still offers Approve")
    page.screenshot(path=os.path.join(shots, "approved.png"), full_page=True)


def expiry(page, url, short_id, shots, seen):
    """A request about to expire: its clock reaches "expired" and its buttons go."""
    page.goto(f"{url}/r/{short_id}")
    check(page.locator("button.approve").is_visible(), "the short request offers no Approve")
    page.wait_for_function(
        "() => document.querySelector('.time-left').textContent === 'expired'", timeout=20_000
    )
    seen["expired"] = {
        "approve_visible": page.locator("button.approve").is_visible(),
        "deny_disabled": page.locator("button.deny").is_disabled(),
        "note": page.locator("[data-expired]").inner_text(),
    }
    check(not seen["expired"]["approve_visible"], "Approve still shown after expiry")
    check(seen["expired"]["deny_disabled"], "Deny still enabled after expiry")
    page.screenshot(path=os.path.join(shots, "expired.png"), full_page=True)


def control(page, seen):
    """The watch works and the CSP holds: a script without the nonce is blocked."""
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__injected = 1"; document.body.appendChild(s); }"""
    )
    page.wait_for_function("() => window.__violations.length > 0", timeout=3_000)
    seen["control"] = page.evaluate("window.__violations")
    check(page.evaluate("window.__injected") is None, "a script without the nonce ran")


if __name__ == "__main__":
    try:
        main()
    except Failed as failure:
        print(f"browse_web.py: {failure}", file=sys.stderr)
        sys.exit(1)
