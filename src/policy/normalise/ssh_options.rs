//! The ssh client's options that run or load something on this machine, one table
//! for every program that passes them to ssh: `ssh` itself, `scp` and `sftp`
//! (and `rsync -e 'ssh …'`, whose line reaches `ssh`).
//!
//! A command ssh runs here (`ProxyCommand`, `LocalCommand`, `KnownHostsCommand`)
//! is a shell line and analysed as one; configuration gate cannot read (`-F FILE`,
//! `Include`, `Match`) and programs or libraries ssh loads (`PKCS11Provider`,
//! `SecurityKeyProvider`, `XAuthLocation`) are opaque.

use super::Step;

/// `-o` keys, lowercased, whose value is a shell line ssh runs on this machine.
const LOCAL_COMMAND_KEYS: &[&str] = &["proxycommand", "localcommand", "knownhostscommand"];

/// `-o` keys, lowercased, naming a program or a library ssh runs or loads here.
const LOADED_KEYS: &[&str] = &["pkcs11provider", "securitykeyprovider", "xauthlocation"];

/// `-o` keys, lowercased, that read configuration which may name commands.
const CONFIG_KEYS: &[&str] = &["include", "match"];

/// What one ssh client option (`-F`, `-I`, `-o`) given to `program` adds: a
/// local command to analyse (`Ok(Some)`), nothing (`Ok(None)`), or the reason the
/// invocation is opaque (`Err`). `RemoteCommand` is left to the caller.
pub(super) fn local_effect(
    program: &str,
    name: &str,
    value: Option<&str>,
) -> Result<Option<Step>, String> {
    let value = value.unwrap_or("");
    match name {
        "-F" if !matches!(value, "/dev/null" | "none") => Err(format!(
            "{program} -F reads a configuration file that may name commands"
        )),
        "-I" => Err(format!(
            "{program} -I loads a PKCS#11 library, which runs its code here"
        )),
        "-o" => {
            let (key, setting) = option(value);
            let none = setting.eq_ignore_ascii_case("none") || setting.is_empty();
            if LOCAL_COMMAND_KEYS.contains(&key.as_str()) && !none {
                return Ok(Some(Step::Line {
                    label: format!("{program} {key}"),
                    line: setting,
                }));
            }
            if LOADED_KEYS.contains(&key.as_str()) && !none {
                return Err(format!(
                    "{program} -o {key} names a program or library ssh loads here"
                ));
            }
            if CONFIG_KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "{program} -o {key} reads configuration that may name commands"
                ));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// `-o Key=Value` or `-o "Key Value"`: the key lowercased, and the value.
pub(super) fn option(option: &str) -> (String, String) {
    let option = option.trim_start();
    let split = option
        .find(|c: char| c == '=' || c.is_whitespace())
        .unwrap_or(option.len());
    let (key, value) = option.split_at(split);
    let value = value.trim_start_matches(|c: char| c.is_whitespace());
    let value = value.strip_prefix('=').unwrap_or(value).trim_start();
    (key.to_ascii_lowercase(), value.to_string())
}
