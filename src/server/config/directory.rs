//! Who the people are, written once: the broker's people and groups are those of
//! the organisation policy in force together with broker.toml's own.
//!
//! broker.toml may add people, add identities to a person the policy names (a
//! Slack or Teams id the policy has no use for) and add groups. What both write
//! must agree: one identity kind of one person with two values, one identity
//! claimed by two people, or one group with two member lists is an error that
//! names both places, never a silent choice.

use crate::policy::Person;
use std::collections::{BTreeMap, BTreeSet};

/// People and groups as one place wrote them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub people: BTreeMap<String, Person>,
    pub groups: BTreeMap<String, Vec<String>>,
}

fn identities(person: &mut Person) -> [(&'static str, &mut Option<String>); 6] {
    [
        ("unix", &mut person.unix),
        ("slack", &mut person.slack),
        ("email", &mut person.email),
        ("teams", &mut person.teams),
        ("github", &mut person.github),
        ("oidc", &mut person.oidc),
    ]
}

/// The policy's people and groups with broker.toml's added; `policy` names the
/// policy in messages. Every disagreement, one line each, on failure. A person
/// without a `unix` identity afterwards is known by their name as login.
pub fn merge(policy: &Directory, own: &Directory, label: &str) -> Result<Directory, Vec<String>> {
    let mut merged = policy.clone();
    let mut problems = Vec::new();
    for (name, theirs) in &own.people {
        let person = merged.people.entry(name.clone()).or_default();
        let mut theirs = theirs.clone();
        for ((kind, slot), (_, value)) in
            identities(person).into_iter().zip(identities(&mut theirs))
        {
            match (slot.as_deref(), value.take()) {
                (_, None) => {}
                (None, Some(value)) => *slot = Some(value),
                (Some(mine), Some(value)) if mine == value => {}
                (Some(mine), Some(value)) => problems.push(format!(
                    "people.{name}.{kind} is \"{value}\" in broker.toml but \"{mine}\" in {label}; \
                     write it in one place"
                )),
            }
        }
    }
    for (group, members) in &own.groups {
        match merged.groups.get(group) {
            None => {
                merged.groups.insert(group.clone(), members.clone());
            }
            Some(theirs) => {
                let (a, b): (BTreeSet<_>, BTreeSet<_>) =
                    (members.iter().collect(), theirs.iter().collect());
                if a != b {
                    problems.push(format!(
                        "group \"{group}\" is [{}] in broker.toml but [{}] in {label}; \
                         define it in one place",
                        members.join(", "),
                        theirs.join(", ")
                    ));
                }
            }
        }
    }
    // A member of a group broker.toml added is a person known by login.
    for member in merged.groups.values().flatten() {
        if !member.contains(':') && !merged.people.contains_key(member) {
            merged.people.insert(member.clone(), Person::default());
        }
    }
    for (name, person) in &mut merged.people {
        person.unix.get_or_insert_with(|| name.clone());
    }
    // One identity, one person: across both files too.
    let mut owners: BTreeMap<(&str, String), &str> = BTreeMap::new();
    for (name, person) in &merged.people {
        let mut person = person.clone();
        for (kind, value) in identities(&mut person) {
            let Some(value) = value.take() else { continue };
            if let Some(other) = owners.insert((kind, value.clone()), name) {
                problems.push(format!(
                    "{kind} identity \"{value}\" belongs to both \"{other}\" and \"{name}\" \
                     (broker.toml and {label} together); each identity belongs to one person"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(merged)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(unix: Option<&str>, slack: Option<&str>) -> Person {
        Person {
            unix: unix.map(String::from),
            slack: slack.map(String::from),
            ..Person::default()
        }
    }

    fn directory(people: &[(&str, Person)], groups: &[(&str, &[&str])]) -> Directory {
        Directory {
            people: people
                .iter()
                .map(|(n, p)| (n.to_string(), p.clone()))
                .collect(),
            groups: groups
                .iter()
                .map(|(g, m)| (g.to_string(), m.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn the_broker_adds_identities_people_and_groups_to_the_policys() {
        let policy = directory(
            &[
                ("alice", person(Some("alice"), None)),
                ("bob", person(None, None)),
            ],
            &[("sre", &["alice", "bob"])],
        );
        let own = directory(
            &[
                ("alice", person(None, Some("U1"))),
                ("dave", person(None, None)),
            ],
            &[("sre", &["bob", "alice"]), ("oncall", &["erin"])],
        );
        let merged = merge(&policy, &own, "org-policy.toml").unwrap();
        assert_eq!(merged.people["alice"], person(Some("alice"), Some("U1")));
        assert_eq!(merged.people["bob"], person(Some("bob"), None));
        assert_eq!(merged.people["dave"], person(Some("dave"), None));
        assert_eq!(merged.people["erin"], person(Some("erin"), None));
        assert_eq!(merged.groups["sre"], ["alice", "bob"]);
        assert_eq!(merged.groups["oncall"], ["erin"]);
    }

    #[test]
    fn disagreements_are_errors_that_name_both_places() {
        let policy = directory(
            &[
                ("alice", person(Some("alice"), Some("U1"))),
                ("bob", person(None, None)),
            ],
            &[("sre", &["alice"])],
        );
        let own = directory(
            &[
                ("alice", person(None, Some("U2"))),
                ("mallory", person(Some("bob"), None)),
            ],
            &[("sre", &["alice", "mallory"])],
        );
        let problems = merge(&policy, &own, "org-policy.toml").unwrap_err();
        assert_eq!(
            problems,
            [
                "people.alice.slack is \"U2\" in broker.toml but \"U1\" in org-policy.toml; write it in one place",
                "group \"sre\" is [alice, mallory] in broker.toml but [alice] in org-policy.toml; define it in one place",
                "unix identity \"bob\" belongs to both \"bob\" and \"mallory\" (broker.toml and org-policy.toml together); each identity belongs to one person",
            ]
        );
    }
}
