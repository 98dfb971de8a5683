use super::*;

/// A command as (argv, via, opaque?), the shape every assertion compares.
type Seen = (Vec<String>, Vec<String>, bool);

/// Whether any command found is opaque.
fn any_opaque(found: &[Seen]) -> bool {
    found.iter().any(|(_, _, opaque)| *opaque)
}

/// Whether `argv` (as words) is among the commands found, analysed.
fn finds(found: &[Seen], argv: &str) -> bool {
    found
        .iter()
        .any(|(words, _, opaque)| !opaque && words.join(" ") == argv)
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn run(argv: &[&str]) -> Vec<Seen> {
    seen(normalise(&strings(argv)))
}

fn line(text: &str) -> Vec<Seen> {
    seen(normalise_line(text))
}

fn seen(commands: Vec<SimpleCommand>) -> Vec<Seen> {
    commands
        .into_iter()
        .map(|c| (c.argv, c.via, c.opaque.is_some()))
        .collect()
}

fn plain(argv: &str, via: &[&str]) -> Seen {
    (
        argv.split(' ').map(String::from).collect(),
        strings(via),
        false,
    )
}

fn opaque(argv: &[&str], via: &[&str]) -> Seen {
    (strings(argv), strings(via), true)
}

fn reason_of(argv: &[&str]) -> String {
    let found = normalise(&strings(argv));
    found.into_iter().find_map(|c| c.opaque).unwrap_or_default()
}

#[test]
fn empty_argv_has_no_commands() {
    assert!(normalise(&[]).is_empty());
    assert!(normalise_line("").is_empty());
}

#[test]
fn a_plain_command_is_kept_as_written() {
    assert_eq!(
        run(&["/usr/local/bin/kubectl", "delete", "ns", "a"]),
        [plain("/usr/local/bin/kubectl delete ns a", &[])]
    );
    assert_eq!(
        run(&["kubectl", "--context", "prod", "delete", "ns", "a"]),
        [plain("kubectl --context prod delete ns a", &[])]
    );
}

#[test]
fn env_drops_options_and_assignments() {
    assert_eq!(
        run(&["env", "-i", "A=1", "kubectl", "delete", "ns", "a"]),
        [plain("kubectl delete ns a", &["env"])]
    );
    assert_eq!(
        run(&[
            "/usr/bin/env",
            "-u",
            "HOME",
            "--unset=X",
            "-C",
            "/tmp",
            "--",
            "B=2",
            "kubectl",
            "get"
        ]),
        [plain("kubectl get", &["env"])]
    );
    assert_eq!(run(&["env"]), [plain("env", &[])]);
}

#[test]
fn env_split_string_becomes_words() {
    assert_eq!(
        run(&["env", "-S", "-i A=1 kubectl 'delete'", "ns", "a"]),
        [plain("kubectl delete ns a", &["env"])]
    );
    assert!(run(&["env", "-S", "$CMD x"])[0].2);
}

#[test]
fn sudo_drops_options_and_their_values() {
    assert_eq!(
        run(&["sudo", "-u", "root", "--", "kubectl", "delete", "ns", "a"]),
        [plain("kubectl delete ns a", &["sudo"])]
    );
    assert_eq!(
        run(&[
            "sudo", "-nE", "-g", "wheel", "--user=x", "-C", "3", "FOO=1", "kubectl", "get"
        ]),
        [plain("kubectl get", &["sudo"])]
    );
    assert_eq!(
        run(&["sudo", "-uroot", "kubectl"]),
        [plain("kubectl", &["sudo"])]
    );
}

#[test]
fn sudo_special_modes() {
    assert_eq!(run(&["sudo", "-s"]), [opaque(&["sudo", "-s"], &[])]);
    assert_eq!(run(&["sudo", "-i"]), [opaque(&["sudo", "-i"], &[])]);
    assert_eq!(
        run(&["sudo", "-i", "kubectl", "get"]),
        [plain("kubectl get", &["sudo"])]
    );
    assert_eq!(
        run(&["sudo", "-e", "/etc/hosts"]),
        [plain("sudoedit /etc/hosts", &[])]
    );
    assert_eq!(
        run(&["sudoedit", "/etc/hosts"]),
        [plain("sudoedit /etc/hosts", &[])]
    );
    assert_eq!(
        run(&["sudo", "-l", "kubectl"]),
        [plain("sudo -l kubectl", &[])]
    );
}

#[test]
fn unknown_wrapper_option_is_opaque() {
    assert_eq!(
        run(&["sudo", "-Z", "kubectl", "get"]),
        [opaque(&["sudo", "-Z", "kubectl", "get"], &[])]
    );
    assert_eq!(
        reason_of(&["sudo", "-Z", "kubectl"]),
        "unrecognised option -Z to sudo"
    );
    assert!(run(&["timeout", "--bogus", "5", "kubectl"])[0].2);
}

#[test]
fn simple_wrappers_unwrap() {
    assert_eq!(
        run(&["timeout", "5", "kubectl", "delete", "ns", "a"]),
        [plain("kubectl delete ns a", &["timeout"])]
    );
    assert_eq!(
        run(&[
            "timeout",
            "-s",
            "KILL",
            "-k",
            "10",
            "--preserve-status",
            "5m",
            "kubectl"
        ]),
        [plain("kubectl", &["timeout"])]
    );
    assert_eq!(
        run(&["nice", "-n", "5", "nohup", "kubectl", "apply"]),
        [plain("kubectl apply", &["nice", "nohup"])]
    );
    assert_eq!(
        run(&["nice", "-10", "kubectl"]),
        [plain("kubectl", &["nice"])]
    );
    assert_eq!(
        run(&["time", "-p", "kubectl", "get"]),
        [plain("kubectl get", &["time"])]
    );
    assert_eq!(
        run(&["stdbuf", "-oL", "kubectl", "logs"]),
        [plain("kubectl logs", &["stdbuf"])]
    );
    assert_eq!(
        run(&["stdbuf", "--output=L", "-e", "0", "kubectl"]),
        [plain("kubectl", &["stdbuf"])]
    );
    assert_eq!(
        run(&["exec", "-a", "x", "kubectl"]),
        [plain("kubectl", &["exec"])]
    );
    assert_eq!(
        run(&["ionice", "-c", "2", "-n", "7", "kubectl"]),
        [plain("kubectl", &["ionice"])]
    );
    assert_eq!(
        run(&["chrt", "-f", "10", "kubectl"]),
        [plain("kubectl", &["chrt"])]
    );
    assert_eq!(
        run(&["taskset", "0x3", "kubectl"]),
        [plain("kubectl", &["taskset"])]
    );
    assert_eq!(
        run(&["taskset", "-p", "0x3", "42"]),
        [plain("taskset -p 0x3 42", &[])]
    );
    assert_eq!(
        run(&["setsid", "-f", "kubectl"]),
        [plain("kubectl", &["setsid"])]
    );
    assert_eq!(
        run(&["busybox", "rm", "-rf", "/"]),
        [plain("rm -rf /", &["busybox"])]
    );
}

#[test]
fn wrappers_repeat() {
    assert_eq!(
        run(&[
            "sudo", "env", "A=1", "nice", "timeout", "5", "kubectl", "delete"
        ]),
        [plain("kubectl delete", &["sudo", "env", "nice", "timeout"])]
    );
}

#[test]
fn command_v_only_looks_up() {
    assert_eq!(
        run(&["command", "-v", "kubectl"]),
        [plain("command -v kubectl", &[])]
    );
    assert_eq!(
        run(&["command", "-p", "kubectl", "get"]),
        [plain("kubectl get", &["command"])]
    );
}

#[test]
fn xargs_keeps_the_command_as_written() {
    assert_eq!(
        run(&["xargs", "-I{}", "kubectl", "delete", "ns", "{}"]),
        [plain("kubectl delete ns {}", &["xargs"])]
    );
    assert_eq!(
        run(&["xargs", "-0", "-n", "1", "-P", "4", "rm"]),
        [plain("rm", &["xargs"])]
    );
    assert_eq!(run(&["xargs"]), [plain("echo", &["xargs"])]);
    assert_eq!(
        line("echo a | xargs kubectl delete ns"),
        [plain("echo a", &[]), plain("kubectl delete ns", &["xargs"])]
    );
}

#[test]
fn watch_runs_its_operands_as_a_shell_line() {
    assert_eq!(
        run(&["watch", "-n", "1", "kubectl", "get", "pods"]),
        [plain("kubectl get pods", &["watch"])]
    );
    assert_eq!(
        run(&["watch", "kubectl get pods; kubectl delete ns a"]),
        [
            plain("kubectl get pods", &["watch"]),
            plain("kubectl delete ns a", &["watch"])
        ]
    );
    assert_eq!(
        run(&["watch", "-x", "kubectl", "a;b"]),
        [plain("kubectl a;b", &["watch"])]
    );
}

#[test]
fn flock_runs_a_command_or_a_string() {
    assert_eq!(
        run(&["flock", "-n", "/tmp/l", "kubectl", "get"]),
        [plain("kubectl get", &["flock"])]
    );
    assert_eq!(
        run(&["flock", "/tmp/l", "-c", "kubectl get"]),
        [plain("kubectl get", &["flock -c"])]
    );
}

#[test]
fn shell_c_strings_are_parsed() {
    assert_eq!(
        run(&["bash", "-lc", "cd /x && kubectl delete ns a"]),
        [
            plain("cd /x", &["bash -c"]),
            plain("kubectl delete ns a", &["bash -c"])
        ]
    );
    assert_eq!(
        run(&["sh", "-c", "echo hi; kubectl delete ns a"]),
        [
            plain("echo hi", &["sh -c"]),
            plain("kubectl delete ns a", &["sh -c"])
        ]
    );
    assert_eq!(
        run(&["sh", "-c", "echo a | xargs kubectl delete ns"]),
        [
            plain("echo a", &["sh -c"]),
            plain("kubectl delete ns", &["sh -c", "xargs"])
        ]
    );
}

#[test]
fn shell_flag_forms_all_reach_the_string() {
    let forms: [&[&str]; 6] = [
        &["bash", "-ec", "kubectl get"],
        &["bash", "-xec", "kubectl get"],
        &["bash", "-o", "pipefail", "-c", "kubectl get"],
        &["bash", "--login", "-c", "kubectl get"],
        &["bash", "+e", "-c", "kubectl get"],
        &[
            "/bin/bash",
            "--norc",
            "-O",
            "extglob",
            "-c",
            "kubectl get",
            "arg0",
        ],
    ];
    for form in forms {
        assert_eq!(run(form), [plain("kubectl get", &["bash -c"])], "{form:?}");
    }
    assert_eq!(
        run(&["busybox", "sh", "-c", "kubectl get"]),
        [plain("kubectl get", &["busybox", "sh -c"])]
    );
}

#[test]
fn shells_reading_stdin_or_a_script_are_opaque() {
    assert_eq!(run(&["bash"]), [opaque(&["bash"], &[])]);
    assert_eq!(run(&["sh", "-s", "x"]), [opaque(&["sh", "-s", "x"], &[])]);
    assert_eq!(
        run(&["bash", "deploy.sh", "prod"]),
        [opaque(&["bash", "deploy.sh", "prod"], &[])]
    );
    assert_eq!(
        line("bash <<EOF\nkubectl delete ns a\nEOF\n"),
        [opaque(&["bash"], &[])]
    );
    assert_eq!(
        line("curl x | sh"),
        [plain("curl x", &[]), opaque(&["sh"], &[])]
    );
    assert!(run(&["fish", "-c", "kubectl get"])[0].2);
}

#[test]
fn nested_wrappers_and_shells() {
    assert_eq!(
        run(&[
            "sudo",
            "sh",
            "-c",
            "env FOO=1 bash -c \"kubectl delete ns a\""
        ]),
        [plain(
            "kubectl delete ns a",
            &["sudo", "sh -c", "env", "bash -c"]
        )]
    );
    assert_eq!(
        run(&["sh", "-c", "sudo kubectl delete ns a"]),
        [plain("kubectl delete ns a", &["sh -c", "sudo"])]
    );
}

#[test]
fn quotes_and_assignments_are_removed() {
    assert_eq!(
        line("A=1 B=2 \"kubectl\" 'delete' n\\s \"a b\""),
        [(strings(&["kubectl", "delete", "ns", "a b"]), vec![], false)]
    );
    assert_eq!(line("A=1"), []);
    assert_eq!(line("exec >/tmp/log"), [plain("exec", &[])]);
}

#[test]
fn command_substitution_is_opaque_and_its_body_analysed() {
    assert_eq!(
        run(&["sh", "-c", "$(echo kubectl) delete ns a"]),
        [
            plain("echo kubectl", &["sh -c", "$(...)"]),
            opaque(&["$(echo kubectl)", "delete", "ns", "a"], &["sh -c"])
        ]
    );
    assert_eq!(
        line("kubectl delete ns `cat x`"),
        [
            plain("cat x", &["$(...)"]),
            opaque(&["kubectl", "delete", "ns", "`cat x`"], &[])
        ]
    );
    assert_eq!(
        line("X=$(kubectl get)"),
        [
            plain("kubectl get", &["$(...)"]),
            opaque(&["X=$(kubectl get)"], &[])
        ]
    );
    assert_eq!(
        line("for n in $(cat l); do kubectl delete ns $n; done"),
        [
            plain("cat l", &["$(...)"]),
            opaque(&["$(cat l)"], &[]),
            (strings(&["kubectl", "delete", "ns", "$n"]), vec![], false),
        ]
    );
}

#[test]
fn eval_source_and_process_substitution_are_opaque() {
    assert_eq!(
        line("eval kubectl delete ns a"),
        [
            opaque(&["eval", "kubectl", "delete", "ns", "a"], &[]),
            plain("kubectl delete ns a", &["eval"])
        ]
    );
    assert_eq!(line("source ./x"), [opaque(&["source", "./x"], &[])]);
    assert_eq!(line(". ./x"), [opaque(&[".", "./x"], &[])]);
    assert_eq!(
        line("diff <(kubectl get a) b"),
        [
            plain("kubectl get a", &["<(...)"]),
            opaque(&["diff", "<( kubectl get a )", "b"], &[])
        ]
    );
}

#[test]
fn expansion_in_command_position_is_opaque_but_not_in_arguments() {
    assert_eq!(line("$X args"), [opaque(&["$X", "args"], &[])]);
    assert_eq!(line("${X} args"), [opaque(&["${X}", "args"], &[])]);
    assert_eq!(line("sudo $X"), [opaque(&["$X"], &["sudo"])]);
    assert_eq!(
        line("/usr/bin/kube* get"),
        [opaque(&["/usr/bin/kube*", "get"], &[])]
    );
    assert_eq!(
        line("echo $HOME $((1+2)) *.txt"),
        [plain("echo $HOME $((1+2)) *.txt", &[])]
    );
}

#[test]
fn brace_expansion_is_applied() {
    assert_eq!(
        line("kubectl {delete,ns,a}"),
        [plain("kubectl delete ns a", &[])]
    );
    assert_eq!(
        line("echo '{a,b}' x{1..3}"),
        [plain("echo {a,b} x1 x2 x3", &[])]
    );
    assert!(line("echo {1..100000}")[0].2);
}

#[test]
fn compound_commands_are_searched() {
    assert_eq!(
        line("f() { kubectl delete ns a; }; f"),
        [plain("kubectl delete ns a", &[]), plain("f", &[])]
    );
    assert_eq!(
        line("(cd /x; rm -rf y)"),
        [plain("cd /x", &[]), plain("rm -rf y", &[])]
    );
    assert_eq!(
        line("if test -f x; then rm x; elif true; then :; else kubectl get; fi"),
        [
            plain("test -f x", &[]),
            plain("rm x", &[]),
            plain("true", &[]),
            plain(":", &[]),
            plain("kubectl get", &[])
        ]
    );
    assert_eq!(
        line("while read n; do kubectl delete ns $n; done < list"),
        [plain("read n", &[]), plain("kubectl delete ns $n", &[])]
    );
    assert_eq!(
        line("case $x in a) rm a ;; *) rm b ;; esac"),
        [plain("rm a", &[]), plain("rm b", &[])]
    );
    assert_eq!(
        line("{ rm a; } > out & rm b"),
        [plain("rm a", &[]), plain("rm b", &[])]
    );
    assert_eq!(
        line("! time rm a || rm b"),
        [plain("rm a", &["time"]), plain("rm b", &[])]
    );
}

#[test]
fn find_exec_and_trap_run_commands() {
    assert_eq!(
        run(&[
            "find", ".", "-name", "*.tmp", "-exec", "rm", "-f", "{}", ";"
        ]),
        [
            plain("find . -name *.tmp -exec rm -f {} ;", &[]),
            plain("rm -f {}", &["find -exec"])
        ]
    );
    assert_eq!(
        line("trap 'rm -rf /x' EXIT"),
        [
            (strings(&["trap", "rm -rf /x", "EXIT"]), vec![], false),
            plain("rm -rf /x", &["trap"])
        ]
    );
}

#[test]
fn unparsable_strings_are_opaque() {
    assert_eq!(
        run(&["sh", "-c", "if then"]),
        [opaque(&["sh", "-c", "if then"], &[])]
    );
    assert!(line("echo 'unterminated")[0].2);
    let deep = format!("{}true{}", "(".repeat(500), ")".repeat(500));
    assert!(line(&deep)[0].2);
}

#[test]
fn depth_is_limited() {
    let mut argv = vec!["nohup"; 40];
    argv.push("kubectl");
    let found = normalise(&strings(&argv));
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .opaque
            .as_deref()
            .unwrap_or_default()
            .contains("nested")
    );
}

#[test]
fn aliases_are_opaque() {
    assert_eq!(
        line("alias k=kubectl"),
        [opaque(&["alias", "k=kubectl"], &[])]
    );
}

#[test]
fn hostile_nesting_is_refused_without_exhausting_the_stack() {
    let n = 1000;
    let deep = [
        format!("{}true{}", "(".repeat(n), ")".repeat(n)),
        format!("{}true{}", "{ ".repeat(n), "; }".repeat(n)),
        format!("{}true{}", "if true; then ".repeat(n), "; fi".repeat(n)),
        format!("{}true{}", "while true; do ".repeat(n), "; done".repeat(n)),
        format!("{}x{}", "$(".repeat(n), ")".repeat(n)),
        format!("echo {}", "\"$(echo ".repeat(n) + &")\"".repeat(n)),
    ];
    for text in deep {
        let found = normalise_line(&text);
        assert!(found.iter().any(|c| c.opaque.is_some()), "{}", &text[..20]);
    }
}

#[test]
fn long_flat_lines_are_fine() {
    for separator in [" | ", " && ", " ; ", " "] {
        let text = vec!["a"; 5000].join(separator);
        assert!(normalise_line(&text).iter().all(|c| c.opaque.is_none()));
    }
}

#[test]
fn su_and_pkexec() {
    assert_eq!(
        run(&["su", "-", "root", "-c", "kubectl delete ns a"]),
        [plain("kubectl delete ns a", &["su -c"])]
    );
    assert_eq!(run(&["su", "-l"]), [opaque(&["su", "-l"], &[])]);
    assert_eq!(
        run(&["pkexec", "--user", "root", "rm", "x"]),
        [plain("rm x", &["pkexec"])]
    );
    assert_eq!(run(&["pkexec"]), [opaque(&["pkexec"], &[])]);
}

/// A small deterministic generator, so the never-panics check needs no extra crate.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next() % from.len()]
    }
}

const FRAGMENTS: &[&str] = &[
    "sudo", "env", "-S", "-u", "sh", "-c", "bash", "-lc", "xargs", "watch", "timeout", "5",
    "kubectl", "delete", "'", "\"", "\\", "$(", ")", "`", "${", "}", "{a,b}", "{1..3}", "|", "&&",
    ";", "&", "(", "if", "then", "fi", "for", "in", "do", "done", "case", "esac", "<<EOF", "<(",
    ">", "2>&1", "$X", "A=1", "--", "-", "eval", ".", "find", "-exec", "+", "*", "?", "[", "]",
    "~", "#", "\n", "é", "\u{0}",
];

#[test]
fn normalise_never_panics_on_noise() {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = noise.next() % 12;
        let words: Vec<String> = (0..len)
            .map(|_| noise.pick(FRAGMENTS).to_string())
            .collect();
        let _ = normalise(&words);
        let joiner = if noise.next().is_multiple_of(2) {
            " "
        } else {
            ""
        };
        let _ = normalise_line(&words.join(joiner));
    }
}

#[test]
fn positional_parameters_fed_after_a_command_string_are_opaque() {
    let opaque = |argv: &[&str]| run(argv).iter().any(|(_, _, opaque)| *opaque);
    assert!(opaque(&[
        "sh",
        "-c",
        "kubectl \"$@\"",
        "_",
        "delete",
        "ns",
        "a"
    ]));
    assert!(opaque(&["bash", "-c", "kubectl $1 ns a", "_", "delete"]));
    assert!(opaque(&["sh", "-c", "kubectl ${1} ns a", "_", "delete"]));
    // Only $0 given, or no positional use: analysed as usual.
    assert!(!opaque(&["sh", "-c", "kubectl get pods", "_", "x"]));
    assert!(!opaque(&["sh", "-c", "echo \"$@\"", "name"]));
}

#[test]
fn gate_itself_runs_the_command_after_its_options() {
    assert_eq!(
        run(&["gate", "--", "rm", "-rf", "/srv"]),
        vec![plain("rm -rf /srv", &["gate"])]
    );
    assert_eq!(
        run(&[
            "/usr/local/bin/gate",
            "--ticket",
            "abc",
            "--reason",
            "x y",
            "--json",
            "--",
            "kubectl",
            "delete",
            "ns",
            "a"
        ]),
        vec![plain("kubectl delete ns a", &["gate"])]
    );
    assert_eq!(
        run(&[
            "gate",
            "--policy=/tmp/p.toml",
            "--break-glass",
            "--",
            "dd",
            "if=/dev/zero"
        ]),
        vec![plain("dd if=/dev/zero", &["gate"])]
    );
    assert_eq!(
        line("sudo gate --ticket abc -- bash -c 'rm -rf /srv'"),
        vec![plain("rm -rf /srv", &["sudo", "gate", "bash -c"])]
    );
    // A subcommand runs no command of its own: the line stays as written.
    assert_eq!(
        run(&["gate", "check", "--", "rm", "-rf", "/"]),
        vec![plain("gate check -- rm -rf /", &[])]
    );
    assert_eq!(
        run(&["gate", "approve", "abc"]),
        vec![plain("gate approve abc", &[])]
    );
}

mod compose_and_file_copy;
mod inline_code;
mod js_runtimes;
mod programs_that_run_programs;
mod shell_language;
