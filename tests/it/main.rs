//! End-to-end tests: the real `gate` binary in an isolated GATE_HOME.

mod approver;
mod audit_log;
mod broker;
mod broker_support;
mod common;
mod inbox;
mod policy_cli;
mod run;
mod signals;
