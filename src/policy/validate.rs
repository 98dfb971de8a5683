//! Cross-reference checks on a policy being read: approvers and group members must
//! name known people or groups, and an approve setting must be satisfiable — its
//! distinct approvers must be able to reach its quorum.

use super::Person;
use super::approval::expand_approvers;
use super::read::{Reader, closest, did_you_mean};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;
use toml::de::DeTable;

/// The `approvers` and `quorum` of a section that sets defaults for every request
/// (`[approval]` in a policy, `[defaults]` in the broker config), checked: each
/// approver must be known and, when all are, the quorum reachable. A missing key
/// leaves the approvers empty ("any approver") and the quorum at `quorum`.
pub(crate) fn read_approvers_and_quorum(
    reader: &mut Reader<'_>,
    table: &DeTable<'_>,
    section: &str,
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
    quorum: u32,
) -> (Vec<String>, u32) {
    let entries = table
        .get("approvers")
        .and_then(|v| reader.strings(v, "approvers"));
    let known = entries
        .as_ref()
        .is_some_and(|entries| check_approvers(reader, entries, people, groups));
    let quorum = table
        .get("quorum")
        .and_then(|v| {
            let if_zero = format!(
                "{section} quorum is the number of approvals a request needs when its rule \
                 sets none: 1 or more"
            );
            reader.count(v, "quorum", &if_zero)
        })
        .unwrap_or(quorum);
    let approvers: Vec<String> = entries
        .unwrap_or_default()
        .into_iter()
        .map(Spanned::into_inner)
        .collect();
    if let Some(at) = table
        .get("quorum")
        .or(table.get("approvers"))
        .filter(|_| known)
    {
        check_quorum_reachable(reader, at.span(), section, &approvers, quorum, groups);
    }
    (approvers, quorum)
}

/// Check each approver entry (`NAME` or `group:NAME`). True when all are known, so
/// the quorum check is meaningful.
pub(crate) fn check_approvers(
    reader: &mut Reader<'_>,
    entries: &[Spanned<String>],
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
) -> bool {
    let mut all_known = true;
    for entry in entries {
        let known = match entry.get_ref().split_once(':') {
            Some(("group", group)) => {
                let known = groups.contains_key(group);
                if !known {
                    unknown_group(reader, entry, group, groups);
                }
                known
            }
            Some(_) => {
                let hint = "an approver is a person from [people] or group:NAME from [groups]";
                let message = format!("unknown approver \"{}\"", entry.get_ref());
                reader.error(entry.span(), message, Some(hint.to_string()));
                false
            }
            None => people.contains_key(entry.get_ref()) || !unknown_person(reader, entry, people),
        };
        all_known &= known;
    }
    all_known
}

/// A name that is not in `[people]` is a person known only by their login, unless
/// it is one letter or two away from someone who is: then it is most likely a typo,
/// reported as an error. Returns whether it was reported.
pub(crate) fn unknown_person(
    reader: &mut Reader<'_>,
    name: &Spanned<String>,
    people: &BTreeMap<String, Person>,
) -> bool {
    let Some(hint) = did_you_mean(name.get_ref(), people.keys().map(String::as_str)) else {
        return false;
    };
    let message = format!("unknown person \"{}\"", name.get_ref());
    reader.error(name.span(), message, Some(hint));
    true
}

fn unknown_group(
    reader: &mut Reader<'_>,
    entry: &Spanned<String>,
    group: &str,
    groups: &BTreeMap<String, Vec<String>>,
) {
    let hint = closest(group, groups.keys().map(String::as_str))
        .map(|name| format!("did you mean \"group:{name}\"?"))
        .unwrap_or_else(|| format!("add {group} = [\"person\", ...] under [groups]"));
    reader.error(
        entry.span(),
        format!("unknown group \"{group}\""),
        Some(hint),
    );
}

/// Report an approve setting whose listed approvers are fewer distinct people than
/// its quorum: such a request could never be approved. An empty list means "any
/// approver the broker knows" and is always reachable.
pub(crate) fn check_quorum_reachable(
    reader: &mut Reader<'_>,
    span: Range<usize>,
    owner: &str,
    approvers: &[String],
    quorum: u32,
    groups: &BTreeMap<String, Vec<String>>,
) {
    if approvers.is_empty() {
        return;
    }
    let people = expand_approvers(approvers, groups);
    if people.len() >= quorum as usize {
        return;
    }
    let listed: Vec<&str> = people.iter().map(String::as_str).collect();
    let message = format!(
        "{owner} needs {quorum} approvals but its approvers are only {} ({})",
        plural(people.len(), "person", "people"),
        if listed.is_empty() {
            "nobody".to_string()
        } else {
            listed.join(", ")
        },
    );
    let hint = "lower quorum or add approvers; a request here could never be approved";
    reader.error(span, message, Some(hint.to_string()));
}

/// Rule names must be unique: they are how verdicts, audit records and tests name rules.
pub(crate) fn check_unique_names(reader: &mut Reader<'_>, names: &[Spanned<String>]) {
    let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        let Some(&first) = first_seen.get(name.get_ref().as_str()) else {
            first_seen.insert(name.get_ref(), name.span().start);
            continue;
        };
        let line = reader.line_of(first);
        let message = format!("duplicate rule name \"{}\"", name.get_ref());
        let hint = format!(
            "a rule with this name is already defined on line {line}; rule names must be unique"
        );
        reader.error(name.span(), message, Some(hint));
    }
}

pub(crate) fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}
