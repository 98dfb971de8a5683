//! Charts as inline SVG: fixed sizes, no scripts, fonts, images or links, so
//! they render under the approval page's CSP (`default-src 'none'`). Every
//! label is escaped (rule and agent names come from requesters). Each chart
//! carries `role="img"`, an `aria-label` and a `<title>` that say what it shows,
//! and writes its numbers as text, so colour is never the only carrier.

use std::fmt::Write;
use std::time::Duration;

/// Escape text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A series of a stacked chart: its name and colour.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    pub name: &'static str,
    pub colour: &'static str,
}

/// One stacked bar: its label and a value per series.
#[derive(Debug, Clone)]
pub struct Stack {
    pub label: String,
    pub values: Vec<u64>,
}

const FONT: &str = r#"font-family="sans-serif" font-size="11""#;
const TEXT: &str = "#222";

fn open(out: &mut String, width: u32, height: u32, title: &str) {
    let title = escape(title);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" {FONT}><title>{title}</title>"#
    );
}

/// Bars per day (or any label), each stacked by series, with a legend naming
/// the series in text and a tooltip (`<title>`) giving each bar's numbers.
pub fn stacked_bars(title: &str, series: &[Series], stacks: &[Stack]) -> String {
    const WIDTH: u32 = 720;
    const HEIGHT: u32 = 260;
    const LEFT: f64 = 40.0;
    const TOP: f64 = 28.0;
    const PLOT_W: f64 = 670.0;
    const PLOT_H: f64 = 180.0;
    let mut out = String::new();
    open(&mut out, WIDTH, HEIGHT, title);
    // Legend: a swatch and the series' name.
    for (i, s) in series.iter().enumerate() {
        let x = LEFT + i as f64 * 120.0;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="6" width="10" height="10" fill="{}"/><text x="{}" y="15" fill="{TEXT}">{}</text>"#,
            s.colour,
            x + 14.0,
            escape(s.name)
        );
    }
    let most = stacks
        .iter()
        .map(|s| s.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let empty = most == 0;
    let most = most.max(1);
    let base = TOP + PLOT_H;
    let _ = write!(
        out,
        r#"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="{TEXT}"/><text x="{}" y="{}" text-anchor="end" fill="{TEXT}">{most}</text><text x="{}" y="{base}" text-anchor="end" fill="{TEXT}">0</text>"#,
        LEFT + PLOT_W,
        LEFT - 4.0,
        TOP + 8.0,
        LEFT - 4.0,
    );
    if empty {
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{TEXT}">No requests in this period</text>"#,
            LEFT + PLOT_W / 2.0,
            TOP + PLOT_H / 2.0
        );
    }
    let slot = PLOT_W / stacks.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    // Label at most ~12 bars so the dates do not overlap.
    let every = stacks.len().div_ceil(12).max(1);
    for (i, stack) in stacks.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let total: u64 = stack.values.iter().sum();
        let summary = series
            .iter()
            .zip(&stack.values)
            .map(|(s, v)| format!("{} {v}", s.name))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            out,
            "<g><title>{}: {total} ({})</title>",
            escape(&stack.label),
            escape(&summary)
        );
        let mut y = base;
        for (s, &value) in series.iter().zip(&stack.values) {
            if value == 0 {
                continue;
            }
            let h = value as f64 / most as f64 * PLOT_H;
            y -= h;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}" stroke="white" stroke-width="0.5"/>"#,
                s.colour
            );
        }
        out.push_str("</g>");
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="{TEXT}">{}</text>"#,
                x + bar / 2.0,
                base + 14.0,
                escape(short_date(&stack.label))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// `2026-11-30` as `11-30`; anything else as it is.
fn short_date(label: &str) -> &str {
    match label.len() {
        10 if label.as_bytes()[4] == b'-' => &label[5..],
        _ => label,
    }
}

/// A horizontal bar per entry, its label on the left and its number at the end.
pub fn horizontal_bars(title: &str, entries: &[(String, u64)], colour: &str) -> String {
    const WIDTH: u32 = 480;
    const ROW: u32 = 22;
    const LABEL_W: f64 = 170.0;
    const BAR_W: f64 = 250.0;
    let height = 12 + ROW * entries.len().max(1) as u32;
    let mut out = String::new();
    open(&mut out, WIDTH, height, title);
    if entries.is_empty() {
        let _ = write!(
            out,
            r#"<text x="4" y="22" fill="{TEXT}">None in this period</text>"#
        );
    }
    let most = entries.iter().map(|e| e.1).max().unwrap_or(0).max(1);
    for (i, (label, count)) in entries.iter().enumerate() {
        let y = 6 + i as u32 * ROW;
        let w = (*count as f64 / most as f64 * BAR_W).max(1.0);
        let _ = write!(
            out,
            r#"<g><title>{}: {count}</title><text x="{}" y="{}" text-anchor="end" fill="{TEXT}">{}</text><rect x="{LABEL_W}" y="{y}" width="{w:.1}" height="{}" fill="{colour}"/><text x="{:.1}" y="{}" fill="{TEXT}">{count}</text></g>"#,
            escape(label),
            LABEL_W - 6.0,
            y + 14,
            escape(&truncate(label, 26)),
            ROW - 6,
            LABEL_W + w + 4.0,
            y + 14,
        );
    }
    out.push_str("</svg>");
    out
}

/// `label` cut to `max` characters, with an ellipsis when cut.
fn truncate(label: &str, max: usize) -> String {
    match label.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &label[..at]),
        None => label.to_string(),
    }
}

/// p50 and p90 as two bars on one scale (the p90's), each with its value in text.
pub fn percentiles(title: &str, p50: Duration, p90: Duration) -> String {
    const WIDTH: u32 = 480;
    const HEIGHT: u32 = 60;
    const BAR_W: f64 = 330.0;
    let mut out = String::new();
    open(&mut out, WIDTH, HEIGHT, title);
    let scale = p90.max(p50).as_secs_f64().max(f64::MIN_POSITIVE);
    for (i, (name, value, colour)) in [("p50", p50, "#4a7bb7"), ("p90", p90, "#1f3f6e")]
        .into_iter()
        .enumerate()
    {
        let y = 6 + i as u32 * 26;
        let w = (value.as_secs_f64() / scale * BAR_W).max(1.0);
        let _ = write!(
            out,
            r#"<text x="34" y="{}" text-anchor="end" fill="{TEXT}">{name}</text><rect x="40" y="{y}" width="{w:.1}" height="18" fill="{colour}"/><text x="{:.1}" y="{}" fill="{TEXT}">{}</text>"#,
            y + 13,
            44.0 + w,
            y + 13,
            human(value)
        );
    }
    out.push_str("</svg>");
    out
}

/// A duration the way people read one: `850 ms`, `42 s`, `4 m 12 s`, `3 h 5 m`, `2 d 4 h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{} ms", d.as_millis()),
        1..60 => format!("{s} s"),
        60..3600 => format!("{} m {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} m", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}
