//! `gate audit show | verify | export | pubkey`.

use crate::audit::{self, AuditError, AuditLog, Filter};
use crate::cli::{AuditCommand, ExportFormat, FilterArgs};
use crate::error::{Error, exit};
use crate::paths::Home;
use std::io::Write;

pub(super) fn audit(command: AuditCommand, home: &Home) -> Result<u8, Error> {
    match command {
        AuditCommand::Show(args) => show(&args.filter, home),
        AuditCommand::Verify {
            key,
            head,
            expect_count,
            db,
        } => {
            let expect = audit::Expect {
                head,
                min_records: expect_count,
            };
            let path = db.unwrap_or_else(|| home.log_file());
            verify(key.as_deref(), &path, &expect, home)
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
        Some(text) => Some(humantime::parse_rfc3339_weak(text).map_err(|e| {
            Error::Usage(format!(
                "gate: --since {text:?}: {e}; use RFC 3339, e.g. 2026-01-31T00:00:00Z"
            ))
        })?),
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

fn show(args: &FilterArgs, home: &Home) -> Result<u8, Error> {
    let log = open_existing(home)?;
    let records = log.records(&filter(args)?).map_err(audit_error)?;
    let mut out = std::io::stdout().lock();
    audit::show(&records, &mut out, super::stdout_color()).map_err(output_error)?;
    out.flush().map_err(output_error)?;
    Ok(exit::OK)
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
