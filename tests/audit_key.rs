//! The signing key file: created private and once, refused when others can change
//! or read it, clear errors for a bad file, public key round trip.

use gate::keys::KeyError;
use gate::keys::{load_or_create, load_public_key, load_signing_key, public_key_pem};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn created_private_in_a_private_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("home/gate/key.pem");
    let key = load_or_create(&path).expect("create");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("home/gate")), 0o700);
    let text = fs::read_to_string(&path).expect("read");
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
    assert_eq!(load_signing_key(&path).expect("load"), key);
    let leftovers = fs::read_dir(dir.path().join("home/gate"))
        .expect("ls")
        .count();
    assert_eq!(leftovers, 1, "temporary file left behind");
}

#[test]
fn an_existing_key_is_loaded_not_overwritten() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("key.pem");
    let first = load_or_create(&path).expect("create");
    let before = fs::read(&path).expect("read");
    let second = load_or_create(&path).expect("load");
    assert_eq!(first, second);
    assert_eq!(fs::read(&path).expect("read"), before);
}

#[test]
fn racing_creators_agree_on_one_key() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("key.pem");
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || load_or_create(&path).expect("create or load"))
        })
        .collect();
    let keys: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    assert!(keys.windows(2).all(|pair| pair[0] == pair[1]));
}

#[test]
fn group_writable_key_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("key.pem");
    load_or_create(&path).expect("create");
    chmod(&path, 0o664);
    let err = load_or_create(&path).expect_err("refused");
    assert!(matches!(err, KeyError::Insecure(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("chmod go-w"),
        "{text}"
    );
}

#[test]
fn key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("key.pem");
    load_or_create(&path).expect("create");
    chmod(&path, 0o644);
    let err = load_signing_key(&path).expect_err("refused");
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn bad_pem_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("key.pem");
    fs::write(
        &path,
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    chmod(&path, 0o600);
    let err = load_or_create(&path).expect_err("bad pem");
    assert!(matches!(err, KeyError::Invalid { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let err = load_public_key(&path).expect_err("bad pem");
    assert!(matches!(err, KeyError::Invalid { .. }), "{err:?}");
}

#[test]
fn missing_key_says_run_gate_init() {
    let dir = tempfile::tempdir().expect("dir");
    let err = load_signing_key(&dir.path().join("none.pem")).expect_err("missing");
    assert!(err.to_string().contains("gate init"), "{err}");
}

#[test]
fn public_key_pem_round_trips_and_private_pem_is_accepted() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("key.pem");
    let key = load_or_create(&path).expect("create");
    let public = public_key_pem(&key.verifying_key());
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    let pub_path = dir.path().join("key.pub.pem");
    fs::write(&pub_path, &public).expect("write");
    chmod(&pub_path, 0o644);
    assert_eq!(
        load_public_key(&pub_path).expect("load"),
        key.verifying_key()
    );
    assert_eq!(load_public_key(&path).expect("load"), key.verifying_key());
}
