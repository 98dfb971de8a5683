use super::*;

fn glob(source: &str) -> Glob {
    Glob::parse(source).expect("valid glob")
}

fn pattern(source: &str) -> Pattern {
    Pattern::parse(source).expect("valid pattern")
}

fn argv(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

fn matches(pat: &str, line: &str) -> bool {
    pattern(pat).matches(&argv(line))
}

fn glob_error(source: &str) -> (usize, String) {
    let err = Glob::parse(source).expect_err("invalid glob");
    assert!(err.hint.is_some(), "every error says the fix: {err:?}");
    (err.offset, err.message)
}

#[test]
fn literal_glob_matches_only_itself() {
    assert!(glob("kubectl").is_match("kubectl"));
    assert!(!glob("kubectl").is_match("kubectl2"));
    assert!(!glob("kubectl").is_match("kube"));
    assert!(glob("").is_match(""));
}

#[test]
fn star_matches_any_run_including_slash() {
    let g = glob("prod-*");
    assert!(g.is_match("prod-"));
    assert!(g.is_match("prod-eu/west"));
    assert!(!g.is_match("staging-eu"));
    assert!(glob("*.yaml").is_match("dir/app.yaml"));
    assert!(glob("a*b*c").is_match("aXbYbZc"));
    assert!(!glob("a*b*c").is_match("aXbYbZ"));
    assert!(glob("**").is_match("any/thing"));
}

#[test]
fn question_mark_matches_one_character() {
    assert!(glob("v?").is_match("v1"));
    assert!(glob("v?").is_match("vé"));
    assert!(!glob("v?").is_match("v"));
    assert!(!glob("v?").is_match("v12"));
}

#[test]
fn classes_match_sets_ranges_and_negations() {
    assert!(glob("[abc]x").is_match("bx"));
    assert!(!glob("[abc]x").is_match("dx"));
    assert!(glob("[a-z0-9]").is_match("q"));
    assert!(glob("[a-z0-9]").is_match("7"));
    assert!(!glob("[a-z0-9]").is_match("Q"));
    assert!(glob("[!x]").is_match("y"));
    assert!(!glob("[!x]").is_match("x"));
    assert!(glob("[^x]").is_match("y"));
    assert!(glob("[a-]").is_match("-"));
    assert!(glob("[\\]]").is_match("]"));
}

#[test]
fn braces_are_alternatives_and_may_nest_and_hold_globs() {
    let g = glob("{get,describe,logs}");
    assert!(g.is_match("get") && g.is_match("logs"));
    assert!(!g.is_match("delete"));
    assert!(glob("{a,b*}").is_match("bzz"));
    assert!(glob("x{a,b{c,d}}y").is_match("xbdy"));
    assert!(glob("x{a,}y").is_match("xy"));
    assert!(glob("{}").is_match("{}"));
    assert!(glob("a,b}").is_match("a,b}"));
}

#[test]
fn backslash_makes_syntax_literal() {
    assert!(glob("\\*").is_match("*"));
    assert!(!glob("\\*").is_match("x"));
    assert!(glob("\\{a,b\\}").is_match("{a,b}"));
    assert!(glob("a\\?").is_match("a?"));
}

#[test]
fn glob_errors_point_at_the_offending_character() {
    assert_eq!(glob_error("ab[cd"), (2, "unclosed `[`".into()));
    assert_eq!(glob_error("x{a,b"), (1, "unclosed `{`".into()));
    assert_eq!(glob_error("a[]"), (1, "empty character class".into()));
    assert_eq!(glob_error("[!]"), (0, "empty character class".into()));
    assert_eq!(
        glob_error("abc\\"),
        (3, "trailing backslash escapes nothing".into())
    );
    assert_eq!(glob_error("a**b"), (1, "`**` inside a word".into()));
    assert_eq!(glob_error("[z-a]").0, 1);
}

#[test]
fn too_many_alternatives_is_an_error() {
    let source = "{a,b,c,d}".repeat(6);
    assert_eq!(glob_error(&source).1, "too many brace alternatives");
}

#[test]
fn pattern_errors_have_offsets_in_the_whole_pattern() {
    let err = Pattern::parse("kubectl get [abc").expect_err("unclosed");
    assert_eq!(err.offset, 12);
    let err = Pattern::parse("kubectl 'get").expect_err("unclosed quote");
    assert_eq!(err.offset, 8);
    let err = Pattern::parse("rm a**b").expect_err("double star");
    assert_eq!(err.offset, 4);
    let err = Pattern::parse("   ").expect_err("empty");
    assert_eq!(err.message, "empty match pattern");
    assert!(Pattern::parse("").is_err());
}

#[test]
fn program_matches_by_basename_unless_token_has_a_slash() {
    assert!(matches(
        "kubectl get pods",
        "/usr/local/bin/kubectl get pods"
    ));
    assert!(matches("kubectl get pods", "kubectl get pods"));
    assert!(matches("/usr/bin/kubectl **", "/usr/bin/kubectl get"));
    assert!(!matches("/usr/bin/kubectl **", "kubectl get"));
    assert!(!matches("/usr/bin/kubectl **", "/opt/kubectl get"));
    assert!(matches("kube* **", "/usr/bin/kubectl get"));
    // Only the program is matched by basename; later arguments are whole.
    assert!(!matches("cat passwd", "cat /etc/passwd"));
}

#[test]
fn double_star_matches_zero_or_more_whole_arguments() {
    assert!(matches("kubectl **", "kubectl"));
    assert!(matches("kubectl **", "kubectl get pods -A"));
    assert!(matches("** delete", "kubectl -n x delete"));
    assert!(matches("**", ""));
    assert!(matches(
        "kubectl ** delete ns **",
        "kubectl --context prod delete ns a"
    ));
    assert!(matches("kubectl ** delete ns **", "kubectl delete ns"));
    assert!(!matches("kubectl ** delete ns **", "kubectl get ns"));
    assert!(matches("rm ** -rf /", "rm -v -rf /"));
    assert!(!matches("rm ** -rf /", "rm -rf / x"));
}

#[test]
fn several_double_stars_match_without_blowing_up() {
    assert!(matches("a ** b ** c ** d", "a x b y c z d"));
    assert!(!matches("a ** b ** c ** d", "a x c y b z d"));
    let pat = format!("x {}y", "** z ".repeat(20));
    let long = format!("x {} q", "z ".repeat(200));
    assert!(!matches(&pat, &long));
}

#[test]
fn a_glob_never_spans_two_arguments() {
    assert!(!matches("kubectl delete*", "kubectl delete ns"));
    assert!(matches("kubectl delete*", "kubectl deletens"));
    assert!(!matches("kubectl *", "kubectl get pods"));
    assert!(!matches("kubectl", "kubectl get"));
}

#[test]
fn quotes_group_words_and_make_globs_literal() {
    let p = pattern("cat \"my file\" 'a b' c\\ d");
    let args: Vec<String> = ["cat", "my file", "a b", "c d"].map(String::from).into();
    assert!(p.matches(&args));
    assert!(pattern("echo '*'").matches(&["echo".into(), "*".into()]));
    assert!(!pattern("echo '*'").matches(&["echo".into(), "x".into()]));
    assert!(pattern("echo \"**\"").matches(&["echo".into(), "**".into()]));
    assert!(pattern("echo ''").matches(&["echo".into(), String::new()]));
}

#[test]
fn program_names_expand_braces_and_refuse_wildcards() {
    assert_eq!(
        pattern("kubectl get").program_names(),
        Some(vec!["kubectl".into()])
    );
    assert_eq!(
        pattern("{kubectl,oc} delete **").program_names(),
        Some(vec!["kubectl".into(), "oc".into()])
    );
    assert_eq!(
        pattern("/usr/bin/rm **").program_names(),
        Some(vec!["rm".into()])
    );
    assert_eq!(pattern("kube* get").program_names(), None);
    assert_eq!(pattern("** rm").program_names(), None);
    assert_eq!(pattern("{kubectl,k*}").program_names(), None);
}

#[test]
fn compiled_patterns_survive_a_postcard_round_trip() {
    let p = pattern("{kubectl,oc} ** delete [a-z]* **");
    let bytes = postcard::to_allocvec(&p).expect("serialize");
    let back: Pattern = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(back, p);
    assert!(back.matches(&argv("oc -n x delete ns a")));
}
