//! The time left on a pending request, kept current in the browser: the
//! server-rendered text (what a browser without scripts shows), the data the
//! script counts from, and the script itself.
//!
//! The script is inline and runs only because the response's CSP names its
//! nonce, a fresh random value per response ([`nonce`]); pages without a
//! countdown carry no script and no `script-src`. It reads numbers from data
//! attributes and writes with `textContent`, never markup, and it never
//! evaluates text: request data cannot become code.

use crate::approval::protocol::RequestView;
use crate::approval::summary;
use crate::server::token;
use std::time::{SystemTime, UNIX_EPOCH};

/// Counts every `[data-expires]` down once a second, in the server's clock
/// (`data-now` was its time when it rendered the page, so a browser whose clock
/// is off still counts right). At zero it says "expired", hides and disables the
/// decision buttons of that request (`[data-decide=ID]`) and shows its
/// `[data-expired=ID]` note. Formats as `summary::time_left`.
pub const SCRIPT: &str = r#"(function () {
  "use strict";
  var loaded = Date.now();
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function text(s) {
    if (s <= 0) { return "expired"; }
    if (s < 60) { return s + "s"; }
    if (s < 3600) { return Math.floor(s / 60) + "m " + two(s % 60) + "s"; }
    return Math.floor(s / 3600) + "h " + two(Math.floor((s % 3600) / 60)) + "m";
  }
  function each(attribute, id, action) {
    document.querySelectorAll("[" + attribute + "]").forEach(function (el) {
      if (el.getAttribute(attribute) === id) { action(el); }
    });
  }
  function tick() {
    var running = false;
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var now = Number(el.getAttribute("data-now")) + (Date.now() - loaded);
      var left = Math.floor((Number(el.getAttribute("data-expires")) - now) / 1000);
      var shown = text(left);
      if (el.textContent !== shown) { el.textContent = shown; }
      if (left > 0) { running = true; return; }
      var id = el.getAttribute("data-request");
      each("data-decide", id, function (b) { b.disabled = true; b.hidden = true; });
      each("data-expired", id, function (p) { p.hidden = false; });
    });
    if (running) { setTimeout(tick, 1000); }
  }
  tick();
})();"#;

/// A fresh CSP nonce: 16 random bytes, hex.
pub fn nonce() -> Result<String, String> {
    Ok(hex::encode(token::random::<16>()?))
}

/// The time left on `view` as a counting element with the server's text inside
/// (just the text when its expiry does not parse).
pub fn countdown(view: &RequestView, now: SystemTime) -> String {
    let text = super::page::escape(&summary::time_left(&view.expires_at, now));
    let Some(expires) = summary::parse_time(&view.expires_at) else {
        return text;
    };
    format!(
        "<span class=\"time-left\" data-request=\"{}\" data-expires=\"{}\" data-now=\"{}\">{text}</span>",
        super::page::escape(&view.id),
        millis(expires),
        millis(now)
    )
}

/// `<script>` with the clock, allowed by `nonce`.
pub fn script(nonce: &str) -> String {
    format!(
        "<script nonce=\"{}\">\n{SCRIPT}\n</script>\n",
        super::page::escape(nonce)
    )
}

fn millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_writes_no_markup_and_evaluates_nothing() {
        for forbidden in [
            "innerHTML",
            "outerHTML",
            "eval(",
            "Function(",
            "document.write",
            "http",
        ] {
            assert!(!super::SCRIPT.contains(forbidden), "{forbidden}");
        }
        assert!(!super::SCRIPT.contains("</"), "cannot close its own tag");
    }

    #[test]
    fn nonces_differ() {
        let (a, b) = (super::nonce().unwrap(), super::nonce().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
