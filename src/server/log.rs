//! The broker's log: one line per event on stderr, as text (`gate serve: …`,
//! the default) or, with `gate serve --log-format json`, as one JSON object per
//! line: `{"time": RFC 3339, "level": "info", "message": …}` for log collectors.
//! Every broker line goes through [`line`] (the `serve_log!` macro), so both
//! formats carry the same events.

use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// Write every line from now on as JSON.
pub fn use_json() {
    JSON.store(true, Ordering::Relaxed);
}

/// Write one log line; `text` is the text form (starting `gate serve: `).
pub fn line(text: &str) {
    if !JSON.load(Ordering::Relaxed) {
        eprintln!("{text}");
        return;
    }
    let message = text.strip_prefix("gate serve: ").unwrap_or(text);
    let object = serde_json::json!({
        "time": crate::server::rules::rfc3339(std::time::SystemTime::now()),
        "level": "info",
        "message": message,
    });
    eprintln!("{object}");
}

/// `eprintln!` for the broker's log: the same arguments, either format.
#[macro_export]
macro_rules! serve_log {
    ($($arg:tt)*) => {
        $crate::server::log::line(&format!($($arg)*))
    };
}
