//! `gate -- CMD` and `gate --ticket ID -- CMD`: the requester pipeline
//! (`crate::guard`) from this process's command line.

use crate::cli::RunArgs;
use crate::error::Error;
use crate::guard::{self, Invocation, Subject};
use crate::paths::Home;

pub(super) fn wrap(args: RunArgs, home: &Home) -> Result<u8, Error> {
    if args.command.is_empty() {
        return Err(Error::Usage(
            "gate: no command given; usage: gate [--policy FILE] [--reason TEXT] [--json] -- COMMAND [ARG...]\n\
             (see `gate --help`)"
                .to_string(),
        ));
    }
    let json = args.json;
    match decide_and_run(args, home) {
        Err(error) if json && error.stderr_text().is_some() => Err(shown_as_json(error)),
        result => result,
    }
}

fn decide_and_run(args: RunArgs, home: &Home) -> Result<u8, Error> {
    let subject = Subject::this_process(args.command)?;
    let explicit = args.policy.policy.as_deref();
    let (loaded, decided) = guard::decide(explicit, home, super::stderr_color(), subject)?;
    let invocation = Invocation {
        reason: args.reason,
        json: args.json,
        break_glass: args.break_glass,
        ticket: args.ticket,
    };
    // This process writes one command's records: SQLite gets its own small heap.
    crate::audit::use_one_command_heap();
    guard::wrap(&loaded, &decided, &invocation, home)
}

/// `--json` and gate failed before (or outside) a decision it could report with
/// its rules (a bad policy, an unusable audit log): still one JSON object on stdout.
fn shown_as_json(error: Error) -> Error {
    let value = serde_json::json!({
        "decision": null,
        "ran": false,
        "exit_code": error.exit_code(),
        "message": error.render(),
    });
    guard::shown_as_json(&value, error)
}
