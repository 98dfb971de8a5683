//! The pages' one stylesheet, inline in every page (the CSP allows inline
//! styles and nothing from elsewhere), and the checks that keep it readable.

/// Decision buttons: Approve filled green, Deny outlined red; both keep their
/// words (and a mark), so colour is never the only signal. Text contrast is at
/// least 4.5:1 (WCAG AA; checked in the tests below) and keyboard focus shows a
/// thick blue outline.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1f24;background:#fff}\
h1{font-size:1.3rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #ddd}\
th{width:11rem;color:#555;font-weight:600}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem;margin:0}\
.list th{width:auto}.list code{word-break:break-all}\
.status{font-weight:700}.pending{color:#9a6700}.approved{color:#1a7f37}.denied,.timed_out,.cancelled{color:#cf222e}\
.notice{padding:.6rem;border:1px solid #d4a72c;background:#fff8c5;margin:1rem 0}.error{border-color:#cf222e;background:#ffebe9}\
form{margin:1rem 0}textarea,input[type=password]{width:100%;box-sizing:border-box;padding:.4rem}\
button{font:inherit;padding:.4rem 1rem;margin:.5rem .5rem 0 0;border:1px solid #57606a;border-radius:6px;background:#f6f8fa;color:#1b1f24;cursor:pointer}\
button:focus-visible,a:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #0969da;outline-offset:2px}\
button.approve{background:#116329;border:2px solid #116329;color:#fff;font-weight:700}button.approve:hover{background:#0a4a1e;border-color:#0a4a1e}\
button.deny{background:#fff;border:2px solid #a40e26;color:#a40e26;font-weight:700}button.deny:hover{background:#ffebe9}\
button:disabled{cursor:not-allowed;opacity:.6}\
.breakglass{color:#fff;background:#cf222e;padding:.2rem .4rem}";

#[cfg(test)]
mod tests {
    use super::STYLE;

    /// WCAG relative luminance of `#rrggbb` or `#rgb`.
    fn luminance(hex: &str) -> f64 {
        let hex = match hex.len() {
            4 => hex.chars().flat_map(|c| [c, c]).skip(1).collect(),
            _ => hex.to_string(),
        };
        let channel = |at: usize| {
            let c = f64::from(u8::from_str_radix(&hex[at..at + 2], 16).unwrap()) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// The declarations of the first rule for exactly `selector` in STYLE.
    fn rule(selector: &str) -> &'static str {
        let at = STYLE
            .match_indices(&format!("{selector}{{"))
            .find(|(at, _)| *at == 0 || STYLE[..*at].ends_with('}'))
            .unwrap_or_else(|| panic!("no rule for {selector}"))
            .0;
        let start = at + selector.len() + 1;
        &STYLE[start..start + STYLE[start..].find('}').unwrap()]
    }

    fn colour(declarations: &str, property: &str) -> String {
        let marker = format!("{property}:");
        let at = declarations
            .split(';')
            .find_map(|d| d.strip_prefix(&marker))
            .unwrap_or_else(|| panic!("no {property} in {declarations}"));
        at.rsplit(' ').next().unwrap().to_string()
    }

    #[test]
    fn contrast_is_computed_as_wcag_does() {
        assert!((contrast("#fff", "#000000") - 21.0).abs() < 1e-9);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
    }

    #[test]
    fn decision_buttons_differ_and_their_text_meets_wcag_aa() {
        let mut looks = Vec::new();
        for selector in [
            "button.approve",
            "button.deny",
            "button.approve:hover",
            "button.deny:hover",
        ] {
            let declarations = rule(selector);
            let background = colour(declarations, "background");
            let text = if selector.ends_with(":hover") {
                colour(rule(selector.trim_end_matches(":hover")), "color")
            } else {
                colour(declarations, "color")
            };
            let ratio = contrast(&text, &background);
            assert!(
                ratio >= 4.5,
                "{selector}: {text} on {background} is {ratio:.2}:1"
            );
            looks.push((
                background,
                colour(rule(selector.trim_end_matches(":hover")), "border"),
            ));
        }
        assert_ne!(looks[0].0, looks[1].0, "Approve and Deny backgrounds");
        assert_ne!(looks[0].1, looks[1].1, "Approve and Deny borders");
        assert!(
            rule("button:focus-visible,a:focus-visible,textarea:focus-visible,input:focus-visible")
                .contains("outline:3px solid")
        );
    }
}
