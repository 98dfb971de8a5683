//! Password options: the generic ones (`--password`, `--api-key`, gpg's
//! `--passphrase`) and each program's own (`docker login -p`, `redis-cli -a`,
//! `7z -pX`, `smbclient -U u%p`), in every spelling the program accepts.

use super::{assert_masked, assert_untouched, redact, redact_argv};

const PW: &str = "Hunter2Secret";

#[test]
fn generic_secret_options_in_both_spellings() {
    for flag in [
        "--password",
        "--passwd",
        "--pass",
        "--db-password",
        "--db_password",
        "--tlspassword",
        "--token",
        "--auth-token",
        "--access-token",
        "--api-key",
        "--apikey",
        "--private-key",
        "--secret",
        "--client-secret",
        "--oauth2-bearer",
        "--passphrase",
        "-password",
        "-storepass",
        "-passin",
        "--account-key",
        "--PASSWORD",
    ] {
        assert_masked(&["tool", flag, PW], PW);
        assert_masked(&["tool", &format!("{flag}={PW}")], PW);
        assert_masked(&["sudo", "tool", &format!("{flag}='{PW}'")], PW);
    }
}

#[test]
fn secret_options_of_any_length_and_with_dollar_values() {
    assert_eq!(redact_argv(&["curl", "--oauth2-bearer", "ab"])[2], "****");
    // An argv element is final: `$ecret` is the password, not a variable.
    assert_eq!(
        redact_argv(&["app", "--password=$ecretPw"])[1],
        "--password=****"
    );
    assert_eq!(redact_argv(&["app", "--password", "$PW"])[2], "****");
    // In a shell line a `$NAME` is a reference, unless single-quoted.
    assert_eq!(redact("app --password \"$PW\""), "app --password \"$PW\"");
    assert_eq!(redact("app --password '$ecretPw'"), "app --password ****");
}

#[test]
fn options_that_are_not_secrets() {
    assert_untouched(&["docker", "login", "--password-stdin", "registry"]);
    assert_untouched(&["psql", "--no-password", "db"]);
    assert_untouched(&["tool", "--token-file", "/run/t", "--password-file=/run/p"]);
    assert_untouched(&["gpg", "--passphrase-fd", "0", "--batch"]);
    assert_untouched(&["git", "commit", "--bypass-hooks"]);
    assert_untouched(&[
        "tool",
        "--bypass",
        "x",
        "--sort-key",
        "name",
        "--ssh-key",
        "k.pem",
    ]);
    assert_untouched(&["docker", "run", "-p", "8080:80", "-u", "1000:1000", "img"]);
    assert_untouched(&["ssh", "-p", "22", "host"]);
    assert_untouched(&["mkdir", "-p", "dir"]);
}

#[test]
fn registry_logins() {
    for program in [
        "docker", "podman", "nerdctl", "skopeo", "helm", "oras", "oc",
    ] {
        assert_masked(
            &[program, "login", "-u", "me", "-p", PW, "reg.example.com"],
            PW,
        );
        assert_masked(&[program, "login", &format!("-p{PW}"), "reg"], PW);
        assert_masked(&[program, "login", "--password", PW], PW);
    }
    assert_masked(&["helm", "registry", "login", "-p", PW, "reg"], PW);
    assert_masked(
        &["az", "login", "--service-principal", "-u", "id", "-p", PW],
        PW,
    );
    assert_masked(
        &["twine", "upload", "-u", "__token__", "-p", PW, "dist/*"],
        PW,
    );
    assert_eq!(
        redact_argv(&["docker", "login", "-u", "me", "-p", PW, "reg"]),
        ["docker", "login", "-u", "me", "-p", "****", "reg"]
    );
}

#[test]
fn database_and_cache_clients() {
    assert_masked(&["redis-cli", "-h", "cache", "-a", PW, "ping"], PW);
    assert_masked(&["redis-cli", "-a", PW, "--no-auth-warning"], PW);
    assert_masked(&["redis-cli", "AUTH", "default", PW], PW);
    assert_masked(
        &["sqlcmd", "-S", "db", "-U", "sa", "-P", PW, "-Q", "select 1"],
        PW,
    );
    assert_masked(&["sqlcmd", "-S", "db", &format!("-P{PW}")], PW);
    assert_masked(&["bcp", "t", "out", "f", "-U", "sa", "-P", PW], PW);
    for program in ["mongosh", "mongo", "mongodump"] {
        assert_masked(
            &[
                program,
                "-u",
                "admin",
                "-p",
                PW,
                "--authenticationDatabase",
                "a",
            ],
            PW,
        );
    }
    assert_masked(&["mysql", "-uroot", &format!("-p{PW}"), "db"], PW);
    assert_masked(&["mysqladmin", "-u", "root", "password", PW], PW);
    assert_masked(&["sshpass", "-p", PW, "ssh", "host"], PW);
    assert_eq!(redact_argv(&["sqlcmd", "-p", "-P", PW])[1], "-p");
}

#[test]
fn directory_and_file_tools() {
    for program in ["ldapsearch", "ldapadd", "ldapmodify", "ldapwhoami"] {
        assert_masked(
            &[program, "-x", "-D", "cn=admin", "-w", PW, "-b", "dc=x"],
            PW,
        );
        assert_masked(&[program, "-x", &format!("-w{PW}")], PW);
        assert_masked(&[program, "-xw", PW, "-H", "ldap://h"], PW);
        assert_masked(&[program, &format!("-xw{PW}")], PW);
    }
    assert_masked(
        &["ldappasswd", "-x", "-w", "old1Admin", "-s", PW, "uid=u"],
        PW,
    );
    assert_masked(&["gpg", "--batch", "--passphrase", PW, "-c", "f"], PW);
    assert_masked(
        &[
            "gpg",
            "--batch",
            &format!("--passphrase={PW}"),
            "-d",
            "f.gpg",
        ],
        PW,
    );
    assert_masked(
        &["openssl", "enc", "-aes-256-cbc", "-k", PW, "-in", "f"],
        PW,
    );
    assert_masked(
        &["openssl", "enc", "-pass", &format!("pass:{PW}"), "-in", "f"],
        PW,
    );
    assert_masked(&["openssl", "passwd", "-6", PW], PW);
    assert_masked(&["zip", "-P", PW, "out.zip", "f"], PW);
    assert_masked(&["zip", "-rP", PW, "out.zip", "dir"], PW);
    assert_masked(&["unzip", "-P", PW, "in.zip"], PW);
    for program in ["7z", "7za", "7zz"] {
        assert_masked(
            &[program, "a", &format!("-p{PW}"), "-mhe=on", "o.7z", "d"],
            PW,
        );
        assert_masked(&[program, "x", &format!("-p{PW}"), "o.7z"], PW);
    }
    assert_masked(&["rar", "a", &format!("-hp{PW}"), "o.rar", "d"], PW);
    assert_untouched(&["7z", "x", "-p", "archive.7z"]);
}

#[test]
fn htpasswd_batch_mode() {
    assert_masked(&["htpasswd", "-b", ".htpasswd", "alice", PW], PW);
    assert_masked(&["htpasswd", "-bc", ".htpasswd", "alice", PW], PW);
    assert_masked(&["htpasswd", "-nbB", "alice", PW], PW);
    assert_masked(&["htpasswd", "-B", "-C", "10", "-b", "f", "alice", PW], PW);
    assert_untouched(&["htpasswd", "-c", ".htpasswd", "alice"]);
}

#[test]
fn user_and_password_pairs() {
    assert_masked(
        &["smbclient", "//srv/share", "-U", &format!("alice%{PW}")],
        PW,
    );
    assert_masked(&["smbclient", "//srv/share", &format!("-Ualice%{PW}")], PW);
    assert_masked(
        &[
            "smbclient",
            "//srv/share",
            &format!("--user=DOM\\alice%{PW}"),
        ],
        PW,
    );
    assert_masked(&["rpcclient", "-U", &format!("alice%{PW}"), "srv"], PW);
    assert_masked(&["net", "rpc", "info", "-U", &format!("alice%{PW}")], PW);
    assert_masked(&["http", "-a", &format!("alice:{PW}"), "example.org"], PW);
    assert_masked(&["http", &format!("--auth=alice:{PW}"), "example.org"], PW);
    assert_masked(&["xh", "-A", "bearer", "-a", PW, "example.org"], PW);
    assert_masked(&["curl", "-u", &format!("alice:{PW}"), "https://x"], PW);
    assert_masked(
        &["curl", "--proxy-user", &format!("alice:{PW}"), "https://x"],
        PW,
    );
    assert_masked(
        &[
            "skopeo",
            "copy",
            "--src-creds",
            &format!("alice:{PW}"),
            "a",
            "b",
        ],
        PW,
    );
    assert_masked(
        &["lftp", "-u", &format!("alice,{PW}"), "ftp.example.com"],
        PW,
    );
    assert_masked(&["nxc", "smb", "10.0.0.1", "-u", "alice", "-p", PW], PW);
    assert_eq!(
        redact_argv(&["smbclient", "-U", "alice%pw"]),
        ["smbclient", "-U", "alice%****"]
    );
    assert_untouched(&["smbclient", "-L", "srv", "-U", "alice"]);
}

#[test]
fn secrets_set_through_a_cli() {
    assert_masked(&["gh", "secret", "set", "TOKEN", "--body", PW], PW);
    assert_masked(&["gh", "secret", "set", "TOKEN", "-b", PW], PW);
    assert_masked(
        &[
            "kubectl",
            "create",
            "secret",
            "generic",
            "s",
            &format!("--from-literal=anything={PW}"),
        ],
        PW,
    );
    assert_masked(
        &[
            "npm",
            "config",
            "set",
            "//registry.npmjs.org/:_authToken",
            PW,
        ],
        PW,
    );
    assert_masked(&["yarn", "config", "set", "npmAuthToken", PW], PW);
    assert_masked(&["git", "config", "--global", "github.token", PW], PW);
    assert_masked(
        &["aws", "configure", "set", "aws_secret_access_key", PW],
        PW,
    );
    assert_masked(&["vault", "login", PW], PW);
    assert_untouched(&["git", "config", "--global", "user.name", "Alice"]);
    assert_untouched(&[
        "npm",
        "config",
        "set",
        "registry",
        "https://registry.example.com",
    ]);
    assert_untouched(&["vault", "login", "-method=oidc"]);
}

#[test]
fn options_inside_shell_lines_and_wrappers() {
    for line in [
        format!("docker login -u me -p '{PW}' reg && docker push img"),
        format!("sudo -u svc redis-cli -a \"{PW}\" ping"),
        format!("cd /x; ldapsearch -xw{PW} -b dc=x"),
        format!("timeout 5 mysql -uroot -p{PW} -e 'select 1'"),
        format!("zip -rP {PW} o.zip d | tee log"),
        format!("echo hi; smbclient //s/x -U 'bob%{PW}'"),
    ] {
        let out = redact_argv(&["bash", "-lc", &line]);
        assert!(!out[2].contains(PW), "{line} -> {}", out[2]);
        assert!(!redact(&line).contains(PW), "{line}");
    }
    assert_eq!(
        redact("docker login -u me -p 'a b' reg"),
        "docker login -u me -p **** reg"
    );
    // A program's own option counts wherever its name comes first, also in prose
    // (a reason); a message about the option loses only the word after it.
    assert!(!redact(&format!("needed: redis-cli -a {PW} ping")).contains(PW));
    assert_eq!(
        redact_argv(&["git", "commit", "-m", "fix docker login -p flag parsing"])[3],
        "fix docker login -p **** parsing"
    );
    assert_untouched(&["git", "commit", "-m", "the vault login page is broken"]);
    assert_untouched(&["echo", "update the config token expiry"]);
}

#[test]
fn every_tool_row_names_its_source() {
    for tool in crate::redact::tools::TOOLS {
        assert!(!tool.source.is_empty(), "{:?} has no source", tool.programs);
        assert!(
            !tool.options.is_empty()
                || matches!(
                    tool.given,
                    crate::redact::tools::Given::LastOperand
                        | crate::redact::tools::Given::AfterSecretKey
                ),
            "{:?} names no option",
            tool.programs
        );
    }
}
