//! Shell-language shapes an agent uses to get `allow` for what the policy denies
//! or reserves for a person, driven through the real binary: `gate check --json`
//! for the decision, `gate --` with stand-in programs to prove nothing ran, and
//! everyday commands that must stay allowed.

use crate::support::common::{TestContext, code, stderr, stdout};
use crate::support::fixtures::POLICY_SHAPES_GUARDED;
use serde_json::Value;
use std::path::Path;

const GUARDED: &str = POLICY_SHAPES_GUARDED;

const PERMISSIVE: &str = r#"
version = 1
default = "allow"
opaque = "allow"
"#;

fn line_decision(ctx: &TestContext, line: &str) -> String {
    ctx.decision(&["bash", "-c", line])
}

/// Each shape must get `expected` (as a shell line under `bash -c`).
fn expect_lines(ctx: &TestContext, expected: &str, shapes: &[&str]) {
    for shape in shapes {
        assert_eq!(line_decision(ctx, shape), expected, "bash -c {shape:?}");
    }
}

#[test]
fn ansi_c_quoting_and_nested_subshells_are_seen_through() {
    let ctx = TestContext::with_policy(GUARDED);
    expect_lines(
        &ctx,
        "deny",
        &[
            r"$'\x72m' -rf /tmp/x",
            r"$'\162\155' $'-\x72f' /tmp/x",
            r"r$'m' -rf /tmp/x",
            "((rm -rf /tmp/x) )",
            "( (rm -rf /tmp/x))",
            "true; ((rm -rf /tmp/x) ) && echo done",
        ],
    );
    expect_lines(
        &ctx,
        "approve",
        &[
            r"$'\x6bubectl' delete ns prod",
            r"$'\u006bubectl' $'\x64elete' ns prod",
            "((kubectl delete ns prod) )",
            r"$'terraform' apply",
        ],
    );
}

#[test]
fn bash_long_options_after_one_dash_do_not_hide_the_command_string() {
    let ctx = TestContext::with_policy(GUARDED);
    for options in [
        &["-login"][..],
        &["-noprofile"],
        &["-norc", "-posix"],
        &["-verbose"],
    ] {
        let mut argv = vec!["bash"];
        argv.extend_from_slice(options);
        argv.extend(["-c", "rm -rf /tmp/x"]);
        assert_eq!(ctx.decision(&argv), "deny", "{argv:?}");
    }
    for argv in [
        &["bash", "-rcfile", "evil.sh", "-i"][..],
        &["bash", "-init-file", "evil.sh", "-c", "ls"],
        &["bash", "--rcfile", "evil.sh", "-ic", "ls"],
    ] {
        assert_eq!(ctx.decision(argv), "approve", "{argv:?}");
    }
}

#[test]
fn env_split_string_is_split_like_gnu_env() {
    let ctx = TestContext::with_policy(GUARDED);
    for split in [
        r"rm\_-rf\_/tmp/x",
        "rm\t-rf /tmp/x",
        r#"rm "-rf" /tmp/x"#,
        r"rm -rf /tmp/x\c junk",
    ] {
        assert_eq!(
            ctx.decision(&["env", "-S", split]),
            "deny",
            "env -S {split:?}"
        );
    }
    assert_eq!(
        ctx.decision(&["env", "-S", r"kubectl\_delete\_ns\_a"]),
        "approve"
    );
    assert_eq!(
        ctx.decision(&["env", "-S", "rm ${FLAGS} /tmp/x"]),
        "approve"
    );
}

#[test]
fn run_time_words_are_opaque_where_a_rule_could_match_them() {
    let ctx = TestContext::with_policy(GUARDED);
    expect_lines(
        &ctx,
        "approve",
        &[
            "kubectl dele?e pod x",
            "kubectl [d]elete pod x",
            "kubectl @(delete) pod x",
            "kubectl $VERB pod x",
            "kubectl \"${VERB:-delete}\" pod x",
            "set -- delete; kubectl \"$@\" pod x",
            "kubectl ${!#} pod x",
            "terraform ap?ly",
            "git push origin $FLAGS",
            "git push origin --forc[e]",
            "rm *",
            "rm $OPTS /tmp/x",
        ],
    );
    expect_lines(&ctx, "deny", &["rm -rf $DIR", "rm -rf *.tmp"]);
    expect_lines(
        &ctx,
        "allow",
        &[
            "ls *.txt",
            "cat $HOME/notes.txt",
            "terraform plan -out=$PLAN",
            "git commit -m \"$MESSAGE\"",
            "rm -f *.tmp",
        ],
    );
}

#[test]
fn builtins_that_run_hidden_code_are_opaque() {
    let ctx = TestContext::with_policy(GUARDED);
    expect_lines(
        &ctx,
        "approve",
        &[
            "x='a[$(rm -rf /tmp/x)]'; (( x ))",
            "(( a['$(ls)'] ))",
            "[[ -v 'a[$(ls)]' ]]",
            "[[ 'a[$(ls)]' -eq 0 ]]",
            "printf -v 'a[$(ls)]' %s x",
            "read 'a[$(ls)]' < /dev/null",
            "mapfile -C 'rm -rf /tmp/x' -c 1 lines < /dev/null",
            "echo ${x@P}",
            "BASH_CMDS[ls]=/bin/rm; ls -rf /tmp/x",
            "BASH_ALIASES[ls]='rm -rf'",
        ],
    );
}

#[test]
fn code_injected_through_the_environment_is_opaque() {
    let ctx = TestContext::with_policy(GUARDED);
    expect_lines(
        &ctx,
        "approve",
        &[
            "BASH_ENV=/tmp/evil bash -c ls",
            "export BASH_ENV=/tmp/evil; bash -c ls",
            "ENV=/tmp/evil sh -i",
            "SHELLOPTS=xtrace PS4='$(ls)' bash -c ls",
            "PROMPT_COMMAND=ls bash -i",
        ],
    );
    for argv in [
        &["env", "BASH_ENV=/tmp/evil", "bash", "-c", "ls"][..],
        &[
            "env",
            "BASH_FUNC_ls%%=() { rm -rf /tmp/x; }",
            "bash",
            "-c",
            "ls",
        ],
    ] {
        assert_eq!(ctx.decision(argv), "approve", "{argv:?}");
    }
    // gate's own environment reaches the shell it runs.
    for (name, value) in [
        ("BASH_ENV", "/tmp/evil"),
        ("BASH_FUNC_ls%%", "() { rm -rf /tmp/x; }"),
        ("SHELLOPTS", "xtrace"),
        ("PS4", "$(ls)"),
    ] {
        let out = ctx
            .gate()
            .env(name, value)
            .args(["check", "--json", "--", "bash", "-c", "ls"])
            .output()
            .unwrap();
        let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(verdict["decision"], "approve", "{name}={value}");
    }
}

#[test]
fn a_shell_given_a_file_or_reached_by_another_name_is_still_a_shell() {
    let ctx = TestContext::with_policy(GUARDED);
    for argv in [
        &["bash", "script.sh"][..],
        &["sh", "/dev/stdin"],
        &["bash", "/dev/fd/0"],
        &["sudo", "bash", "./deploy.sh"],
    ] {
        assert_eq!(ctx.decision(argv), "approve", "{argv:?}");
    }
    let bash = which("bash");
    let kubectl = ctx.work().join("kubectl");
    std::os::unix::fs::symlink(&bash, &kubectl).unwrap();
    let copy_name = kubectl.to_str().unwrap();
    assert_eq!(ctx.decision(&[copy_name, "-c", "rm -rf /tmp/x"]), "deny");
    assert_eq!(ctx.decision(&["./kubectl", "-c", "rm -rf /tmp/x"]), "deny");
    assert_eq!(
        ctx.decision(&["./kubectl", "-login", "-c", "rm -rf /tmp/x"]),
        "deny"
    );
}

#[test]
fn a_shell_copied_or_linked_under_another_name_is_a_shell_wherever_it_is_run() {
    let ctx = TestContext::with_policy(GUARDED);
    let bash = std::fs::canonicalize(which("bash")).unwrap();
    // A copy (not a link): the same bytes under a name the requester chose.
    let copy = ctx.work().join("build");
    std::fs::copy(&bash, &copy).unwrap();
    std::os::unix::fs::symlink(&bash, ctx.work().join("k")).unwrap();
    for argv in [
        &["./build", "-c", "rm -rf /tmp/x"][..],
        &["./build", "-lc", "rm -rf /tmp/x"],
        &["sudo", "./k", "-c", "rm -rf /tmp/x"],
        &["sudo", "-u", "bob", "./build", "-c", "rm -rf /tmp/x"],
        &["env", "FOO=1", "./build", "-c", "rm -rf /tmp/x"],
        &["nice", "-n", "5", "./k", "-c", "rm -rf /tmp/x"],
        &["timeout", "5", "./build", "-c", "echo $(rm -rf /tmp/x)"],
        &["bash", "-c", "./build -c 'rm -rf /tmp/x'"],
        &["xargs", "./k", "-c", "rm -rf /tmp/x"],
    ] {
        assert_eq!(ctx.decision(argv), "deny", "{argv:?}");
    }
    // What the copy runs decides, as for bash itself.
    assert_eq!(ctx.decision(&["env", "./build", "-c", "ls"]), "allow");
    // A script of the requester's own is what it is.
    let script = ctx.work().join("tool.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert_eq!(
        ctx.decision(&["sudo", "./tool.sh", "-c", "rm -rf /tmp/x"]),
        "allow"
    );
}

#[test]
fn the_default_policy_root_wipe_deny_holds_against_these_shapes() {
    let ctx = TestContext::new();
    expect_lines(
        &ctx,
        "deny",
        &[
            r"$'\x72m' -rf /",
            r"$'\162m' -rf /",
            "((rm -rf /) )",
            "( (rm -rf /))",
            "rm -rf $'/'",
            r"env -S 'rm\_-rf\_/'",
        ],
    );
    assert_eq!(ctx.decision(&["bash", "-login", "-c", "rm -rf /"]), "deny");
    assert_eq!(ctx.decision(&["env", "-S", r"rm\_-rf\_/"]), "deny");
    for shape in [
        "rm -rf $ROOT",
        "rm -rf \"${X:-/}\"",
        "rm -rf /$X",
        "BASH_ENV=/x bash -c ls",
    ] {
        assert_ne!(line_decision(&ctx, shape), "allow", "{shape}");
    }
}

#[test]
fn denied_shapes_run_nothing() {
    let ctx = TestContext::with_policy(GUARDED);
    let path = ctx.stand_ins(&["rm"]);
    let bash = which("bash");
    std::os::unix::fs::symlink(&bash, ctx.work().join("tool")).unwrap();
    let shapes: [&[&str]; 7] = [
        &["bash", "-c", r"$'\x72m' -rf /tmp/x"],
        &["bash", "-c", "((rm -rf /tmp/x) )"],
        &["bash", "-login", "-c", "rm -rf /tmp/x"],
        &["env", "-S", r"rm\_-rf\_/tmp/x"],
        &["./tool", "-c", "rm -rf /tmp/x"],
        &["env", "./tool", "-c", "rm -rf /tmp/x"],
        &["bash", "-c", "for d in /tmp/x; do rm -rf \"$d\"; done"],
    ];
    for argv in shapes {
        let out = ctx.run_with_path(&path, argv);
        assert_eq!(code(&out), 100, "{argv:?}: {}", stderr(&out));
        assert!(ctx.stand_ins_ran().is_empty(), "{argv:?} ran");
    }
    // The stand-in does run when allowed, so its silence above means something.
    let out = ctx.run_with_path(&path, &["rm", "-f", "x"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(ctx.stand_ins_ran(), ["rm"]);
}

#[test]
fn everyday_commands_stay_allowed() {
    const EVERYDAY: &[&str] = &[
        "git status",
        "git diff HEAD~1 -- src",
        "git log --oneline -n 20",
        "cargo test --locked",
        "npm test",
        "pytest -k x",
        "ls *.txt",
        "cat file",
        "grep -r x .",
        "rg x",
        "find . -name '*.rs'",
        "echo $HOME",
        "for f in *.md; do wc -l \"$f\"; done",
        "kubectl get pods",
        "terraform plan",
        "ls -la ~/src | head -n 5",
        "cd /tmp && ls",
        "test -f Cargo.toml && cargo build",
        "[ -d target ] || mkdir -p target",
        "x=$((1 + 2)); echo $x",
    ];
    for ctx in [TestContext::new(), TestContext::with_policy(PERMISSIVE)] {
        expect_lines(&ctx, "allow", EVERYDAY);
        for line in EVERYDAY
            .iter()
            .filter(|l| !l.contains(['$', '*', '|', '&', ';', '~', '\'']))
        {
            let argv: Vec<&str> = line.split(' ').collect();
            assert_eq!(ctx.decision(&argv), "allow", "{line}");
        }
    }
}

fn which(program: &str) -> std::path::PathBuf {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.exists())
        .expect("bash installed")
}
