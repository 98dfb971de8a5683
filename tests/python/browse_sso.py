"""Sign in with single sign-on in a real headless Chromium (Debian's, driven by
Playwright for Python): open a request's page on the broker, follow "Sign in
with SSO" to the OpenID provider (another site: localhost, the broker being on
127.0.0.1), which signs alice in without a form, come back through the broker's
callback to the request's page, signed in, and approve it. Fails (exit 1, the
reason on stderr) on the first thing that is wrong; on success prints one JSON
object with what it saw, which the Rust test (tests/it/browser.rs) checks again.

usage: browse_sso.py BROKER_URL REQUEST_ID SCREENSHOT_DIR
"""

import json
import os
import sys
import tempfile

from playwright.sync_api import sync_playwright

from browse_web import ARGS, CHROMIUM, Failed, check


def main():
    url, request_id, shots = sys.argv[1:4]
    os.makedirs(shots, exist_ok=True)
    seen = {"visited": []}
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("framenavigated", lambda f: f == page.main_frame and seen["visited"].append(f.url))
        try:
            page.goto(f"{url}/r/{request_id}")
            check(page.locator("#token").is_visible(), "no sign-in form")
            page.get_by_role("link", name="Sign in with SSO").click()
            page.wait_for_url(f"{url}/r/{request_id}")
            page.locator(".status.pending").wait_for()
            seen["signed_in"] = page.locator("p", has_text="Signed in as").first.inner_text()
            cookies = {c["name"]: c for c in context.cookies(url)}
            seen["session_same_site"] = cookies.get("gate_session", {}).get("sameSite")
            seen["prelogin_left"] = "gate_sso" in cookies
            page.screenshot(path=os.path.join(shots, "sso-signed-in.png"), full_page=True)
            page.fill("#reason", "signed in with SSO")
            with page.expect_navigation():
                page.click("button.approve")
            page.locator(".status.approved").wait_for()
            seen["vote"] = page.locator("li", has_text="approved via web").inner_text()
        except Exception:
            page.screenshot(path=os.path.join(shots, "sso-failure.png"), full_page=True)
            raise
        finally:
            context.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    try:
        main()
    except Failed as failure:
        print(f"browse_sso.py: {failure}", file=sys.stderr)
        sys.exit(1)
