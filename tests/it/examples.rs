//! The examples in examples/ work as shipped: the Python agent tool and the shell
//! functions route through the real gate, and the JSON configs name real
//! commands.

use crate::support::common::*;
use crate::support::fixtures::POLICY_DENY_PSQL_AND_RM;
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
}
