//! End-to-end tests: the real `gate` binary in an isolated GATE_HOME.

mod audit_log;
mod broker;
mod broker_support;
mod common;
mod policy_cli;
mod run;
mod signals;
