//! `password: x`, `'password': 'x'` and `"token": "x"` inside an argument: YAML,
//! JSON and Python or Ruby literals passed on a command line.

use super::{assert_masked, assert_untouched, redact};

const V: &str = "pa55Word99";

#[test]
fn fields_in_every_quoting() {
    for text in [
        format!("password: {V}"),
        format!("db:\n  password: {V}\n"),
        format!("{{'password': '{V}'}}"),
        format!("{{\"password\": \"{V}\"}}"),
        format!("{{\"api_key\":\"{V}\",\"user\":\"a\"}}"),
        format!("dict(user='a', 'secret': \"{V}\")"),
        format!("{{:token => '{V}'}}"),
        format!("PASSWORD : {V}"),
        format!("client_secret: '{V}'"),
    ] {
        assert_masked(&["app", "--config", &text], V);
        assert_masked(&["python3", "-c", &format!("print({text:?})")], V);
    }
    assert_eq!(
        redact(&format!("{{'password': '{V}'}}")),
        "{'password': '****'}"
    );
}

#[test]
fn fields_that_are_not_secrets() {
    assert_untouched(&["grep", "-r", "password", "docs/"]);
    assert_untouched(&["kubectl", "get", "secret", "db-password", "-o", "yaml"]);
    assert_untouched(&["docker", "pull", "registry.example.com/app-secret:1.2"]);
    assert_untouched(&["echo", "{\"user\":\"a\",\"token_ttl\":\"5m\"}"]);
    assert_untouched(&["echo", "password:"]);
}
