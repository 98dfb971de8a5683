//! `[dashboard]`: who sees what on the compliance dashboard (`/dashboard`).
//! Everyone in `[people]` is an approver and sees the requests they made or may
//! approve; `auditors` see every request read-only; `admins` see everything too.
//! Entries are people or `group:NAME`, checked like approvers, and groups are
//! resolved when a role is asked for, so a group edit in a published policy
//! applies at once. Seeing never grants a vote: the broker's vote rules decide.

use crate::policy::Person;
use crate::policy::read::{Reader, Value};
use std::collections::BTreeMap;

const DASHBOARD_KEYS: &[&str] = &["auditors", "admins"];

/// `[dashboard] auditors` and `admins`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardRoles {
    pub auditors: Vec<String>,
    pub admins: Vec<String>,
}

/// What a signed-in person may see on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Requests they made or may approve.
    Approver,
    /// Every request, read-only.
    Auditor,
    /// Every request.
    Admin,
}

impl Role {
    /// Whether this role sees every request, not only its own.
    pub fn sees_all(self) -> bool {
        self != Role::Approver
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl DashboardRoles {
    /// `person`'s role, with `groups` resolving `group:NAME` entries.
    pub fn role(&self, person: &str, groups: &BTreeMap<String, Vec<String>>) -> Role {
        let named = |entries: &[String]| {
            entries
                .iter()
                .any(|entry| match entry.strip_prefix("group:") {
                    Some(group) => groups
                        .get(group)
                        .is_some_and(|m| m.iter().any(|n| n == person)),
                    None => entry == person,
                })
        };
        if named(&self.admins) {
            Role::Admin
        } else if named(&self.auditors) {
            Role::Auditor
        } else {
            Role::Approver
        }
    }
}

/// `[dashboard]`, its entries checked against the known people and groups.
pub(super) fn read(
    reader: &mut Reader<'_>,
    value: &Value<'_>,
    people: &BTreeMap<String, Person>,
    groups: &BTreeMap<String, Vec<String>>,
) -> DashboardRoles {
    let Some(table) = reader.table(value, "dashboard") else {
        return DashboardRoles::default();
    };
    reader.reject_unknown_keys(table, DASHBOARD_KEYS, "[dashboard]");
    let mut entries = |key: &str| {
        let found = table
            .get(key)
            .and_then(|value| reader.strings(value, key))
            .unwrap_or_default();
        crate::policy::validate::check_approvers(reader, &found, people, groups);
        found.into_iter().map(|entry| entry.into_inner()).collect()
    };
    DashboardRoles {
        auditors: entries("auditors"),
        admins: entries("admins"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_and_unknown_names_point_at_the_spot() {
        let config = crate::server::config::parse(
            "version = 1\n[people.alice]\n[people.dora]\n[groups]\naudit = [\"dora\"]\n\
             [dashboard]\nauditors = [\"group:audit\"]\nadmins = [\"alice\"]\n",
            "b.toml",
        )
        .unwrap();
        assert_eq!(config.dashboard.auditors, ["group:audit"]);
        assert_eq!(config.dashboard.role("dora", &config.groups), Role::Auditor);
        assert_eq!(config.dashboard.role("alice", &config.groups), Role::Admin);

        let errors = crate::server::config::parse(
            "version = 1\n[people.alice]\n[dashboard]\nauditors = [\"alcie\", \"group:nope\"]\nviewers = []\n",
            "b.toml",
        )
        .unwrap_err();
        let text: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{} {}", e.line, e.column, e.message))
            .collect();
        assert_eq!(errors.len(), 3, "{text:?}");
        assert!(
            text[0].starts_with("4:") && text.iter().any(|t| t.contains("alcie")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("nope")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("viewers")), "{text:?}");
    }

    #[test]
    fn roles_resolve_people_and_groups_admin_first() {
        let roles = DashboardRoles {
            auditors: vec!["group:audit".into(), "carol".into()],
            admins: vec!["dave".into(), "group:audit-leads".into()],
        };
        let groups = BTreeMap::from([
            ("audit".to_string(), vec!["erin".to_string()]),
            (
                "audit-leads".to_string(),
                vec!["erin".to_string(), "frank".to_string()],
            ),
        ]);
        assert_eq!(roles.role("alice", &groups), Role::Approver);
        assert_eq!(roles.role("carol", &groups), Role::Auditor);
        assert_eq!(roles.role("dave", &groups), Role::Admin);
        assert_eq!(roles.role("erin", &groups), Role::Admin);
        assert_eq!(roles.role("frank", &groups), Role::Admin);
        assert!(Role::Auditor.sees_all() && !Role::Approver.sees_all());
    }
}
