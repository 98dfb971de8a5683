//! End-to-end tests: the real `gate` binary in an isolated GATE_HOME.

mod approval_broker;
mod approval_channel;
mod approval_run;
mod approval_web;
mod approver;
mod audit_log;
mod broker;
mod broker_support;
mod ci_identity;
mod common;
mod examples;
mod fake_broker;
mod fake_teams;
mod hook;
mod inbox;
mod install;
mod mcp;
mod policy_cli;
mod run;
mod signals;
mod slack;
mod teams;
mod waiting;
mod web;
mod web_support;
