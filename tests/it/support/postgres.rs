//! A real, throwaway PostgreSQL server for the tests that need one. The `it`
//! binary uses it as `support::postgres`; the library's unit tests include this
//! same file with `#[path]`, so it must depend on std and libc only, never on the
//! rest of `support`.
//!
//! [`cluster()`] starts one cluster per test process (initdb into a new directory,
//! then `postgres` on a free 127.0.0.1 port, fsync off, 300 connections because
//! tests run many brokers at once) and [`Cluster::database`] gives each test a
//! new, empty database in it. A test that stops or restarts the server takes a
//! cluster of its own from [`private_cluster()`], so the tests sharing the other
//! one are not disturbed.
//!
//! PostgreSQL refuses to run as root. As root (as CI runs) the cluster belongs to
//! the system user `gatepg`, created with useradd when missing (`nobody` where it
//! cannot be). The server dies with the test process, even one that panics or is
//! killed: a thread that lives as long as the process spawns it with the
//! parent-death signal set to SIGKILL. The next test process removes the
//! directories that dead ones left.
//!
//! The binaries are taken from the directory GATE_TEST_PG_BIN, else the highest
//! /usr/lib/postgresql/*/bin (Debian's layout), else PATH. Where PostgreSQL is not
//! installed, [`cluster()`] says so in one line on stderr and returns None, and the
//! test returns early: it passes without checking anything on a developer machine
//! without PostgreSQL. With CI set it panics instead: .ci/run installs PostgreSQL.

// Each of the two crates that include this file uses a part of it.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The superuser initdb creates; every connection is made as it, without a password.
pub const USER: &str = "gate";
/// The account a cluster runs as when the tests run as root.
const SERVER_ACCOUNT: &str = "gatepg";
/// How the cluster directories are named: `gate-pg-PID-NANOS`, PID the test process's.
const DIR_PREFIX: &str = "gate-pg-";
const MAX_CONNECTIONS: u32 = 300;
const READY_WITHIN: Duration = Duration::from_secs(60);
const NOT_INSTALLED: &str =
    "PostgreSQL is not installed; .ci/run installs it (apt-get install postgresql)";

/// A running PostgreSQL cluster in a directory of its own, listening on
/// 127.0.0.1 and on a unix socket in that directory.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Who the server runs as when that is not the test process's user (root).
    owner: Option<Account>,
    postmaster: Mutex<Option<Child>>,
    databases: AtomicUsize,
}

/// A new, empty database in a [`Cluster`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub name: String,
    /// `postgres://gate@127.0.0.1:PORT/NAME`
    pub url: String,
}

#[derive(Debug, Clone, Copy)]
struct Account {
    uid: u32,
    gid: u32,
}

/// The cluster this test process shares, started by the first caller; None (after
/// a note on stderr) where PostgreSQL is not installed and CI is not set.
pub fn cluster() -> Option<&'static Cluster> {
    static SHARED: OnceLock<Option<Result<Cluster, String>>> = OnceLock::new();
    match SHARED.get_or_init(|| installed_bin().map(Cluster::create)) {
        Some(Ok(cluster)) => Some(cluster),
        Some(Err(why)) => panic!("{why}"),
        None => not_installed(),
    }
}

/// A cluster of the caller's own, for a test that stops or restarts the server;
/// it is shut down and removed when dropped.
pub fn private_cluster() -> Option<Cluster> {
    match installed_bin().map(Cluster::create) {
        Some(Ok(cluster)) => Some(cluster),
        Some(Err(why)) => panic!("{why}"),
        None => not_installed(),
    }
}

fn not_installed<T>() -> Option<T> {
    let in_ci = std::env::var("CI").is_ok_and(|ci| !matches!(ci.as_str(), "" | "0" | "false"));
    if in_ci {
        panic!("{NOT_INSTALLED}");
    }
    eprintln!("{NOT_INSTALLED}; this test checks nothing here");
    None
}

impl Cluster {
    /// A new, empty database, named `gate_test_N`.
    pub fn database(&self) -> Database {
        let name = format!(
            "gate_test_{}",
            self.databases.fetch_add(1, Ordering::Relaxed)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        Database {
            url: self.url_for(&name),
            name,
        }
    }

    /// The URL of database `db` over TCP.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs `sql` in database `db` with `psql -At` and returns what it printed,
    /// without the last line end; panics with psql's stderr when it fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.psql_as(USER, db, &[sql])
    }

    /// [`Cluster::psql`] as role `user`, running each of `commands` in turn
    /// (psql prints the notifications it received after each).
    pub fn psql_as(&self, user: &str, db: &str, commands: &[&str]) -> String {
        let port = self.port.to_string();
        let sql = commands.join("; ");
        let output = Command::new(self.tool("psql"))
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-p", &port, "-U", user, "-d", db])
            .args(commands.iter().flat_map(|command| ["-c", command]))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "psql -d {db} -c {sql:?} failed ({}): {}",
            output.status,
            stderr.trim()
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout.strip_suffix('\n').unwrap_or(&stdout).to_string()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the server's unix socket is (`-k`): `SOCKET_DIR/.s.PGSQL.PORT`.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.join("sockets")
    }

    /// Stops the server and starts it again on the same port; returns once it
    /// accepts connections. Connections open before are gone.
    pub fn restart(&self) {
        self.stop();
        self.start();
    }

    /// Shuts the server down (fast: open sessions are ended) and waits until it
    /// has exited.
    pub fn stop(&self) {
        if let Some(postmaster) = self.postmaster().take() {
            shut_down(postmaster);
        }
    }

    /// Starts the stopped server again; returns once it accepts connections.
    pub fn start(&self) {
        self.try_start().unwrap_or_else(|why| panic!("{why}"));
    }

    fn create(bin: PathBuf) -> Result<Cluster, String> {
        if !bin.join("initdb").is_file() || !bin.join("postgres").is_file() {
            return Err(format!("no initdb and postgres in {}", bin.display()));
        }
        let owner = if running_as_root() {
            Some(server_account()?)
        } else {
            None
        };
        let mut cluster = Cluster {
            bin,
            dir: new_dir(owner)?,
            port: 0,
            owner,
            postmaster: Mutex::new(None),
            databases: AtomicUsize::new(0),
        };
        cluster.initdb()?;
        // The free port can be taken by another process before the server binds it.
        let mut tries = 3;
        loop {
            cluster.port = free_port()?;
            match cluster.try_start() {
                Ok(()) => return Ok(cluster),
                Err(_) if tries > 1 => tries -= 1,
                Err(why) => return Err(why),
            }
        }
    }

    fn initdb(&self) -> Result<(), String> {
        let mut initdb = self.as_owner(Command::new(self.bin.join("initdb")));
        initdb
            .arg("-D")
            .arg(self.data_dir())
            .args(["-U", USER, "--auth=trust", "-E", "UTF8", "--no-locale"])
            .arg("--no-sync");
        let output = initdb
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        fs::create_dir(self.socket_dir())
            .map_err(|e| format!("cannot create the socket directory: {e}"))?;
        self.give_to_owner(&self.socket_dir())
    }

    fn try_start(&self) -> Result<(), String> {
        let mut postmaster = self.postmaster();
        if postmaster.is_some() {
            return Ok(());
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .map_err(|e| format!("cannot open the server log: {e}"))?;
        let log_too = log.try_clone().map_err(|e| e.to_string())?;
        let mut postgres = self.as_owner(Command::new(self.bin.join("postgres")));
        postgres
            .arg("-D")
            .arg(self.data_dir())
            .arg("-k")
            .arg(self.socket_dir())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("max_connections={MAX_CONNECTIONS}")])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too);
        let mut child = spawn_for_process_lifetime(postgres)
            .map_err(|e| format!("cannot run {}: {e}", self.bin.join("postgres").display()))?;
        match self.wait_until_ready(&mut child) {
            Ok(()) => {
                *postmaster = Some(child);
                Ok(())
            }
            Err(why) => {
                shut_down(child);
                Err(why)
            }
        }
    }

    fn wait_until_ready(&self, postmaster: &mut Child) -> Result<(), String> {
        let deadline = Instant::now() + READY_WITHIN;
        let port = self.port.to_string();
        loop {
            if let Ok(Some(status)) = postmaster.try_wait() {
                return Err(format!(
                    "postgres exited ({status}) before accepting connections:\n{}",
                    self.log_tail()
                ));
            }
            let ready = Command::new(self.tool("pg_isready"))
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    USER,
                    "-d",
                    "postgres",
                ])
                .status()
                .map_err(|e| format!("cannot run pg_isready: {e}"))?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not accept connections within {READY_WITHIN:?}:\n{}",
                    self.log_tail()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn postmaster(&self) -> MutexGuard<'_, Option<Child>> {
        self.postmaster
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn as_owner(&self, mut command: Command) -> Command {
        // The owner may not be able to enter the test's working directory.
        command.current_dir(&self.dir).env("LC_ALL", "C");
        if let Some(owner) = self.owner {
            command.uid(owner.uid).gid(owner.gid);
        }
        command
    }

    fn give_to_owner(&self, path: &Path) -> Result<(), String> {
        match self.owner {
            Some(owner) => chown(path, Some(owner.uid), Some(owner.gid))
                .map_err(|e| format!("cannot chown {}: {e}", path.display())),
            None => Ok(()),
        }
    }

    /// The PostgreSQL binary `name`: in the server's directory when it is
    /// there (psql and pg_isready may be installed apart), else on PATH.
    fn tool(&self, name: &str) -> PathBuf {
        let beside = self.bin.join(name);
        if beside.is_file() {
            beside
        } else {
            PathBuf::from(name)
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Asks the postmaster for a fast shutdown (SIGINT: sessions are ended, then a
/// checkpoint) and waits for it to exit.
fn shut_down(mut postmaster: Child) {
    if let Ok(pid) = libc::pid_t::try_from(postmaster.id()) {
        // SAFETY: kill takes no pointers; the child has not been waited for, so
        // its pid still names it.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }
    let _ = postmaster.wait();
}

/// Spawns `command` with the parent-death signal set to SIGKILL, from a thread
/// that ends only with the process. The kernel sends that signal when the
/// *thread* that spawned the child ends, so spawning from a test's own thread
/// would kill the server when that test ends.
fn spawn_for_process_lifetime(mut command: Command) -> io::Result<Child> {
    type Job = (Command, Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Sender<Job>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("postgres-spawner".to_string())
            .spawn(move || {
                for (mut command, reply) in queue {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("cannot start the thread that spawns postgres");
        jobs
    });
    // SAFETY: the closure runs in the forked child before exec, after std has
    // switched to the owner's uid (a change of uid would clear the setting); it
    // only calls prctl, which is async-signal-safe and takes no pointers.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (reply, answer) = mpsc::channel();
    spawner
        .send((command, reply))
        .map_err(|_| io::Error::other("the postgres spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the postgres spawner thread is gone"))?
}

/// The directory with initdb and postgres, if PostgreSQL is installed.
fn installed_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GATE_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    debian_bin().or_else(|| {
        let initdb = std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("initdb"))
            .find(|initdb| initdb.is_file())?;
        // /usr/local/bin/initdb may be a link into the real directory, where
        // postgres and the client tools are.
        Some(fs::canonicalize(initdb).ok()?.parent()?.to_path_buf())
    })
}

/// The highest version's /usr/lib/postgresql/VERSION/bin.
fn debian_bin() -> Option<PathBuf> {
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let version: Vec<u32> = path
                .file_name()?
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = path.join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The unprivileged account to run the server as: `gatepg`, created when
/// missing, else `nobody`.
fn server_account() -> Result<Account, String> {
    // Two useradds at once can both succeed and leave one uid in /etc/passwd
    // and the other in the caller's hands.
    static CREATING: Mutex<()> = Mutex::new(());
    let _creating = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(account) = account(SERVER_ACCOUNT) {
        return Ok(account);
    }
    let useradd = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
        ])
        .arg(SERVER_ACCOUNT)
        .output();
    // Another test process may have created it meanwhile, so look again
    // whatever useradd said.
    account(SERVER_ACCOUNT)
        .or_else(|| account("nobody"))
        .ok_or_else(|| {
            format!(
                "PostgreSQL does not run as root, and there is neither a user {SERVER_ACCOUNT} \
             (useradd: {useradd:?}) nor nobody to run it as"
            )
        })
}

fn account(name: &str) -> Option<Account> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields[..] {
            [user, _, uid, gid, ..] if user == name => Some(Account {
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
            }),
            _ => None,
        }
    })
}

/// A new directory for a cluster, owned by the server's account. As root it is
/// under /tmp, which every account can enter, whatever TMPDIR says; directories
/// that test processes no longer running left there are removed first.
fn new_dir(owner: Option<Account>) -> Result<PathBuf, String> {
    let base = match owner {
        Some(_) => PathBuf::from("/tmp"),
        None => std::env::temp_dir(),
    };
    remove_abandoned_dirs(&base);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let dir = base.join(format!("{DIR_PREFIX}{}-{nanos}", std::process::id()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if let Some(owner) = owner {
        chown(&dir, Some(owner.uid), Some(owner.gid))
            .map_err(|e| format!("cannot chown {}: {e}", dir.display()))?;
    }
    Ok(dir)
}

fn remove_abandoned_dirs(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|name| name.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|e| e.to_string())
}
