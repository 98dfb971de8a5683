//! Shell-language shapes an adversary uses to hide a command: each class with
//! several shapes.

use super::*;
use std::collections::BTreeMap;

fn argv_of(text: &str) -> Vec<Vec<String>> {
    normalise_line(text).into_iter().map(|c| c.argv).collect()
}

fn is_opaque(text: &str) -> bool {
    normalise_line(text).iter().any(|c| c.opaque.is_some())
}

fn words(text: &str) -> Vec<String> {
    text.split(' ').map(String::from).collect()
}

#[test]
fn ansi_c_quoting_is_decoded() {
    for shape in [
        r"$'\x6bubectl' delete ns a",
        r"$'\153ubectl' delete ns a",
        r"$'\u006bubectl' delete ns a",
        r"$'\U0000006b'ubectl delete ns a",
        r"k$'ub'ectl $'\x64elete' ns a",
        r"$'kubectl\x00junk' delete ns a",
    ] {
        assert_eq!(argv_of(shape), [words("kubectl delete ns a")], "{shape}");
    }
    assert_eq!(
        argv_of(r"echo $'a\tb\n\'\\'"),
        [vec!["echo".to_string(), "a\tb\n'\\".into()]]
    );
    assert_eq!(
        argv_of(r"echo $'\cA\q'"),
        [vec!["echo".to_string(), "\u{1}\\q".into()]]
    );
}

#[test]
fn a_subshell_in_a_subshell_is_not_arithmetic() {
    assert_eq!(argv_of("((rm -rf /) )"), [words("rm -rf /")]);
    assert_eq!(
        argv_of("((rm -rf /) ) ; ls"),
        [words("rm -rf /"), words("ls")]
    );
    assert_eq!(argv_of("( (rm -rf /))"), [words("rm -rf /")]);
    assert_eq!(argv_of("(((rm -rf /) ) )"), [words("rm -rf /")]);
    assert_eq!(
        argv_of("if true; then ((kubectl delete ns a) ); fi"),
        [words("true"), words("kubectl delete ns a")]
    );
    // Real arithmetic stays arithmetic and runs nothing.
    assert!(argv_of("((a = (1 + 2)))").is_empty());
    assert!(argv_of("(( (1+2) ))").is_empty());
}

#[test]
fn bash_takes_long_options_after_one_dash() {
    for shape in [
        ["bash", "-login", "-c", "rm -rf /"],
        ["bash", "-noprofile", "-c", "rm -rf /"],
        ["bash", "-norc", "-c", "rm -rf /"],
        ["bash", "-posix", "-c", "rm -rf /"],
        ["rbash", "-verbose", "-c", "rm -rf /"],
    ] {
        assert_eq!(run(&shape)[0].0, words("rm -rf /"), "{shape:?}");
    }
    for shape in [
        &["bash", "-rcfile", "evil", "-i"][..],
        &["bash", "-init-file", "evil", "-c", "ls"],
        &["bash", "--rcfile", "evil", "-ic", "ls"],
        &["bash", "--init-file=evil", "-i"],
    ] {
        assert!(run(shape)[0].2, "{shape:?} reads a file of commands");
    }
}

#[test]
fn env_split_string_escapes_are_gnu_envs() {
    let split = |s: &str| run(&["env", "-S", s])[0].0.clone();
    assert_eq!(split(r"rm\_-rf\_/"), words("rm -rf /"));
    assert_eq!(split("rm\t-rf\n/"), words("rm -rf /"));
    assert_eq!(split(r#"rm "-rf" '/'"#), words("rm -rf /"));
    assert_eq!(split(r"rm -rf /\c ignored"), words("rm -rf /"));
    assert_eq!(split(r"rm -rf / #comment"), words("rm -rf /"));
    assert_eq!(
        split(r#"echo "a\_b" 'c\_d' e\tf a#b"#),
        ["echo", "a b", r"c\_d", "e\tf", "a#b"]
    );
    assert_eq!(
        split(r#"echo \$HOME \\ \" 'x\'y'"#),
        ["echo", "$HOME", "\\", "\"", "x'y"]
    );
    // What GNU env refuses, or expands at run time, cannot be known.
    for refused in [
        r"rm \x",
        r"rm -rf /\",
        "rm ${X}",
        "rm $X",
        r#"echo "\c""#,
        "echo 'a",
    ] {
        assert!(run(&["env", "-S", refused])[0].2, "{refused}");
    }
}

#[test]
fn builtins_that_evaluate_subscripts_or_callbacks_are_opaque() {
    for shape in [
        "(( a[$(rm -rf /)] ))",
        "(( a['$(rm -rf /)'] ))",
        "x='a[$(rm -rf /)]'; (( x ))",
        "declare x='a[`rm -rf /`]'",
        "[[ -v 'a[$(rm -rf /)]' ]]",
        "[[ 'a[$(rm -rf /)]' -eq 1 ]]",
        "printf -v 'a[$(rm -rf /)]' %s x",
        "read 'a[$(rm -rf /)]' < /dev/null",
        "test -v 'a[$(rm -rf /)]'",
        "unset 'a[$(rm -rf /)]'",
        "let 'a[$(rm -rf /)]=1'",
        "mapfile -C 'rm -rf /' -c 1 lines < f",
        "readarray -tC cb lines < f",
        "echo ${x@P}",
        "echo \"${PS1@P}\"",
        "BASH_CMDS[ls]=/bin/rm; ls -rf /",
        "BASH_ALIASES[ls]='rm -rf /'",
        "declare -A BASH_CMDS=([ls]=/bin/rm)",
    ] {
        assert!(is_opaque(shape), "{shape}");
    }
    for plain in [
        "(( i++ ))",
        "for ((i=0; i<3; i++)); do echo $i; done",
        "[[ -v HOME ]]",
        "printf -v x %s y",
        "read -r line < f",
        "mapfile -t lines < f",
        "echo ${x@Q}",
        "declare -a a=(1 2)",
        "echo 'a[$(rm -rf /)]'",
    ] {
        assert!(!is_opaque(plain), "{plain}");
    }
}

#[test]
fn variables_that_inject_code_are_opaque_where_they_are_set() {
    for shape in [
        "BASH_ENV=/tmp/x bash -c ls",
        "ENV=/tmp/x sh -i",
        "export BASH_ENV=/tmp/x; bash -c ls",
        "SHELLOPTS=xtrace PS4='$(rm -rf /)' bash -c ls",
        "PS4='$(rm -rf /)' bash -xc ls",
        "PROMPT_COMMAND='rm -rf /' bash -i",
        "LD_PRELOAD=/tmp/x.so ls",
        "declare -x BASH_ENV=/tmp/x",
    ] {
        assert!(is_opaque(shape), "{shape}");
    }
    for shape in [
        &["env", "BASH_ENV=/tmp/x", "bash", "-c", "ls"][..],
        &["env", "BASH_FUNC_ls%%=() { rm -rf /; }", "bash", "-c", "ls"],
        &["sudo", "LD_PRELOAD=/tmp/x.so", "ls"],
        &["env", "-S", "SHELLOPTS=xtrace bash -c ls"],
    ] {
        assert!(run(shape).iter().any(|c| c.2), "{shape:?}");
    }
}

#[test]
fn an_environment_that_injects_code_makes_what_it_reaches_opaque() {
    let argv = |s: &str| words(s);
    let with = |name: &str, value: &str, command: &str| {
        let env: BTreeMap<String, String> = [(name.to_string(), value.to_string())].into();
        normalise_resolved(&argv(command), None, &env)
            .iter()
            .any(|c| c.opaque.is_some())
    };
    assert!(with("BASH_ENV", "/tmp/x", "bash -c ls"));
    assert!(with("ENV", "/tmp/x", "sh -c ls"));
    assert!(with("BASH_FUNC_ls%%", "() { rm -rf /; }", "bash -c ls"));
    assert!(with("SHELLOPTS", "xtrace", "sudo bash -c ls"));
    assert!(with("PROMPT_COMMAND", "rm -rf /", "bash -c ls"));
    assert!(with("X", "a[$(rm -rf /)]", "bash -c ls"));
    assert!(with("LD_PRELOAD", "/tmp/x.so", "ls"));
    // Without a shell to read them, shell variables change nothing.
    assert!(!with("BASH_ENV", "/tmp/x", "ls -l"));
    assert!(!with("HOME", "/root", "bash -c ls"));
    assert!(!with("BASH_ENV", "", "bash -c ls"));
}

#[test]
fn a_shell_given_a_script_or_a_device_is_opaque() {
    for shape in [
        &["bash", "file.sh"][..],
        &["sh", "/dev/stdin"],
        &["bash", "/dev/fd/0"],
        &["dash", "-e", "script", "arg"],
        &["sudo", "bash", "./x.sh"],
        &["zsh", "-o", "errexit", "x.zsh"],
    ] {
        assert!(run(shape).iter().any(|c| c.2), "{shape:?}");
    }
}

#[test]
fn a_shell_under_another_name_is_still_a_shell() {
    let env = BTreeMap::new();
    let argv = ["./kubectl", "-c", "rm -rf /"].map(String::from);
    let found = normalise_resolved(&argv, Some("/usr/bin/bash"), &env);
    // Read as the bash it is, whatever else the name `kubectl` means.
    assert!(
        found.iter().any(|c| c.argv == words("rm -rf /")),
        "{found:?}"
    );
    let argv = ["tool", "BASH_ENV=x", "bash", "-c", "ls"].map(String::from);
    assert!(
        normalise_resolved(&argv, Some("/usr/bin/env"), &env)[0]
            .opaque
            .is_some()
    );
    // A program with a different name keeps its argv and carries the name it resolves to.
    let argv = ["./k", "delete", "ns"].map(String::from);
    let found = normalise_resolved(&argv, Some("/usr/local/bin/kubectl"), &env);
    assert_eq!(found[0].argv, words("./k delete ns"));
    assert_eq!(
        found[0].executable.as_deref(),
        Some("/usr/local/bin/kubectl")
    );
    // The same name at a canonical path adds nothing.
    let found = normalise_resolved(&words("ls -l"), Some("/usr/bin/ls"), &env);
    assert_eq!(found[0].executable, None);
}

#[test]
fn run_time_words_are_recorded_with_what_they_can_become() {
    let runtime = |text: &str| normalise_line(text).remove(0).runtime;
    let word = |at, values: Option<&str>, splits| RuntimeWord {
        at,
        values: values.map(String::from),
        splits,
    };
    assert_eq!(
        runtime("kubectl dele?e pod"),
        [word(1, Some("dele?e"), true)]
    );
    assert_eq!(
        runtime("kubectl [d]elete pod"),
        [word(1, Some("[d]elete"), true)]
    );
    assert_eq!(runtime("kubectl @(delete) pod"), [word(1, None, true)]);
    assert_eq!(runtime("kubectl $V pod"), [word(1, None, true)]);
    assert_eq!(
        runtime("kubectl \"${V:-x}\" pod"),
        [word(1, Some("*"), false)]
    );
    assert_eq!(
        runtime("kubectl \"--ctx=$C\" get"),
        [word(1, Some("--ctx=*"), false)]
    );
    assert_eq!(runtime("kubectl \"$@\""), [word(1, None, true)]);
    assert_eq!(runtime("kubectl ${!#}"), [word(1, None, true)]);
    assert_eq!(runtime("cat ~/x"), [word(1, Some("/*/x"), false)]);
    assert_eq!(runtime("sudo kubectl $V"), [word(1, None, true)]);
    assert!(runtime("kubectl 'dele?e' \"$\" pod").is_empty());
}
