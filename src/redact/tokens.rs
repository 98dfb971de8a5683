//! Detectors for secrets recognisable by their own shape: cloud and chat tokens,
//! JWTs, private key blocks. Vendor prefixes (`ghp_`, `xoxb-`, `AKIA`) are kept
//! so an approver still sees *what kind* of credential was there.
//!
//! Patterns and the words they need; compiling and applying them is `super`'s job.

use super::Spec;
use super::rule::{unless_variable, whole};
use super::trigger::{Group, Trigger};

/// Word boundary in ASCII terms: the Unicode one defeats the lazy DFA.
const B: &str = r"(?-u:\b)";

/// The shape detectors in the order they apply, each compiled on its own when
/// the text has its vendor prefix or marker.
pub(super) fn groups() -> Vec<Group> {
    vec![
        Group::new(
            "private-key-block",
            &[Trigger::words(&["-----begin"])],
            || {
                vec![Spec::new(
                    "private-key-block",
                    // An unterminated block (a truncated paste) is masked to the end of the text.
                    r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?P<secret>.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
                    whole,
                )]
            },
        ),
        Group::new(
            "aws-access-key-id",
            &[Trigger::words(&["akia", "asia"])],
            || {
                vec![Spec::new(
                    "aws-access-key-id",
                    format!("{B}(?:AKIA|ASIA)(?P<secret>[A-Z0-9]{{16}}){B}"),
                    whole,
                )]
            },
        ),
        Group::new(
            "aws-secret-access-key",
            &[Trigger::words(&["aws_secret_access_key"])],
            || {
                vec![Spec::new(
                    "aws-secret-access-key",
                    // `aws configure set aws_secret_access_key X`, ini files, JSON: any separator.
                    format!(
                        r#"(?i){B}aws_secret_access_key["']?\s*[=:]?\s*["']?(?P<secret>[A-Za-z0-9/+=]{{40}})"#
                    ),
                    unless_variable,
                )]
            },
        ),
        Group::new(
            "github-token",
            &[Trigger::words(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])],
            || {
                vec![Spec::new(
                    "github-token",
                    format!("{B}gh[pousr]_(?P<secret>[A-Za-z0-9]{{36,}}){B}"),
                    whole,
                )]
            },
        ),
        Group::new(
            "github-fine-grained-token",
            &[Trigger::words(&["github_pat_"])],
            || {
                vec![Spec::new(
                    "github-fine-grained-token",
                    format!("{B}github_pat_(?P<secret>[A-Za-z0-9_]{{22,}})"),
                    whole,
                )]
            },
        ),
        Group::new("slack-token", &[Trigger::words(&["xox", "xapp-"])], || {
            vec![Spec::new(
                "slack-token",
                format!("{B}(?:xox[abeprs]|xapp)-(?P<secret>[A-Za-z0-9-]{{10,}})"),
                whole,
            )]
        }),
        Group::new(
            "slack-webhook",
            &[Trigger::words(&["hooks.slack.com/"])],
            || {
                vec![Spec::new(
                    "slack-webhook",
                    r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_-]+)",
                    whole,
                )]
            },
        ),
        Group::new("jwt", &[Trigger::words(&["eyj"])], || {
            vec![Spec::new(
                "jwt",
                format!(
                    "{B}(?P<secret>eyJ[A-Za-z0-9_-]{{7,}}\\.[A-Za-z0-9_-]{{2,}}\\.[A-Za-z0-9_-]*)"
                ),
                whole,
            )]
        }),
    ]
}

#[cfg(test)]
mod tests {
    use crate::redact::Redactor;

    fn redact(text: &str) -> String {
        Redactor::new(&[]).unwrap().redact(text)
    }

    fn assert_untouched(text: &str) {
        assert_eq!(redact(text), text, "should not be redacted: {text}");
    }

    const GH: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";

    #[test]
    fn aws_access_key_ids_keep_their_prefix() {
        assert_eq!(redact("id AKIAIOSFODNN7EXAMPLE x"), "id AKIA**** x");
        assert_eq!(redact("ASIAY34FZKBOKMUTVV7A"), "ASIA****");
        assert_untouched("AKIASHORT");
        assert_untouched("akiaiosfodnn7example");
        assert_untouched("XAKIAIOSFODNN7EXAMPLE");
    }

    #[test]
    fn aws_secret_keys_when_assigned_in_any_syntax() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for line in [
            format!("aws configure set aws_secret_access_key {secret}"),
            format!("AWS_SECRET_ACCESS_KEY={secret}"),
            format!("aws_secret_access_key = {secret}"),
            format!(r#"{{"aws_secret_access_key": "{secret}"}}"#),
        ] {
            assert!(!redact(&line).contains(secret), "{line}");
        }
        // A bare 40-character string (a git commit id) is not a secret on its own.
        assert_untouched("git show 8b5a1c9f3e2d4b6a7c8d9e0f1a2b3c4d5e6f7a8b");
    }

    #[test]
    fn github_tokens() {
        assert_eq!(
            redact(&format!("gh auth login {GH}")),
            "gh auth login ghp_****"
        );
        for prefix in ["gho_", "ghu_", "ghs_", "ghr_"] {
            let token = format!("{prefix}{}", &GH[4..]);
            assert_eq!(redact(&token), format!("{prefix}****"));
        }
        let pat =
            "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV";
        assert_eq!(redact(pat), "github_pat_****");
        assert_untouched("ghp_short");
        assert_untouched("git checkout ghp_feature-branch");
    }

    #[test]
    fn slack_tokens_and_webhooks() {
        assert_eq!(
            redact("SLACK=xoxb-123456789012-abcdefABCDEF"),
            "SLACK=xoxb-****"
        );
        for prefix in ["xoxp", "xoxa", "xoxr", "xoxs", "xapp"] {
            let token = format!("{prefix}-1-A0123456789-abcdef");
            assert_eq!(redact(&token), format!("{prefix}-****"), "{token}");
        }
        assert_eq!(
            redact("curl https://hooks.slack.com/services/T000/B000/XXXXXXXX -d x"),
            "curl https://hooks.slack.com/services/**** -d x"
        );
        assert_untouched("xoxb-short");
        assert_untouched("https://slack.com/services/about");
    }

    #[test]
    fn jwts() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(redact(&format!("token {jwt} end")), "token **** end");
        assert_eq!(redact("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), "****");
        assert_untouched("eyJhbGciOiJIUzI1NiJ9 only one segment");
        assert_untouched("eyes.open.wide");
    }

    #[test]
    fn private_key_blocks_span_lines() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            redact(&format!("echo '{key}' > k")),
            "echo '-----BEGIN RSA PRIVATE KEY-----****-----END RSA PRIVATE KEY-----' > k"
        );
        let openssh =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----";
        assert!(!redact(openssh).contains("b3Blbn"));
        assert!(!redact("-----BEGIN PRIVATE KEY-----\nMIIEvQ truncated").contains("MIIEvQ"));
        assert_untouched("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
        assert_untouched("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----");
    }
}
