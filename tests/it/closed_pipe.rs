//! A reader that stops reading (`gate audit show | head -1`) ends gate quietly, as
//! it ends `cat`: by SIGPIPE, with nothing on stderr (no error line, no panic).

use crate::support::common::*;
use crate::support::fixtures::POLICY_ALLOW_ALL;
use std::os::unix::process::ExitStatusExt;

const POLICY_WITH_TESTS: &str = "version = 1\ndefault = \"allow\"\n\
    [[test]]\ncommand = \"ls\"\nexpect = \"allow\"\n\
    [[test]]\ncommand = \"true\"\nexpect = \"allow\"\n";

#[test]
fn every_printing_command_ends_quietly_when_its_reader_is_gone() {
    let ctx = TestContext::with_policy(POLICY_ALLOW_ALL);
    assert_eq!(code(&ctx.run(&["--", "true"])), 0);
    let tests = ctx.write_private("tests.toml", POLICY_WITH_TESTS);
    let tests = tests.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["audit", "show"],
        &["audit", "export", "--format", "jsonl"],
        &["audit", "export", "--format", "csv"],
        &["audit", "pubkey"],
        &["audit", "verify"],
        &["policy", "test", tests],
        &["policy", "lint", tests],
        &["check", "--", "ls"],
        &["check", "--json", "--", "ls"],
        &["--help"],
    ];
    for args in commands {
        // The read end is closed before gate writes anything: every write finds
        // the reader gone, as `| head -0` would.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = ctx.gate().args(*args).stdout(writer).output().unwrap();
        let quiet = out.status.signal() == Some(libc::SIGPIPE) || out.status.code() == Some(0);
        assert!(quiet, "gate {args:?}: {:?}: {}", out.status, stderr(&out));
        assert_eq!(stderr(&out), "", "gate {args:?}");
    }
}
