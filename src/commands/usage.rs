//! Usage mistakes clap cannot explain: a program named where a gate subcommand
//! belongs (`gate ls -la`), or a misspelt subcommand (`gate polcy lint`). Pure:
//! the caller prints the line and exits with the usage code.

use crate::approval::summary::command_line;
use crate::policy::read::closest;

/// Options of the wrap-and-run form that take a value as the next argument.
const OPTIONS_WITH_VALUES: &[&str] = &["--policy", "--reason", "--ticket"];

/// What to say when `args` (without the program name) name no gate subcommand
/// where one is expected; `None` when the mistake lies elsewhere.
pub fn misplaced_command(args: &[String], subcommands: &[&str]) -> Option<String> {
    let mut options = Vec::new();
    let mut rest = args.iter();
    let word = loop {
        let arg = rest.next()?;
        if arg == "--" {
            return None;
        }
        if !arg.starts_with('-') {
            break arg;
        }
        options.push(arg.clone());
        if OPTIONS_WITH_VALUES.contains(&arg.as_str()) {
            options.push(rest.next()?.clone());
        }
    };
    if subcommands.contains(&word.as_str()) {
        return None;
    }
    if let Some(name) = closest(word, subcommands.iter().copied()) {
        return Some(format!(
            "gate: unknown command '{word}', did you mean '{name}'?"
        ));
    }
    let mut suggestion = vec!["gate".to_string()];
    suggestion.extend(options);
    suggestion.push("--".to_string());
    suggestion.push(word.clone());
    suggestion.extend(rest.cloned());
    Some(format!(
        "gate: '{word}' is not a gate command; to run it through gate, put it after `--`: {}",
        command_line(&suggestion)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBCOMMANDS: &[&str] = &["check", "policy", "init", "audit", "approve", "help"];

    fn hint(args: &str) -> Option<String> {
        let args: Vec<String> = args.split_whitespace().map(String::from).collect();
        misplaced_command(&args, SUBCOMMANDS)
    }

    #[test]
    fn a_program_where_a_subcommand_belongs_is_shown_after_the_separator() {
        assert_eq!(
            hint("ls -la").as_deref(),
            Some(
                "gate: 'ls' is not a gate command; to run it through gate, put it after `--`: gate -- ls -la"
            )
        );
        assert_eq!(
            hint("--policy p.toml kubectl get pods").as_deref(),
            Some(
                "gate: 'kubectl' is not a gate command; to run it through gate, put it after \
                 `--`: gate --policy p.toml -- kubectl get pods"
            )
        );
    }

    #[test]
    fn a_misspelt_subcommand_gets_the_closest_name() {
        assert_eq!(
            hint("polcy lint").as_deref(),
            Some("gate: unknown command 'polcy', did you mean 'policy'?")
        );
        assert_eq!(
            hint("aprove 3f").as_deref(),
            Some("gate: unknown command 'aprove', did you mean 'approve'?")
        );
    }

    #[test]
    fn other_mistakes_are_left_to_clap() {
        assert_eq!(hint("policy lint --bogus"), None);
        assert_eq!(hint("--bogus -- ls"), None);
        assert_eq!(hint("--bogus"), None);
    }
}
