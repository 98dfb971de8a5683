//! Everyday agent and CI commands come through unchanged: redaction must never
//! hide what an approver needs to see.

use super::assert_untouched;

#[test]
fn everyday_commands_are_left_alone() {
    for argv in [
        &["git", "commit", "-m", "fix the key parser"][..],
        &["git", "commit", "-m", "rotate the password policy docs"],
        &["git", "status"],
        &["git", "log", "--oneline", "-20"],
        &["git", "diff", "HEAD~1", "--", "src/redact/names.rs"],
        &["git", "push", "origin", "feature/token-refresh"],
        &["ls", "-la"],
        &["kubectl", "get", "pods", "-n", "keycloak"],
        &["kubectl", "get", "secret", "api-token", "-o", "name"],
        &["grep", "-r", "password", "docs/"],
        &["rg", "-n", "api_key", "src/"],
        &["find", ".", "-name", "*.key"],
        &["cargo", "test", "--lib", "redact"],
        &["npm", "run", "build", "--", "--mode=production"],
        &["pytest", "-k", "test_token_expiry", "-x"],
        &["terraform", "plan", "-var", "region=eu-west-1"],
        &[
            "docker",
            "run",
            "--rm",
            "-p",
            "8080:80",
            "-e",
            "LOG_LEVEL=debug",
            "nginx",
        ],
        &["python3", "-c", "print(sum(range(10)))"],
        &["ssh", "-p", "2222", "deploy@host", "uptime"],
        &["mysql", "-u", "root", "-p", "db"],
        &["redis-cli", "-h", "cache", "ping"],
        &["openssl", "x509", "-in", "cert.pem", "-noout", "-text"],
        &["zip", "-r", "out.zip", "dir"],
        &["7z", "a", "out.7z", "dir"],
        &["curl", "-fsSL", "https://example.com/install.sh"],
        &["gpg", "--list-keys"],
        &["echo", "the deploy key is rotated monthly"],
        &["sort", "-k", "2", "-t", ",", "data.csv"],
        &["make", "PREFIX=/usr/local", "install"],
    ] {
        assert_untouched(argv);
    }
}
