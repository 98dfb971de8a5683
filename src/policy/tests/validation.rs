//! Every kind of validation error: where it points, what it says, the hint.

use super::{errors, policy, render_all};

/// Assert the policy has exactly one error, at `line:column`, with this message
/// and (when given) this hint.
#[track_caller]
fn assert_error(source: &str, line: usize, column: usize, message: &str, hint: Option<&str>) {
    let found = errors(source);
    assert_eq!(
        found.len(),
        1,
        "expected one error, got:\n{}",
        render_all(&found)
    );
    let d = &found[0];
    assert_eq!(
        (d.line, d.column, d.message.as_str()),
        (line, column, message),
        "{d:#?}"
    );
    if let Some(hint) = hint {
        assert_eq!(d.hint.as_deref(), Some(hint), "{d:#?}");
    }
}

const RULE: &str = "[[rule]]\nname = \"r\"\naction = \"approve\"\nmatch = \"kubectl **\"\n";

#[test]
fn a_minimal_policy_gets_the_documented_defaults() {
    let p = policy("version = 1\n");
    assert_eq!(p.default, crate::policy::Action::Approve);
    assert_eq!(p.opaque, crate::policy::Action::Approve);
    assert_eq!(p.approval.quorum, 1);
    assert_eq!(p.approval.timeout, std::time::Duration::from_secs(900));
}

#[test]
fn toml_syntax_errors_are_positioned() {
    let found = errors("version = 1\ndefault = \n");
    assert_eq!((found[0].line, found[0].column), (2, 11));
}

#[test]
fn version_is_required_and_must_be_one() {
    assert_error(
        "default = \"allow\"\n",
        1,
        1,
        "missing \"version\"",
        Some("add version = 1 at the top of the file"),
    );
    assert_error("version = 2\n", 1, 11, "unsupported policy version 2", None);
    assert_error(
        "version = \"1\"\n",
        1,
        11,
        "\"version\" must be a whole number",
        None,
    );
}

#[test]
fn unknown_keys_suggest_the_closest_known_key() {
    assert_error(
        "version = 1\n[[rules]]\n",
        2,
        3,
        "unknown key \"rules\"",
        Some("did you mean \"rule\"?"),
    );
    let source = format!("version = 1\n{RULE}aprovers = []\n");
    assert_error(
        &source,
        6,
        1,
        "unknown key \"aprovers\"",
        Some("did you mean \"approvers\"?"),
    );
    assert_error(
        "version = 1\n[channel]\nslack = 1\n",
        2,
        2,
        "unknown key \"channel\"",
        None,
    );
    let source = "version = 1\n[people.al]\nmail = \"a@x\"\n";
    assert_error(
        source,
        3,
        1,
        "unknown key \"mail\"",
        Some("did you mean \"email\"?"),
    );
}

#[test]
fn wrong_types_name_the_expected_type() {
    let source = format!("version = 1\n{RULE}quorum = \"2\"\n");
    assert_error(
        &source,
        6,
        10,
        "\"quorum\" must be a whole number, not a string",
        None,
    );
    let source = format!("version = 1\n{RULE}require_reason = \"yes\"\n");
    assert_error(
        &source,
        6,
        18,
        "\"require_reason\" must be true or false, not a string",
        None,
    );
    assert_error(
        "version = 1\n[rule]\n",
        2,
        1,
        "\"rule\" must be an array of tables",
        Some("write each one as [[rule]]"),
    );
}

#[test]
fn bad_actions_suggest_a_valid_one() {
    let source = "version = 1\n[[rule]]\nname = \"r\"\naction = \"alow\"\nmatch = \"ls\"\n";
    assert_error(
        source,
        4,
        10,
        "unknown action \"alow\"",
        Some("did you mean \"allow\"?"),
    );
    assert_error(
        "version = 1\ndefault = \"block\"\n",
        2,
        11,
        "unknown default \"block\"",
        Some("use \"allow\", \"approve\" or \"deny\""),
    );
}

#[test]
fn bad_globs_point_at_the_character_inside_the_string() {
    let source =
        "version = 1\n[[rule]]\nname = \"r\"\naction = \"deny\"\nmatch = [\"ls\", \"rm {a,b\"]\n";
    // `match = ["ls", "rm {a,b"]`: the `{` is the 20th character.
    let found = errors(source);
    assert_eq!(
        (found[0].line, found[0].column, found[0].length),
        (5, 20, 1)
    );
    assert!(found[0].message.contains("unclosed `{`"), "{:?}", found[0]);
    let source = "version = 1\n[[rule]]\nname = \"r\"\naction = \"deny\"\nmatch = \"ls\"\nenv = { CTX = 'prod-[' }\n";
    let found = errors(source);
    assert_eq!((found[0].line, found[0].column), (6, 21));
    assert!(
        found[0].message.starts_with("invalid CTX \"prod-[\""),
        "{:?}",
        found[0]
    );
}

#[test]
fn durations_must_parse_and_be_positive() {
    let found = errors("version = 1\n[approval]\ntimeout = \"15 minutes please\"\n");
    assert_eq!((found[0].line, found[0].column), (3, 11));
    assert!(
        found[0]
            .message
            .starts_with("timeout \"15 minutes please\" is not a duration")
    );
    assert_eq!(found[0].hint.as_deref(), Some(DURATION_HINT));
    assert_error(
        "version = 1\n[approval]\ntimeout = \"0s\"\n",
        3,
        11,
        "timeout must be longer than zero",
        None,
    );
}

const DURATION_HINT: &str =
    "write a duration as a string with units, such as \"90s\", \"15m\" or \"1h30m\"";

#[test]
fn a_duration_that_is_a_word_or_a_bare_number_says_what_a_duration_looks_like() {
    let found = errors("version = 1\n[approval]\ntimeout = \"fifteen\"\n");
    assert!(
        found[0]
            .message
            .starts_with("timeout \"fifteen\" is not a duration")
    );
    assert_eq!(found[0].hint.as_deref(), Some(DURATION_HINT));
    let hint = format!("write timeout = \"15m\" for 15 minutes; {DURATION_HINT}");
    let message = "\"timeout\" must be a duration with a unit, not a number";
    assert_error(
        "version = 1\n[approval]\ntimeout = 15\n",
        3,
        11,
        message,
        Some(&hint),
    );
    let rule = format!("version = 1\n{RULE}timeout = 15\n");
    assert_error(&rule, 6, 11, message, Some(&hint));
}

#[test]
fn redact_patterns_must_compile() {
    let found = errors("version = 1\n[redact]\npatterns = [\"ok\", \"(unclosed\"]\n");
    assert_eq!((found.len(), found[0].line, found[0].column), (1, 3, 19));
    assert!(
        found[0].message.starts_with("invalid redact pattern: "),
        "{:?}",
        found[0]
    );
}

#[test]
fn approvers_must_name_known_people_and_groups() {
    let head =
        "version = 1\n[people.alice]\nunix = \"alice\"\n[groups]\nsre = [\"alice\"]\n[approval]\n";
    assert_error(
        &format!("{head}approvers = [\"alise\"]\n"),
        7,
        14,
        "unknown person \"alise\"",
        Some("did you mean \"alice\"?"),
    );
    assert_error(
        &format!("{head}approvers = [\"group:sr\"]\n"),
        7,
        14,
        "unknown group \"sr\"",
        Some("did you mean \"group:sre\"?"),
    );
    assert_error(
        &format!("{head}approvers = [\"unix:bob\"]\n"),
        7,
        14,
        "unknown approver \"unix:bob\"",
        None,
    );
}

#[test]
fn a_name_without_a_people_section_is_a_login() {
    // The DESIGN example: alice has a [people] section, bob only a login.
    let source = "version = 1\n[people.alice]\nunix = \"alice\"\n[groups]\nsre = [\"alice\", \"bob\"]\n[approval]\napprovers = [\"group:sre\", \"carol\"]\nquorum = 3\n";
    let policy = crate::policy::Policy::parse(source, "policy.toml").expect("valid policy");
    assert_eq!(policy.people["bob"].unix.as_deref(), Some("bob"));
    assert_eq!(policy.people["carol"].unix.as_deref(), Some("carol"));
    assert_eq!(policy.people["alice"].unix.as_deref(), Some("alice"));
}

#[test]
fn one_identity_cannot_belong_to_two_people() {
    let source = "version = 1\n[people.a]\nslack = \"U1\"\n[people.b]\nslack = \"U1\"\n";
    assert_error(
        source,
        5,
        9,
        "slack identity \"U1\" already belongs to \"a\"",
        None,
    );
}

#[test]
fn rule_names_are_required_and_unique() {
    let source = format!("version = 1\n{RULE}{RULE}");
    assert_error(
        &source,
        7,
        8,
        "duplicate rule name \"r\"",
        Some("a rule with this name is already defined on line 3; rule names must be unique"),
    );
    let source = "version = 1\n[[rule]]\naction = \"deny\"\n";
    let found = errors(source);
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "[[rule]] is missing \"name\"",
            "[[rule]] is missing \"match\""
        ]
    );
    assert_eq!((found[0].line, found[0].column, found[0].length), (2, 1, 8));
}

#[test]
fn match_must_not_be_empty() {
    let source = "version = 1\n[[rule]]\nname = \"r\"\naction = \"deny\"\nmatch = []\n";
    assert_error(source, 5, 9, "\"match\" needs at least one pattern", None);
}

#[test]
fn quorum_must_be_at_least_one() {
    let message = "quorum must be at least 1";
    let hint = "[approval] quorum is the number of approvals a request needs when its rule \
                sets none: 1 or more";
    assert_error(
        "version = 1\n[approval]\nquorum = 0\n",
        3,
        10,
        message,
        Some(hint),
    );
    let rule = format!("version = 1\n{RULE}quorum = 0\n");
    let hint = "quorum = 1 needs one approval; to need none, make the rule action = \"allow\"";
    assert_error(&rule, 6, 10, message, Some(hint));
}

#[test]
fn approval_keys_only_belong_on_approve_rules() {
    let source =
        "version = 1\n[[rule]]\nname = \"r\"\naction = \"deny\"\nmatch = \"ls\"\nquorum = 2\n";
    assert_error(
        source,
        6,
        1,
        "\"quorum\" only applies to approve rules",
        Some("this rule's action is \"deny\"; remove \"quorum\" or set action = \"approve\""),
    );
}

#[test]
fn a_quorum_the_approvers_cannot_reach_is_an_error() {
    let head = "version = 1\n[people.a]\n[people.b]\n[groups]\nsre = [\"a\", \"b\"]\n";
    let source = format!("{head}[approval]\napprovers = [\"a\", \"group:sre\"]\nquorum = 3\n");
    assert_error(
        &source,
        8,
        10,
        "[approval] needs 3 approvals but its approvers are only 2 people (a, b)",
        None,
    );
    let source = format!("{head}[approval]\nquorum = 2\n{RULE}approvers = [\"a\"]\n");
    assert_error(
        &source,
        12,
        13,
        "rule \"r\" needs 2 approvals but its approvers are only 1 person (a)",
        None,
    );
    // An empty list means any approver the broker knows: always reachable.
    policy(&format!("{head}{RULE}approvers = []\nquorum = 5\n"));
}

#[test]
fn test_cases_need_a_command_and_a_valid_expectation() {
    assert_error(
        "version = 1\n[[test]]\ncommand = \"ls\"\n",
        2,
        1,
        "[[test]] is missing \"expect\"",
        None,
    );
    let source = "version = 1\n[[test]]\ncommand = \"ls\"\nexpect = \"aprove\"\n";
    assert_error(
        source,
        4,
        10,
        "unknown expect \"aprove\"",
        Some("did you mean \"approve\"?"),
    );
}

#[test]
fn every_error_is_reported_at_once_in_source_order() {
    let source = "version = 1\ndefault = \"alow\"\n[approval]\ntimeout = \"soon\"\n[[rule]]\nname = \"r\"\naction = \"deny\"\nmatch = \"rm [\"\nquorum = 2\n";
    let found = errors(source);
    let lines: Vec<usize> = found.iter().map(|d| d.line).collect();
    assert_eq!(lines, [2, 4, 8, 9], "{}", render_all(&found));
}

#[test]
fn truncated_or_mangled_input_never_panics() {
    let source = crate::policy::DEFAULT_POLICY;
    let cuts = (0..source.len())
        .step_by(13)
        .filter(|&i| source.is_char_boundary(i));
    for cut in cuts {
        let _ = crate::policy::Policy::parse(&source[..cut], "p");
        let mangled = format!("{}\"{{[\\u{{zz", &source[..cut]);
        let _ = crate::policy::Policy::parse(&mangled, "p");
    }
}

#[test]
fn the_api_channel_is_read_and_checked() {
    let p = policy(
        "version = 1\n[channels.api]\nurl = \"https://gate.example.com\"\nserver_key = \"broker.pem\"\n",
    );
    let api = p.channels.api.expect("[channels.api]");
    assert_eq!(api.url, ["https://gate.example.com"]);
    assert_eq!(api.server_key.as_deref(), Some("broker.pem"));
    assert_eq!(policy("version = 1\n").channels.api, None);
    let several =
        "version = 1\n[channels.api]\nurl = [\"https://a:8443\", \"https://b:8443,https://c\"]\n";
    assert_eq!(
        policy(several).channels.api.expect("[channels.api]").url,
        ["https://a:8443", "https://b:8443", "https://c"]
    );

    assert_error(
        "version = 1\n[channels.api]\nurl = \"gate.example.com\"\n",
        3,
        7,
        "the broker URL must start with http:// or https://",
        None,
    );
    assert_error(
        "version = 1\n[channels.api]\nurl = [\"https://a\", \"b:1\"]\n",
        3,
        21,
        "the broker URL must start with http:// or https://",
        None,
    );
    assert_error(
        "version = 1\n[channels.api]\nurl = \"https://a, b:1\"\n",
        3,
        7,
        "the broker URL must start with http:// or https://: \"b:1\"",
        None,
    );
    assert_error(
        "version = 1\n[channels.api]\nurl = \"http://x\"\nserverkey = \"k.pem\"\n",
        4,
        1,
        "unknown key \"serverkey\"",
        Some("did you mean \"server_key\"?"),
    );
    assert_error(
        "version = 1\n[channels.slack]\nurl = \"http://x\"\n",
        2,
        11,
        "unknown key \"slack\"",
        Some("[channels] accepts: api"),
    );
}

#[test]
fn agents_claude_code_settings_are_read_and_checked() {
    let p = policy(
        "version = 1\n[agents.claude-code]\napproval_timeout = \"90s\"\n\
         tools = { WebFetch = \"deny\", Write = \"ask\", Read = \"allow\" }\n",
    );
    let settings = &p.agents.claude_code;
    assert_eq!(
        settings.approval_timeout,
        std::time::Duration::from_secs(90)
    );
    assert_eq!(
        settings.tools["WebFetch"],
        crate::policy::ToolDecision::Deny
    );
    assert_eq!(settings.tools["Write"], crate::policy::ToolDecision::Ask);
    assert_eq!(settings.tools["Read"], crate::policy::ToolDecision::Allow);

    let default = policy("version = 1\n");
    assert_eq!(
        default.agents.claude_code.approval_timeout,
        crate::policy::DEFAULT_HOOK_TIMEOUT
    );
    assert!(default.agents.claude_code.tools.is_empty());
}

#[test]
fn agents_errors_point_at_the_spot() {
    assert_error(
        "version = 1\n[agents.claude-code]\ntools = { Write = \"alow\" }\n",
        3,
        19,
        "unknown decision \"alow\" for tool \"Write\"",
        Some("did you mean \"allow\"?"),
    );
    let found = errors("version = 1\n[agents.claude-code]\napproval_timout = \"5m\"\n");
    assert_eq!(
        (found.len(), found[0].line),
        (1, 3),
        "{}",
        render_all(&found)
    );
    assert!(
        found[0].message.contains("approval_timout"),
        "{:?}",
        found[0]
    );
    let found = errors("version = 1\n[agents.codex]\n");
    assert_eq!(
        (found.len(), found[0].line),
        (1, 2),
        "{}",
        render_all(&found)
    );
    assert_error(
        "version = 1\n[agents.claude-code]\napproval_timeout = \"0s\"\n",
        3,
        20,
        "approval_timeout must be longer than zero",
        None,
    );
}
