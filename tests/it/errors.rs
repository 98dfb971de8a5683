//! Errors a new user meets by mistake: each must name the real problem and the fix.

use crate::support::common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn a_directory_given_as_the_policy_is_called_a_directory() {
    let ctx = TestContext::new();
    let dir = ctx.dir.path().join("policies");
    std::fs::create_dir(&dir).unwrap();
    // World-writable like /tmp: the permissions are not the problem to report.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = ctx.run(&["--policy", dir.to_str().unwrap(), "--", "true"]);
    assert_ne!(code(&out), 0);
    let err = stderr(&out);
    assert!(
        err.contains(&dir.display().to_string()) && err.contains("is a directory"),
        "{err}"
    );
    assert!(!err.contains("chmod"), "{err}");
}
