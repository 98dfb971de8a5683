//! The command line: argument definitions only. Each subcommand's behaviour lives
//! in `crate::commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "gate",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("GATE_COMMIT"), ")"),
    about = "Put a verified human decision in front of privileged commands",
    long_about = None,
    args_conflicts_with_subcommands = true,
    override_usage = "gate [--policy FILE] [--reason TEXT] [--json] -- COMMAND [ARG...]\n       gate <SUBCOMMAND>",
    after_help = "Exit status: the command's own, or 128+N when it died of signal N.\n\
gate's own outcomes: 100 denied by policy, 101 denied by a person, 102 approval timed out,\n\
103 needs approval (no request made), 104 cancelled, 105 bad policy, 106 audit failure,\n\
107 audit verification failed, 108 policy tests failed, 109 approval invalid, 110 usage,\n\
111 internal error, 126 not executable, 127 not found.\n\
A subcommand whose reader goes away (`gate audit show | head -1`) ends quietly by SIGPIPE."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of the wrap-and-run form.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub policy: PolicyArg,

    /// Why you are running this (sent to approvers, kept in the audit log).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// When nothing runs (refused, or the command cannot be started), report it as
    /// one JSON object on stdout instead of a line on stderr; an approved command's
    /// approval is one JSON line on stderr (stdout is the command's).
    #[arg(long)]
    pub json: bool,

    /// Approve your own request, where the rule allows break-glass; needs --reason.
    /// Flagged in the audit log and announced to the approvers.
    #[arg(long, requires = "reason")]
    pub break_glass: bool,

    /// Run under an approval already granted for request ID (its ticket was stored
    /// by `gate hook claude-code`): verified against this exact command, used once.
    #[arg(long, value_name = "ID", conflicts_with = "break_glass")]
    pub ticket: Option<String>,

    /// The command to run, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArg {
    /// Policy file. Default, first found: $GATE_POLICY, ./.gate/policy.toml,
    /// $GATE_HOME/policy.toml (where `gate init` writes; without GATE_HOME
    /// $XDG_CONFIG_HOME/gate/policy.toml), then the built-in default. A managed gate
    /// (/etc/gate/managed.toml or $GATE_HOME/managed.toml) ignores all of these and
    /// uses its organisation's signed policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide and explain, run nothing.
    Check {
        #[command(flatten)]
        policy: PolicyArg,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Decide an MCP tool call instead of a command: the server's name (as
        /// `gate mcp proxy --name` gives it) and the tool's.
        #[arg(long, num_args = 2, value_names = ["SERVER", "TOOL"], conflicts_with = "command")]
        tool: Option<Vec<String>>,
        /// The tool call's arguments, a JSON object (with --tool).
        #[arg(long, value_name = "JSON", requires = "tool")]
        arguments: Option<String>,
        /// The command to decide, after `--`.
        #[arg(last = true, required_unless_present = "tool", value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Validate a policy or run its `[[test]]` cases.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Write a starter policy and a signing key (never overwrites).
    Init,
    /// Read, verify and export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the approval broker (HTTP API), or manage its tokens, key and
    /// enrolled installations.
    Serve(ServeArgs),
    /// Enroll this machine with the broker: create its installation key and
    /// register it with a one-time code from `gate serve enroll NAME`.
    Enroll {
        /// The enrollment code (printed once by `gate serve enroll NAME`).
        code: String,
        /// The broker's URL, or several replicas' separated by commas, enrolling
        /// with the first that answers (default: $GATE_SERVER, then the
        /// policy's `[channels.api] url`).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Approve a pending request.
    #[command(
        override_usage = "gate approve [--reason TEXT] [--server URL] [--token TOKEN | GATE_TOKEN] ID"
    )]
    Approve {
        /// The request id.
        id: String,
        /// Why you approve (kept with the decision).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Deny a pending request; the requester's command does not run.
    #[command(
        override_usage = "gate deny --reason TEXT [--server URL] [--token TOKEN | GATE_TOKEN] ID"
    )]
    Deny {
        /// The request id.
        id: String,
        /// Why you deny (shown to the requester).
        #[arg(long, value_name = "TEXT", required = true)]
        reason: String,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// List the requests waiting for a decision.
    #[command(override_usage = "gate pending [--json] [--server URL] [--token TOKEN | GATE_TOKEN]")]
    Pending {
        /// Print the broker's JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Full-screen terminal inbox for approvers: pending requests, live.
    #[command(override_usage = "gate inbox [--server URL] [--token TOKEN | GATE_TOKEN]")]
    Inbox {
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// Agent integrations: decide an agent's tool call (reads stdin, writes stdout).
    #[command(subcommand)]
    Hook(HookCommand),
    /// MCP server on stdio: a `run_command` tool that goes through policy,
    /// approval and audit like `gate --`; `gate mcp proxy` gates another MCP
    /// server's tools.
    #[command(args_conflicts_with_subcommands = true)]
    Mcp {
        #[command(flatten)]
        policy: PolicyArg,
        #[command(subcommand)]
        command: Option<McpCommand>,
    },
    /// Print a shell completion script (install.sh installs bash's, zsh's and
    /// fish's).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the gate(1) man page, or with --dir write it and one page per
    /// subcommand (gate-audit-verify.1, …) into DIR.
    Man {
        /// Write gate.1 and every gate-SUBCOMMAND.1 into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Where the broker is and who the approver is. `Debug` never shows the token.
#[derive(Args, Clone)]
pub struct BrokerArgs {
    /// The broker's URL, or several replicas' separated by commas: each call
    /// goes to the next when one does not answer.
    #[arg(
        long,
        env = "GATE_SERVER",
        value_name = "URL",
        default_value = "http://127.0.0.1:8787"
    )]
    pub server: String,
    /// Your approver token (from `gate serve token create NAME`); --token or
    /// GATE_TOKEN, one of the two.
    #[arg(long, env = "GATE_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl std::fmt::Debug for BrokerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerArgs")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "****"))
            .finish()
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// Broker config file (default: $GATE_HOME/broker.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How the log on stderr is written: text lines, or one JSON object per line
    /// ({"time", "level", "message"}) for a log collector.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Manage approver tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the broker's public key (PEM), to pin in GATE_SERVER_KEY.
    Pubkey,
    /// Make a one-time enrollment code for installation NAME (printed once), or
    /// list and revoke enrolled installations.
    Enroll(EnrollArgs),
}

/// `gate serve enroll NAME`, `gate serve enroll list`, `gate serve enroll revoke NAME`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EnrollArgs {
    #[command(subcommand)]
    pub command: Option<EnrollCommand>,
    /// The installation's name: approvers see it as the requester's host.
    pub name: Option<String>,
    /// How long the code stays usable.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub expires: String,
    /// Broker config file (default: $GATE_HOME/broker.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum EnrollCommand {
    /// Show enrolled installations: name, enrolled at, last seen, revoked.
    List {
        /// Broker config file (default: $GATE_HOME/broker.toml when it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Stop installation NAME at once; it must enroll again with a new code.
    Revoke {
        /// The installation.
        name: String,
        /// Broker config file (default: $GATE_HOME/broker.toml when it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a person in the broker config; prints it once.
    Create {
        /// The person (a `[people.NAME]` in the broker config).
        name: String,
        /// Broker config file (default: $GATE_HOME/broker.toml when it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List approver tokens: whose, created when, last used when, revoked or not.
    List {
        /// Broker config file (default: $GATE_HOME/broker.toml when it exists):
        /// tokens of someone it no longer names are marked, as the broker
        /// refuses them.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Revoke every token of a person, at once (a running broker refuses them on
    /// the next call).
    Revoke {
        /// The person whose tokens stop working.
        name: String,
        /// Broker config file (default: $GATE_HOME/broker.toml when it exists):
        /// its `[store]` is where the tokens are.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Sit between an MCP client (on stdio) and an MCP server (COMMAND on its
    /// stdio, or --url): pass everything through, and decide each `tools/call`
    /// by the policy's `[[tool]]` rules (allow, deny, or ask an approver),
    /// recording each one.
    Proxy {
        #[command(flatten)]
        policy: PolicyArg,
        /// The server's name in `[[tool]]` rules, approvals and the audit log
        /// (default: the program's file name, or the URL's host).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// A Streamable HTTP MCP server to relay to, instead of a COMMAND.
        #[arg(long, value_name = "URL", conflicts_with = "command")]
        url: Option<String>,
        /// The MCP server to run, after `--`.
        #[arg(last = true, required_unless_present = "url", value_name = "COMMAND")]
        command: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Claude Code PreToolUse hook: a PreToolUse event on stdin, a permission
    /// decision on stdout, exit 0 (a deny whenever anything goes wrong).
    ClaudeCode {
        #[command(flatten)]
        hook: HookArgs,
    },
    /// OpenAI Codex CLI PreToolUse hook (`[[hooks.PreToolUse]]` in config.toml):
    /// a deny is exit 2 with the reason on stderr.
    Codex {
        #[command(flatten)]
        hook: HookArgs,
    },
    /// Gemini CLI BeforeTool hook (`hooks.BeforeTool` in settings.json): a deny is
    /// exit 2 with the reason on stderr and `decision: deny` on stdout.
    Gemini {
        #[command(flatten)]
        hook: HookArgs,
    },
    /// Cursor beforeShellExecution hook (`.cursor/hooks.json`): `permission` on
    /// stdout; a deny also exits 2.
    Cursor {
        #[command(flatten)]
        hook: HookArgs,
    },
    /// GitHub Copilot CLI preToolUse hook (`.github/hooks/*.json`):
    /// `permissionDecision` on stdout.
    Copilot {
        #[command(flatten)]
        hook: HookArgs,
    },
    /// Cline PreToolUse hook (`.clinerules/hooks/PreToolUse`): `{cancel,
    /// errorMessage}` on stdout; a deny cancels the task.
    Cline {
        #[command(flatten)]
        hook: HookArgs,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct HookArgs {
    #[command(flatten)]
    pub policy: PolicyArg,

    /// Wait at most this many seconds for a person, then deny with "approval
    /// pending: ID, retry the same command" and leave the request open; the retried
    /// call picks up the decision. Keep it under the host's hook timeout. Default:
    /// codex 60, gemini 30, cursor, copilot and cline 20; claude-code waits
    /// `[agents.claude-code] approval_timeout` and then denies.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub wait: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Report every error in a policy (including failing `[[test]]` cases).
    Lint {
        /// Policy file (default: the one gate would use).
        file: Option<PathBuf>,
    },
    /// Run the policy's `[[test]]` cases.
    Test {
        /// Policy file (default: the one gate would use).
        file: Option<PathBuf>,
        /// Print one JSON object: every case with its expected and actual decision.
        #[arg(long)]
        json: bool,
    },
    /// Propose FILE as the organisation policy: lint it, run its tests, show the
    /// diff against the version in force, and ask the broker's policy admins.
    #[command(
        override_usage = "gate policy publish [--reason REASON] [--server URL] [--token TOKEN | GATE_TOKEN] FILE"
    )]
    Publish {
        /// The new organisation policy.
        file: PathBuf,
        /// Why it changes (shown to the admins who approve it).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        broker: BrokerArgs,
    },
    /// List every published organisation policy version, who published it and
    /// who approved it.
    #[command(
        override_usage = "gate policy history [--json] [--server URL] [--token TOKEN | GATE_TOKEN]"
    )]
    History {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        broker: BrokerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Show records as a table, newest first (the newest 20 unless --limit or --all).
    Show(ShowArgs),
    /// Check every signature and the hash chain.
    Verify {
        /// Verify with this public key (PEM) instead of the local signing key.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// A record hash printed by an earlier verify: it must still be in the chain
        /// (detects truncation of the newest records).
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
        /// The log must hold at least this many records.
        #[arg(long, value_name = "N")]
        expect_count: Option<u64>,
        /// Verify this log file (e.g. one copied from another machine) instead of
        /// $GATE_HOME/audit.db; give its public key with --key.
        #[arg(long, value_name = "FILE", requires = "key")]
        db: Option<PathBuf>,
        /// Also check the log against the newest record the broker holds of this
        /// installation: records removed or rewritten after they were forwarded
        /// show here.
        #[arg(long, conflicts_with = "db")]
        broker: bool,
        /// The broker for --broker, or several replicas' separated by commas
        /// (default: the one this installation enrolled with, else $GATE_SERVER).
        #[arg(long, value_name = "URL", requires = "broker")]
        server: Option<String>,
    },
    /// Send the records the broker has not acknowledged yet (a gate run does this
    /// in the background after it records; this sends any backlog now).
    Push {
        /// The broker, or several replicas' separated by commas (default: the one
        /// this installation enrolled with, else $GATE_SERVER).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Print nothing on success.
        #[arg(long)]
        quiet: bool,
    },
    /// Export records as JSON lines or CSV.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Print the audit log's public key (PEM).
    Pubkey,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Every matching record, not only the newest 20.
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// Never cut long columns to fit the terminal.
    #[arg(long)]
    pub wide: bool,
    /// Print straight to the terminal, not through $PAGER.
    #[arg(long)]
    pub no_pager: bool,
}

#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    /// Only the newest N records.
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
    /// Only records at or after this time: a duration back from now (90m, 2d, 1w),
    /// a date (2026-11-01, midnight UTC) or an instant (2026-11-01T09:30:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records with this decision: a record value (allow, deny, approved, rejected,
    /// exited, …; docs/audit-format.md) or a word for one (denied = rejected, the
    /// denial by an approver; allowed = allow; timeout = timed-out, …).
    #[arg(long, value_name = "DECISION")]
    pub decision: Option<String>,
    /// Only records of this user.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only records whose command contains this text.
    #[arg(long, value_name = "TEXT")]
    pub command: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}
