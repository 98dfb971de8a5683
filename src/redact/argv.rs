//! Argv-aware redaction: secrets that are only recognisable from the element
//! *before* them (`--password VALUE`, `sshpass -p VALUE`, `curl -u USER:PASS`) and
//! short options that mean "password" only for one program (`mysql -pSECRET`).
//!
//! Every element is also redacted as free text, so a `sh -c "..."` line inside the
//! argv gets the full treatment. Never changes the number of elements.

use super::MASK;
use super::context::{MYSQL_CLIENTS, SECRET_FLAG};
use super::rule::is_variable_reference;
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// A program whose short options carry secrets. Found anywhere in the argv, so
/// `sudo mysql -pX` and `docker exec db mysql -pX` are covered too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Other,
    Mysql,
    Sshpass,
    Curl,
}

/// What the previous element says about the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Plain,
    /// The whole element is a secret (`--token VALUE`).
    Secret,
    /// `USER:PASSWORD`, mask after the first colon (`curl -u`).
    UserPassword,
}

/// An option that takes a secret, as a whole argv element.
static SECRET_FLAG_ALONE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(&format!("(?i)^{SECRET_FLAG}$")).ok());

pub(super) fn redact_argv(argv: &[String], redact_text: impl Fn(&str) -> String) -> Vec<String> {
    let mut program = Program::Other;
    let mut next = Next::Plain;
    argv.iter()
        .map(|arg| {
            let this = std::mem::replace(&mut next, Next::Plain);
            if let Some(masked) = mask_value(this, arg) {
                return masked;
            }
            program = program_named(arg).unwrap_or(program);
            next = what_follows(arg, program);
            redact_text(&mask_attached_value(arg, program))
        })
        .collect()
}

/// The element masked because of the option before it; `None` if it is not a value
/// after all (an option, as in `psql --password --host h`).
fn mask_value(next: Next, arg: &str) -> Option<String> {
    let is_option = arg.len() > 1 && arg.starts_with('-');
    if next == Next::Plain || is_option || is_variable_reference(arg) {
        return None;
    }
    match next {
        Next::UserPassword => mask_after_colon(arg).map(Cow::into_owned),
        _ => Some(MASK.to_owned()),
    }
}

fn program_named(arg: &str) -> Option<Program> {
    let name = arg.rsplit('/').next().unwrap_or(arg);
    match name {
        "sshpass" => Some(Program::Sshpass),
        "curl" => Some(Program::Curl),
        _ if MYSQL_CLIENTS.contains(&name) => Some(Program::Mysql),
        _ => None,
    }
}

fn what_follows(arg: &str, program: Program) -> Next {
    let negated = arg.to_ascii_lowercase().starts_with("--no-");
    let secret_flag = arg.starts_with('-')
        && super::might_hold_secret(arg)
        && SECRET_FLAG_ALONE
            .as_ref()
            .is_some_and(|re| re.is_match(arg));
    match (program, arg) {
        _ if secret_flag && !negated => Next::Secret,
        (Program::Sshpass, "-p") => Next::Secret,
        (Program::Curl, "-u" | "--user") => Next::UserPassword,
        _ => Next::Plain,
    }
}

/// Short options with the secret attached: `mysql -pX`, `sshpass -pX`, `curl -uU:P`.
fn mask_attached_value(arg: &str, program: Program) -> Cow<'_, str> {
    let password = match program {
        Program::Mysql | Program::Sshpass => arg.strip_prefix("-p"),
        Program::Curl => return mask_curl_user(arg),
        Program::Other => None,
    };
    match password {
        Some(value) if !value.is_empty() && !is_variable_reference(value) => {
            Cow::Owned(format!("-p{MASK}"))
        }
        _ => Cow::Borrowed(arg),
    }
}

fn mask_curl_user(arg: &str) -> Cow<'_, str> {
    let value = arg
        .strip_prefix("--user=")
        .or_else(|| arg.strip_prefix("-u").filter(|v| !v.is_empty()));
    let Some(value) = value else {
        return Cow::Borrowed(arg);
    };
    let option = &arg[..arg.len() - value.len()];
    match mask_after_colon(value) {
        Some(masked) => Cow::Owned(format!("{option}{masked}")),
        None => Cow::Borrowed(arg),
    }
}

/// `user:secret` → `user:****`; `None` when there is no password part.
fn mask_after_colon(value: &str) -> Option<Cow<'_, str>> {
    let (user, password) = value.split_once(':')?;
    if password.is_empty() || is_variable_reference(password) {
        return None;
    }
    Some(Cow::Owned(format!("{user}:{MASK}")))
}

#[cfg(test)]
mod tests {
    use crate::redact::Redactor;

    fn redact_argv(argv: &[&str]) -> Vec<String> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        Redactor::new(&[]).unwrap().redact_argv(&argv)
    }

    #[test]
    fn the_secret_flag_pattern_compiles() {
        assert!(super::SECRET_FLAG_ALONE.is_some());
    }

    #[test]
    fn flags_whose_next_element_is_the_secret() {
        assert_eq!(
            redact_argv(&["vault", "login", "--token", "s.abc", "--method=x"]),
            ["vault", "login", "--token", "****", "--method=x"]
        );
        assert_eq!(
            redact_argv(&["app", "--client-secret", "a b c", "--api-key", "k"]),
            ["app", "--client-secret", "****", "--api-key", "****"]
        );
        assert_eq!(
            redact_argv(&["x", "--password=pw"]),
            ["x", "--password=****"]
        );
    }

    #[test]
    fn an_option_after_a_secret_flag_is_not_masked() {
        assert_eq!(
            redact_argv(&["psql", "--password", "--host", "db"]),
            ["psql", "--password", "--host", "db"]
        );
        assert_eq!(
            redact_argv(&["psql", "--no-password", "db"]),
            ["psql", "--no-password", "db"]
        );
        assert_eq!(
            redact_argv(&["x", "--token", "$TOKEN"]),
            ["x", "--token", "$TOKEN"]
        );
    }

    #[test]
    fn mysql_short_password_only_for_mysql_clients() {
        assert_eq!(
            redact_argv(&["sudo", "/usr/bin/mysql", "-uroot", "-phunter2", "db"]),
            ["sudo", "/usr/bin/mysql", "-uroot", "-p****", "db"]
        );
        assert_eq!(redact_argv(&["mysql", "-p", "db"]), ["mysql", "-p", "db"]);
        assert_eq!(
            redact_argv(&["mkdir", "-pv", "dir"]),
            ["mkdir", "-pv", "dir"]
        );
    }

    #[test]
    fn sshpass_and_curl() {
        assert_eq!(
            redact_argv(&["sshpass", "-p", "pw", "ssh", "h"]),
            ["sshpass", "-p", "****", "ssh", "h"]
        );
        assert_eq!(
            redact_argv(&["sshpass", "-ppw", "ssh"]),
            ["sshpass", "-p****", "ssh"]
        );
        assert_eq!(
            redact_argv(&["curl", "-u", "me:pw", "--user=a:b", "-uc:d", "https://x"]),
            [
                "curl",
                "-u",
                "me:****",
                "--user=a:****",
                "-uc:****",
                "https://x"
            ]
        );
        assert_eq!(
            redact_argv(&["curl", "-u", "me", "https://x"]),
            ["curl", "-u", "me", "https://x"]
        );
        assert_eq!(
            redact_argv(&["ssh", "-p", "22", "h"]),
            ["ssh", "-p", "22", "h"]
        );
    }

    #[test]
    fn shell_lines_inside_argv_are_redacted_as_text() {
        assert_eq!(
            redact_argv(&["sh", "-c", "GITHUB_TOKEN=abc gh pr merge 1"]),
            ["sh", "-c", "GITHUB_TOKEN=**** gh pr merge 1"]
        );
    }
}
