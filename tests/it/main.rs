//! End-to-end tests: the real `gate` binary in an isolated GATE_HOME. One module per
//! feature; what they share (contexts, brokers, fakes) is in `support`.

mod support;

mod approval_broker;
mod approval_channel;
mod approval_run;
mod approval_web;
mod approver;
mod audit_log;
mod broker;
mod browser;
mod ci_identity;
mod ci_oidc;
mod closed_pipe;
mod dashboard;
mod deploy;
mod docs_agree;
mod enrollment;
mod errors;
mod examples;
mod flag_shapes;
mod forged_approvals;
mod forwarding;
mod hook;
mod hook_examples;
mod hook_hosts;
mod inbox;
mod install;
mod key_files;
mod mcp;
mod mcp_proxy;
mod org_policy;
mod policy_cli;
mod postgres_broker;
mod postgres_harness;
mod redaction;
mod run;
mod shared_people;
mod shell_shapes;
mod signals;
mod slack;
mod sso;
mod teams;
mod web;
mod wrapper_shapes;
