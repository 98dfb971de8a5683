//! `gate audit show | verify | export | pubkey`.

use crate::audit::{self, AuditError, AuditLog, Filter};
use crate::cli::{AuditCommand, ExportFormat, FilterArgs, ShowArgs};
use crate::error::{Error, exit};
use crate::paths::Home;
use std::io::Write;

pub(super) fn audit(command: AuditCommand, home: &Home) -> Result<u8, Error> {
    match command {
        AuditCommand::Show(args) => show(&args, home),
        AuditCommand::Verify {
            key,
            head,
            expect_count,
            db,
            broker,
            server,
        } => {
            let expect = audit::Expect {
                head,
                min_records: expect_count,
            };
            let path = db.unwrap_or_else(|| home.log_file());
            let code = verify(key.as_deref(), &path, &expect, home)?;
            if broker {
                super::audit_push::verify_with_broker(server.as_deref(), home)
            } else {
                Ok(code)
            }
        }
        AuditCommand::Push { server, quiet } => {
            super::audit_push::push(server.as_deref(), quiet, home)
        }
        AuditCommand::Export { format, filter } => export(format, &filter, home),
        AuditCommand::Pubkey => pubkey(home),
    }
}

fn audit_error(e: impl Into<AuditError>) -> Error {
    Error::Audit {
        source: e.into(),
        nothing_ran: false,
    }
}

/// Writing the records out failed (a closed pipe, a full disk).
fn output_error(e: std::io::Error) -> Error {
    Error::AuditOutput(e)
}

fn open_existing(home: &Home) -> Result<AuditLog, Error> {
    let path = home.log_file();
    if !path.exists() {
        return Err(Error::Refused {
            message: format!(
                "no audit log at {} yet; run a command through gate first",
                path.display()
            ),
            code: exit::AUDIT_FAILED,
        });
    }
    AuditLog::open_read_only(&path).map_err(audit_error)
}

fn filter(args: &FilterArgs) -> Result<Filter, Error> {
    let since = match &args.since {
        Some(text) => Some(
            audit::parse_since(text, std::time::SystemTime::now()).ok_or_else(|| {
                Error::Usage(format!(
                    "gate: --since {text:?} is not a time; use {}",
                    audit::SINCE_FORMS
                ))
            })?,
        ),
        None => None,
    };
    Ok(Filter {
        limit: args.limit,
        since,
        decision: args.decision.as_deref().map(decision_filter).transpose()?,
        user: args.user.clone(),
        command: args.command.clone(),
        ..Filter::default()
    })
}

/// `--decision WORD`: the record value it names, or a usage error listing them all.
fn decision_filter(word: &str) -> Result<String, Error> {
    use crate::audit::{RECORD_VALUES, RecordDecision, USER_WORDS};
    match RecordDecision::from_user_word(word) {
        Some(value) => Ok(value.as_str().to_string()),
        None => {
            let values: Vec<&str> = RECORD_VALUES.iter().map(|v| v.as_str()).collect();
            let words: Vec<String> = USER_WORDS
                .iter()
                .map(|(alias, value)| format!("{alias} = {value}"))
                .collect();
            Err(Error::Usage(format!(
                "gate: --decision {word:?} is not a decision; use one of {} (also {})",
                values.join(", "),
                words.join(", ")
            )))
        }
    }
}

/// How many records `gate audit show` prints without `--limit` or `--all`.
const SHOWN_BY_DEFAULT: usize = 20;

/// The table goes to stdout (through the pager on a terminal); the note that
/// records were left out goes to stderr, so a pipe reads only the table.
fn show(args: &ShowArgs, home: &Home) -> Result<u8, Error> {
    let log = open_existing(home)?;
    let mut filter = filter(&args.filter)?;
    if !args.all {
        filter.limit = Some(filter.limit.unwrap_or(SHOWN_BY_DEFAULT));
    }
    let found = log.newest(&filter).map_err(audit_error)?;
    let screen = terminal::size();
    let width = if args.wide {
        None
    } else {
        terminal::columns().or(screen.map(|s| s.columns))
    };
    let mut table = Vec::new();
    audit::show(&found.records, &mut table, super::stdout_color(), width).map_err(output_error)?;
    let lines = table.iter().filter(|&&b| b == b'\n').count();
    let longer_than_the_screen = screen.is_some_and(|s| s.rows > 0 && lines >= s.rows);
    let paged = longer_than_the_screen && !args.no_pager && pager::page(&table);
    if !paged {
        let mut out = std::io::stdout().lock();
        out.write_all(&table).map_err(output_error)?;
        out.flush().map_err(output_error)?;
    }
    if found.matched > found.records.len() {
        eprintln!(
            "{} of {} records shown, newest first; --all or --limit N for more",
            found.records.len(),
            found.matched
        );
    }
    Ok(exit::OK)
}

/// The terminal stdout writes to.
mod terminal {
    use std::io::IsTerminal;

    #[derive(Debug, Clone, Copy)]
    pub(super) struct Size {
        pub columns: usize,
        pub rows: usize,
    }

    /// Stdout's terminal size; `None` when stdout is no terminal.
    pub(super) fn size() -> Option<Size> {
        if !std::io::stdout().is_terminal() {
            return None;
        }
        let mut size = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which points
        // at a live, writable `winsize` for the whole call.
        let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
        (rc == 0 && size.ws_col > 0).then_some(Size {
            columns: usize::from(size.ws_col),
            rows: usize::from(size.ws_row),
        })
    }

    /// `$COLUMNS` when it is a width: it wins over the terminal's, and applies to a
    /// pipe too (someone who exports it asks for that width).
    pub(super) fn columns() -> Option<usize> {
        let columns = std::env::var("COLUMNS").ok()?.trim().parse().ok()?;
        (columns > 0).then_some(columns)
    }
}

/// Showing long output through `$PAGER` (default `less`, with `LESS=FRX` unless
/// `LESS` is set), as git does.
mod pager {
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Pipe `text` through the pager and wait for it; `false` when there is no
    /// pager to start (then the caller prints). The reader quitting early (`q` in
    /// less) is a normal end, not an error.
    pub(super) fn page(text: &[u8]) -> bool {
        let Some(mut command) = command() else {
            return false;
        };
        let Ok(mut pager) = command.stdin(Stdio::piped()).spawn() else {
            return false;
        };
        // The pager owns the terminal now: Ctrl-C and a closed pipe are its
        // business; gate only waits for it. Set after the spawn, which the pager
        // does not inherit.
        ignore(libc::SIGPIPE);
        ignore(libc::SIGINT);
        ignore(libc::SIGQUIT);
        if let Some(mut input) = pager.stdin.take() {
            // An error here is the pager gone (BrokenPipe): nothing more to show.
            let _ = input.write_all(text).and_then(|()| input.flush());
        }
        let _ = pager.wait();
        true
    }

    /// The pager to run: `$PAGER` split on blanks, through `sh -c` when it holds
    /// shell syntax; `None` when `$PAGER` is empty or `cat` (no pager wanted).
    fn command() -> Option<Command> {
        let pager = std::env::var("PAGER").unwrap_or_else(|_| "less".into());
        let pager = pager.trim();
        if pager.is_empty() || pager == "cat" {
            return None;
        }
        let mut command = if pager.contains(|c: char| "|&;<>()$`\\\"'*?[#~=%".contains(c)) {
            let mut sh = Command::new("sh");
            sh.args(["-c", pager]);
            sh
        } else {
            let mut words = pager.split_whitespace();
            let mut command = Command::new(words.next()?);
            command.args(words);
            command
        };
        if std::env::var_os("LESS").is_none() {
            command.env("LESS", "FRX");
        }
        Some(command)
    }

    fn ignore(signal: libc::c_int) {
        // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions;
        // gate has no handler for these signals that this could replace.
        unsafe {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
}

fn export(format: ExportFormat, args: &FilterArgs, home: &Home) -> Result<u8, Error> {
    let log = open_existing(home)?;
    let records = log.records(&filter(args)?).map_err(audit_error)?;
    let mut out = std::io::stdout().lock();
    match format {
        ExportFormat::Jsonl => audit::export_jsonl(&records, &mut out),
        ExportFormat::Csv => audit::export_csv(&records, &mut out),
    }
    .map_err(output_error)?;
    out.flush().map_err(output_error)?;
    Ok(exit::OK)
}

fn verify(
    key: Option<&std::path::Path>,
    path: &std::path::Path,
    expect: &audit::Expect,
    home: &Home,
) -> Result<u8, Error> {
    let public = match key {
        Some(path) => crate::keys::load_public_key(path).map_err(audit_error)?,
        None => crate::keys::load_signing_key(&home.key_file())
            .map_err(audit_error)?
            .verifying_key(),
    };
    let report = audit::verify_with(path, &public, expect).map_err(audit_error)?;
    if let Some(problem) = report.problem {
        return Err(Error::Verify(problem));
    }
    let records = report.records;
    println!(
        "ok: {records} records, every signature and link verified ({})",
        path.display()
    );
    if let Some((seq, hash)) = report.head {
        println!(
            "head: record {seq} {hash} (pass --head {hash} to a later verify to detect truncation)"
        );
    }
    Ok(exit::OK)
}

fn pubkey(home: &Home) -> Result<u8, Error> {
    let key = crate::keys::load_or_create(&home.key_file()).map_err(audit_error)?;
    print!("{}", crate::keys::public_key_pem(&key.verifying_key()));
    Ok(exit::OK)
}
