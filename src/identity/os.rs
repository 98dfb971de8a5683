//! The OS side of the requester: the user name of the real uid and the host name.
//!
//! The only unsafe code in identity lives here, one libc call per function, each
//! with its `SAFETY` argument. Nothing here fails: every lookup has a fallback.

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char};
use std::mem::MaybeUninit;
use std::ptr;

/// Largest buffer offered to `getpwuid_r`; entries beyond this are not real.
const MAX_PASSWD_BUFFER: usize = 1 << 20;

/// The real uid's user name, else `$USER`, else the uid as a number. The real
/// (not effective) uid: under a setuid wrapper it is still the person asking.
pub(super) fn current_user(env: &BTreeMap<String, String>) -> String {
    let uid = real_uid();
    user_name(uid)
        .or_else(|| super::owned(env, "USER"))
        .unwrap_or_else(|| uid.to_string())
}

/// The host name, or `localhost` when the system will not say.
pub(super) fn hostname() -> String {
    let mut buf = [0 as c_char; 256];
    // SAFETY: `buf` is a live, writable buffer and we pass its exact length, so
    // gethostname writes only inside it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return "localhost".to_owned();
    }
    // POSIX leaves a truncated name without its NUL; take up to the first NUL or all.
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8(bytes)
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn real_uid() -> libc::uid_t {
    // SAFETY: getuid has no preconditions, touches no memory of ours and cannot fail.
    unsafe { libc::getuid() }
}

/// The name for `uid`: from `/etc/passwd` when it lists the uid (what the usual
/// `passwd: files ...` NSS order gives, without loading the NSS modules), else
/// from the system's user database through `getpwuid_r` (LDAP, sssd, ...).
fn user_name(uid: libc::uid_t) -> Option<String> {
    std::fs::read("/etc/passwd")
        .ok()
        .and_then(|table| name_in_passwd(&table, uid))
        .or_else(|| nss_user_name(uid))
}

/// The first `/etc/passwd` line whose uid field is `uid`, by its name field.
fn name_in_passwd(table: &[u8], uid: libc::uid_t) -> Option<String> {
    let uid = uid.to_string();
    table.split(|&b| b == b'\n').find_map(|line| {
        let mut fields = line.split(|&b| b == b':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let line_uid = fields.next()?;
        if line_uid != uid.as_bytes() || name.is_empty() || name.starts_with(b"+") {
            return None;
        }
        std::str::from_utf8(name).ok().map(str::to_owned)
    })
}

/// The passwd entry's name for `uid`, growing the buffer while libc says ERANGE.
fn nss_user_name(uid: libc::uid_t) -> Option<String> {
    let mut len = 1024;
    loop {
        let mut buf = vec![0 as c_char; len];
        match passwd_name(uid, &mut buf) {
            Err(libc::ERANGE) if len < MAX_PASSWD_BUFFER => len *= 4,
            Err(_) => return None,
            Ok(name) => return name,
        }
    }
}

/// One `getpwuid_r` call: `Ok(None)` when there is no entry, `Err(errno)` on failure.
fn passwd_name(uid: libc::uid_t, buf: &mut [c_char]) -> Result<Option<String>, i32> {
    let mut entry = MaybeUninit::<libc::passwd>::uninit();
    let mut found: *mut libc::passwd = ptr::null_mut();
    // SAFETY: `entry` and `found` are valid for writes; `buf` is a live, writable
    // buffer of `buf.len()` bytes. getpwuid_r writes only into these three.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            entry.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 {
        return Err(rc);
    }
    if found.is_null() {
        return Ok(None);
    }
    // SAFETY: on success `found` points at `entry`, now initialised; its `pw_name`
    // is null or a NUL-terminated string inside `buf`, which is still borrowed here.
    let name = unsafe {
        let name = (*found).pw_name;
        if name.is_null() {
            return Ok(None);
        }
        CStr::from_ptr(name)
    };
    Ok(name
        .to_str()
        .ok()
        .filter(|n| !n.is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_zero_is_root() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
    }

    #[test]
    fn passwd_lines_are_matched_by_uid_field() {
        let table = b"root:x:0:0:root:/root:/bin/bash\n\
                      +nis:x:1000:1000::/:\n\
                      broken\n\
                      alice:x:10000:10000:Alice:/home/alice:/bin/sh\n\
                      bob:x:1000:1000::/home/bob:/bin/sh\n";
        assert_eq!(name_in_passwd(table, 0).as_deref(), Some("root"));
        assert_eq!(name_in_passwd(table, 1000).as_deref(), Some("bob"));
        assert_eq!(name_in_passwd(table, 10000).as_deref(), Some("alice"));
        assert_eq!(name_in_passwd(table, 100), None);
    }

    #[test]
    fn files_and_nss_agree_on_root() {
        assert_eq!(nss_user_name(0).as_deref(), Some("root"));
    }

    #[test]
    fn an_unknown_uid_has_no_name() {
        let unknown = libc::uid_t::MAX - 7;
        assert_eq!(user_name(unknown), None);
    }

    #[test]
    fn current_user_and_hostname_are_never_empty() {
        assert!(!current_user(&BTreeMap::new()).is_empty());
        assert!(!hostname().is_empty());
    }
}
