//! The requests held in memory: every pending one, the most recently decided
//! ones, a watch per request for its long-polls, and the order in which pending
//! requests expire. Only `state` changes it, under its write lock.

use super::rules::Request;
use crate::approval::protocol::Status;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::watch;

/// How many decided requests stay in memory for quick reads and claims.
const RECENT_FINAL: usize = 2048;

#[derive(Debug, Default)]
pub struct Live {
    pub requests: HashMap<String, Entry>,
    recent_final: VecDeque<String>,
    pub expiries: BTreeSet<(SystemTime, String)>,
    /// The pending requests of each requester (`user`, `host`), by expiry: what
    /// `[limits] max_pending_per_requester` counts, without a scan.
    pub by_requester: HashMap<(String, String), BTreeSet<(SystemTime, String)>>,
}

#[derive(Debug)]
pub struct Entry {
    pub request: Arc<Request>,
    pub changed: watch::Sender<u64>,
}

impl Live {
    /// Show `request` (new or changed) and wake whoever waits on it.
    pub fn install(&mut self, request: Arc<Request>) {
        let id = request.view.id.clone();
        // Forget the previous copy's place, not this one's: a copy read from
        // the store holds the expiry to the second, the one admitted here to
        // the nanosecond.
        if let Some(previous) = self.requests.get(&id).map(|e| e.request.clone()) {
            self.unschedule(&previous);
        }
        if request.view.status == Status::Pending {
            let key = (request.expires, id.clone());
            self.expiries.insert(key.clone());
            self.by_requester
                .entry(requester(&request))
                .or_default()
                .insert(key);
        }
        let version = request.view.version;
        let was_final = match self.requests.get_mut(&id) {
            Some(entry) => {
                let was_final = entry.request.view.status.is_final();
                entry.request = request.clone();
                entry.changed.send_replace(version);
                was_final
            }
            None => {
                let changed = watch::Sender::new(version);
                let entry = Entry {
                    request: request.clone(),
                    changed,
                };
                self.requests.insert(id.clone(), entry);
                false
            }
        };
        if request.view.status.is_final() && !was_final {
            self.recent_final.push_back(id);
            while self.recent_final.len() > RECENT_FINAL {
                if let Some(old) = self.recent_final.pop_front() {
                    self.requests.remove(&old);
                }
            }
        }
    }

    /// Take `request` out of the expiry order and its requester's count.
    fn unschedule(&mut self, request: &Request) {
        let key = (request.expires, request.view.id.clone());
        self.expiries.remove(&key);
        let who = requester(request);
        if let Some(theirs) = self.by_requester.get_mut(&who) {
            theirs.remove(&key);
            if theirs.is_empty() {
                self.by_requester.remove(&who);
            }
        }
    }

    pub fn forget_expiry(&mut self, id: &str) {
        self.expiries.retain(|(_, other)| other != id);
    }
}

/// Whose count a request is in: its requester's user and host.
fn requester(request: &Request) -> (String, String) {
    (
        request.view.requester.user.clone(),
        request.view.requester.host.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(id: &str, status: &str, version: u64, expires_in: u64) -> Arc<Request> {
        let view = serde_json::from_value(serde_json::json!({
            "id": id, "status": status, "version": version,
            "requester": { "user": "u", "host": "h", "ci": null, "agent": null },
            "argv": ["true"], "cwd": "/", "action_digest": "ab", "rules": [],
            "rule_reason": "", "reason": null, "approvers": [], "quorum": 1,
            "break_glass": false, "created_at": "", "expires_at": "", "votes": [],
            "decision": null, "claimed": false, "url": ""
        }))
        .unwrap();
        Arc::new(Request {
            view,
            token_hash: [0; 32],
            requester_people: Default::default(),
            expires: SystemTime::UNIX_EPOCH + Duration::from_secs(expires_in),
        })
    }

    #[test]
    fn pending_requests_are_ordered_by_expiry_until_final() {
        let mut live = Live::default();
        live.install(request("b", "pending", 1, 20));
        live.install(request("a", "pending", 2, 10));
        assert_eq!(live.expiries.first().unwrap().1, "a");
        live.install(request("a", "approved", 3, 10));
        assert_eq!(live.expiries.first().unwrap().1, "b");
        assert_eq!(live.expiries.len(), 1);
    }

    #[test]
    fn pending_requests_are_counted_per_requester_until_final() {
        let mut live = Live::default();
        live.install(request("a", "pending", 1, 10));
        live.install(request("b", "pending", 2, 20));
        let key = ("u".to_string(), "h".to_string());
        assert_eq!(live.by_requester[&key].len(), 2);
        assert_eq!(live.by_requester[&key].first().unwrap().1, "a");
        live.install(request("a", "approved", 3, 10));
        assert_eq!(live.by_requester[&key].len(), 1);
        live.install(request("b", "timed_out", 4, 20));
        assert!(live.by_requester.is_empty(), "{:?}", live.by_requester);
    }

    #[test]
    fn a_copy_with_its_expiry_held_otherwise_replaces_the_one_before() {
        // Admitted here (to the nanosecond), then read back from the store
        // (to the second): the decided copy frees the pending one's place.
        let mut live = Live::default();
        let mut admitted = (*request("a", "pending", 1, 10)).clone();
        admitted.expires += Duration::from_nanos(123_456_789);
        live.install(Arc::new(admitted));
        live.install(request("a", "pending", 2, 10));
        assert_eq!(live.expiries.len(), 1, "{:?}", live.expiries);
        live.install(request("a", "denied", 3, 10));
        assert!(live.expiries.is_empty(), "{:?}", live.expiries);
        assert!(live.by_requester.is_empty(), "{:?}", live.by_requester);
    }

    #[test]
    fn a_change_wakes_the_requests_watchers() {
        let mut live = Live::default();
        live.install(request("a", "pending", 1, 10));
        let receiver = live.requests["a"].changed.subscribe();
        live.install(request("a", "denied", 5, 10));
        assert_eq!(*receiver.borrow(), 5);
    }

    #[test]
    fn only_the_most_recent_decided_requests_stay() {
        let mut live = Live::default();
        live.install(request("pending", "pending", 0, 10));
        for n in 0..RECENT_FINAL + 5 {
            live.install(request(&n.to_string(), "approved", n as u64 + 1, 10));
        }
        assert_eq!(live.requests.len(), RECENT_FINAL + 1);
        assert!(live.requests.contains_key("pending"));
        assert!(!live.requests.contains_key("0") && !live.requests.contains_key("4"));
        assert!(live.requests.contains_key("5"));
    }
}
