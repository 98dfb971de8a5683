//! The running broker's state: live requests in memory, how they change (rules,
//! then the store, then memory, then wake-ups), the watches long-polls wait on,
//! and the sweeper that times requests out.
//!
//! Pending requests and recently decided ones stay in memory, so a long-poll never
//! reads the store; older decided requests are read back from the store on demand.
//! Every change goes through [`Broker::change`], which stores it only if the
//! stored request is still the one the change was made from: the first final
//! decision wins and versions never go backwards, whether the change raced
//! another on this broker or on another replica sharing a PostgreSQL store. The
//! loser reads the request again and applies its rule to what is there now.
//! Only new requests are admitted one at a time (the write lock), so two cannot
//! both take the last place under `[limits]`.
//!
//! Replicas learn of each other's changes from the store's notifications
//! ([`Broker::follow`]): the request is read again and shown in memory, which wakes
//! the long-polls waiting on it here.

use super::config::{BrokerConfig, OrgPolicy};
use super::enrollment::Enrollments;
use super::events;
use super::live::Live;
use super::oidc::{self, Verifier};
use super::rules::{self, Refusal, Request};
use super::store::notes::NoteKey;
use super::store::{Put, SaveError, Store};
use super::token;
use crate::approval::protocol::ErrorCode;
use crate::approval::protocol::{Choice, DecideBody, NewRequest, RequestView, Status, VerifiedCi};
use ed25519_dalek::SigningKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, OwnedMutexGuard, broadcast, watch};

/// How many changes a slow channel may fall behind before it misses some.
const CHANGE_BACKLOG: usize = 4096;

/// How often a change may lose the race to another replica before it gives up.
const CHANGE_ATTEMPTS: usize = 8;

/// How often a replica compares memory with the store besides notifications.
const RESYNC: Duration = Duration::from_secs(5);

/// One stored change, as channels (Slack, Teams) see it: the request before
/// (`None` for a new request) and after.
#[derive(Debug, Clone)]
pub struct Change {
    pub before: Option<Arc<Request>>,
    pub after: Arc<Request>,
}

#[derive(Debug)]
pub struct Broker {
    pub config: BrokerConfig,
    pub key: SigningKey,
    pub public_url: String,
    /// Enrolled installations; read on every requester call, so a revocation
    /// holds at once.
    pub enrollments: Enrollments,
    /// Every installation's forwarded audit records and chain head.
    pub ledger: super::ledger::Ledger,
    /// The counters `GET /metrics` shows.
    pub metrics: super::metrics::Metrics,
    store: Store,
    live: Mutex<Live>,
    /// Held while a new request is admitted and stored.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// The newest broker version seen here; every change seen notifies it, even
    /// one from another replica stored under a lower version.
    version: watch::Sender<u64>,
    sweep: Notify,
    shutdown: watch::Receiver<bool>,
    /// Every stored change, for the approval channels.
    changes: broadcast::Sender<Change>,
    /// The trusted OIDC issuers (`[[oidc]]`) and their cached keys.
    pub oidc: Verifier,
    /// The organisation policy new requests are decided under: the config's,
    /// until a published version is approved.
    in_force: Mutex<InForce>,
}

/// The organisation policy in force and since when (RFC 3339).
#[derive(Debug, Clone)]
pub struct InForce {
    pub org: Arc<OrgPolicy>,
    pub since: String,
    /// The broker's config beside it: its people and groups merged with the
    /// policy's ([`BrokerConfig::with_policy`]).
    pub config: Arc<BrokerConfig>,
}

impl Broker {
    /// Load pending requests from `store` and start serving them.
    pub async fn new(
        config: BrokerConfig,
        key: SigningKey,
        public_url: String,
        mut store: Store,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Broker, String> {
        if let Store::Postgres(pg) = &mut store {
            pg.seal_notes(NoteKey::derive(&key));
        }
        let version = store.version().await.map_err(|e| e.to_string())?;
        let pending = store
            .pending(&public_url)
            .await
            .map_err(|e| e.to_string())?;
        let oidc = Verifier::new(&config.oidc, &public_url)?;
        let in_force = match store.active_policy().await.map_err(|e| e.to_string())? {
            Some(active) => in_force(&config, active)?,
            None => InForce {
                org: Arc::new(config.policy.clone()),
                since: rules::rfc3339(SystemTime::now()),
                config: Arc::new(config.clone()),
            },
        };
        let mut live = Live::default();
        for request in pending {
            live.install(Arc::new(request));
        }
        let enrollments = Enrollments::open(&store)?;
        let ledger = super::ledger::Ledger::open(
            &store,
            config.installation_keys.clone(),
            key.verifying_key(),
        )?;
        Ok(Broker {
            config,
            key,
            public_url,
            enrollments,
            ledger,
            metrics: super::metrics::Metrics::default(),
            store,
            live: Mutex::new(live),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            version: watch::Sender::new(version),
            sweep: Notify::new(),
            shutdown,
            changes: broadcast::Sender::new(CHANGE_BACKLOG),
            oidc,
            in_force: Mutex::new(in_force),
        })
    }

    /// The broker's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every change from now on, after it is stored: what approval channels
    /// (Slack, Teams) post and update messages from.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// A vote by `person`, authenticated by `channel` (a verified Slack click, a
    /// signed-in web session, ...), under exactly the rules of the API.
    pub async fn vote(
        self: &Arc<Self>,
        id: &str,
        person: &str,
        verdict: Choice,
        reason: Option<String>,
        channel: &str,
    ) -> Result<Arc<Request>, Refusal> {
        let body = DecideBody {
            verdict,
            reason,
            channel: Some(channel.to_string()),
        };
        let config = self.policy_in_force().config;
        let (config, key) = (&*config, &self.key);
        let voted = self
            .change(id, |request| {
                rules::vote(request, person, &body, SystemTime::now(), config, key)
            })
            .await;
        if let Err(refusal) = &voted {
            events::refused_vote(id, person, channel, refusal);
        }
        voted
    }

    /// The broker-wide change counter.
    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }

    /// Admit a new request; its requester token (shown once) and the request.
    pub async fn create(
        self: &Arc<Self>,
        new: NewRequest,
    ) -> Result<(String, Arc<Request>), Refusal> {
        self.create_as(new, false).await
    }

    /// [`Broker::create`]; `ci_job`: an unsigned request on a broker that
    /// requires enrollment, admitted only when its CI ID token verifies.
    pub async fn create_as(
        self: &Arc<Self>,
        new: NewRequest,
        ci_job: bool,
    ) -> Result<(String, Arc<Request>), Refusal> {
        let asked = events::Asked::of(&new);
        // Before the write lock: verifying may fetch the issuer's keys.
        let (new, ci_identity) = self
            .verify_identity(new)
            .await
            .inspect_err(|refusal| events::refused_request(&asked, refusal))?;
        if ci_job && ci_identity.is_none() {
            let refusal = Refusal::new(
                401,
                crate::approval::protocol::ErrorCode::NotEnrolled,
                format!(
                    "this broker only accepts requests signed by an enrolled installation, or \
                     from a CI job whose ID token it verifies; {}",
                    super::enrollment::HOW_TO_ENROLL
                ),
            );
            events::refused_request(&asked, &refusal);
            return Err(refusal);
        }
        let id = token::request_id().map_err(internal)?;
        let secret = token::new_token().map_err(internal)?;
        let InForce {
            org: policy,
            config,
            ..
        } = self.policy_in_force();
        let admission = rules::Admission {
            url: format!("{}/r/{id}", self.public_url),
            id,
            token_hash: token::hash(&secret),
            now: SystemTime::now(),
            key: &self.key,
            policy: &policy,
            ci_identity,
        };
        let writer = self.writer.clone().lock_owned().await;
        let request = self
            .within_limits(&new)
            .and_then(|()| rules::admit(new, &config, admission))
            .inspect_err(|refusal| events::refused_request(&asked, refusal))?;
        // A new id cannot conflict.
        let request = self
            .publish(Some(writer), None, request)
            .await?
            .ok_or_else(|| internal("a new request's id was already stored"))?;
        Ok((secret, request))
    }

    /// A request without an ID token as it is (its CI fields stay a claim); with
    /// one, the request with its CI job replaced by the token's verified claims,
    /// or the refusal naming what failed. The token itself goes no further.
    async fn verify_identity(
        &self,
        mut new: NewRequest,
    ) -> Result<(NewRequest, Option<VerifiedCi>), Refusal> {
        let Some(token) = new.id_token.take() else {
            return Ok((new, None));
        };
        let verified = self.oidc.verify(&token).await?;
        oidc::apply(&mut new.requester, &verified);
        Ok((new, Some(verified.identity)))
    }

    /// Refuse a new request (429, with when to retry) while the broker holds as
    /// many pending requests as `[limits]` allows, in all or from this requester.
    /// Called under the write lock, so two creates cannot both take the last place.
    fn within_limits(&self, new: &NewRequest) -> Result<(), Refusal> {
        let limits = &self.config.limits;
        let live = self.live.lock().expect("live lock");
        let now = SystemTime::now();
        let retry = |expiry: Option<SystemTime>| {
            let wait = expiry.map_or(Duration::from_secs(60), |at| {
                at.duration_since(now).unwrap_or_default()
            });
            wait.clamp(Duration::from_secs(1), Duration::from_secs(3600))
        };
        if live.expiries.len() >= limits.max_pending as usize {
            let mut refusal = Refusal::new(
                429,
                ErrorCode::TooManyRequests,
                format!(
                    "the broker holds {} pending requests, its limit ([limits] max_pending); retry later",
                    live.expiries.len()
                ),
            );
            refusal.retry_after = Some(retry(live.expiries.first().map(|(at, _)| *at)));
            return Err(refusal);
        }
        let who = &new.requester;
        let mine = live.by_requester.get(&(who.user.clone(), who.host.clone()));
        let count = mine.map_or(0, |theirs| theirs.len());
        if count >= limits.max_pending_per_requester as usize {
            let mut refusal = Refusal::new(
                429,
                ErrorCode::TooManyRequests,
                format!(
                    "{}@{} has {} pending requests, the limit for one requester \
                     ([limits] max_pending_per_requester); wait for them to be decided",
                    who.user, who.host, count
                ),
            );
            refusal.retry_after = Some(retry(
                mine.and_then(|theirs| theirs.first()).map(|(at, _)| *at),
            ));
            return Err(refusal);
        }
        Ok(())
    }

    /// Apply `rule` to the current state of request `id` and publish the result.
    /// When another replica changed the request first, `rule` is applied again to
    /// what it stored.
    pub async fn change(
        self: &Arc<Self>,
        id: &str,
        rule: impl Fn(&Request) -> Result<Request, Refusal>,
    ) -> Result<Arc<Request>, Refusal> {
        for attempt in 0..CHANGE_ATTEMPTS {
            let current = match attempt {
                0 => self.get(id).await?,
                _ => self.refresh(id).await?,
            }
            .ok_or_else(not_found)?;
            let next = rule(&current)?;
            if let Some(stored) = self.publish(None, Some(current), next).await? {
                return Ok(stored);
            }
        }
        Err(internal(format!(
            "request {id} kept changing under this change ({CHANGE_ATTEMPTS} attempts)"
        )))
    }

    /// Store (if the stored request is still `before`), then show in memory, then
    /// wake waiters: nobody sees a change that a crash could undo. `None`: the
    /// stored request had moved on. Runs as its own task (holding `writer`, the
    /// write lock, for a new request), so a client that hangs up mid-change
    /// cannot leave memory behind the store.
    async fn publish(
        self: &Arc<Self>,
        writer: Option<OwnedMutexGuard<()>>,
        before: Option<Arc<Request>>,
        request: Request,
    ) -> Result<Option<Arc<Request>>, Refusal> {
        let broker = self.clone();
        let task = tokio::spawn(async move {
            let started = std::time::Instant::now();
            let previous = before.as_ref().map(|b| b.view.version);
            let mut request = Arc::new(request);
            match broker.store.save(&request, previous).await {
                // The store's copy is gone by now: no clone is made.
                Ok(version) => Arc::make_mut(&mut request).view.version = version,
                Err(SaveError::Conflict) => return Ok(None),
                Err(SaveError::Failed(err)) => return Err(internal(err)),
            }
            broker
                .metrics
                .changed(before.as_deref(), &request, started.elapsed());
            let settles = rules::is_publication(&request)
                && request.view.status.is_final()
                && before.as_ref().is_none_or(|b| !b.view.status.is_final());
            if settles {
                broker.settle_publication(&request).await;
            }
            broker.show(request.clone());
            drop(writer);
            match &before {
                Some(before) => events::changed(before, &request),
                None => events::created(&request),
            }
            // No channel listening is fine: the change is stored either way.
            let _ = broker.changes.send(Change {
                before,
                after: request.clone(),
            });
            Ok(Some(request))
        });
        task.await.map_err(internal)?
    }

    /// Show a stored `request` in memory unless memory already holds it at that
    /// version or later, and wake whoever waits on it or on the broker.
    fn show(&self, request: Arc<Request>) {
        let mut live = self.live.lock().expect("live lock");
        let known = live
            .requests
            .get(&request.view.id)
            .map(|e| e.request.view.version);
        if known.is_some_and(|known| known >= request.view.version) {
            return;
        }
        let new_pending = known.is_none() && request.view.status == Status::Pending;
        let version = request.view.version;
        live.install(request);
        drop(live);
        self.version
            .send_modify(|newest| *newest = (*newest).max(version));
        if new_pending {
            self.sweep.notify_one();
        }
    }

    /// Read request `id` from the store and show it: what another replica
    /// stored. Its policy comes into force here too when it settles a
    /// publication.
    async fn refresh(&self, id: &str) -> Result<Option<Arc<Request>>, Refusal> {
        let Some(stored) = self
            .store
            .get(id, &self.public_url)
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        let stored = Arc::new(stored);
        self.absorb(stored.clone()).await;
        Ok(Some(stored))
    }

    /// Show `stored`, a request as the store holds it: another replica's
    /// change. Its policy comes into force here too when it settles a
    /// publication.
    async fn absorb(&self, stored: Arc<Request>) {
        let id = stored.view.id.as_str();
        let was_final = self
            .live
            .lock()
            .expect("live lock")
            .requests
            .get(id)
            .is_some_and(|e| e.request.view.status.is_final());
        if rules::is_publication(&stored) && stored.view.status.is_final() && !was_final {
            // The replica that decided records the decision after storing the
            // request, so it may not be recorded yet: record it here if not.
            self.settle_publication(&stored).await;
        }
        self.show(stored);
    }

    /// Take the policy in force from the store (another replica settled a
    /// publication).
    async fn reload_policy(&self) {
        let active = match self.store.active_policy().await {
            Ok(Some(active)) => active,
            Ok(None) => return,
            Err(err) => {
                crate::serve_log!("gate serve: could not read the policy in force: {err}");
                return;
            }
        };
        match in_force(&self.config, active) {
            Ok(now) => *self.in_force.lock().expect("policy lock") = now,
            Err(message) => {
                crate::serve_log!("gate serve: {message}; the policy in force is unchanged")
            }
        }
    }

    /// Follow the other replicas' changes (PostgreSQL store only; returns at
    /// once otherwise) until shutdown: each notified id is read again; after
    /// every (re)connection, and every [`RESYNC`] besides, memory is compared with
    /// the store, since notifications sent while disconnected are lost.
    pub async fn follow(self: Arc<Self>) {
        let Store::Postgres(pg) = &self.store else {
            return;
        };
        let mut shutdown = self.shutdown.clone();
        let mut backoff = Duration::from_millis(100);
        let mut down_since: Option<std::time::Instant> = None;
        loop {
            let listening = tokio::select! {
                listening = pg.listen() => listening,
                _ = stopped(&mut shutdown) => return,
            };
            let (client, mut ids) = match listening {
                Ok(listening) => listening,
                Err(err) => {
                    if down_since.is_none() {
                        crate::serve_log!(
                            "gate serve: cannot follow the other replicas' changes: {err}; retrying"
                        );
                        down_since = Some(std::time::Instant::now());
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stopped(&mut shutdown) => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            if let Some(since) = down_since.take() {
                crate::serve_log!(
                    "gate serve: following the other replicas' changes again (after {} s)",
                    since.elapsed().as_secs()
                );
            }
            backoff = Duration::from_millis(100);
            let mut resync = tokio::time::interval(RESYNC);
            loop {
                tokio::select! {
                    note = ids.recv() => match note {
                        Some(note) => self.notified(pg, &note).await,
                        None => break,
                    },
                    _ = resync.tick() => self.resync(pg).await,
                    _ = stopped(&mut shutdown) => return,
                }
            }
            drop(client);
            crate::serve_log!("gate serve: lost the store's notifications; reconnecting");
            down_since = Some(std::time::Instant::now());
        }
    }

    /// Another replica's change, as notification `note` tells it (see
    /// [`super::store::notes`]): nothing when memory holds that version
    /// already (a change this replica made, or a repeat); else the row it
    /// carries when its seal opens and it changes the version memory holds;
    /// else the row read again.
    pub(super) async fn notified(&self, pg: &super::store::postgres::PgStore, note: &str) {
        let Some(note) = pg.read_note(note, &self.public_url) else {
            return;
        };
        let known = self
            .live
            .lock()
            .expect("live lock")
            .requests
            .get(&note.id)
            .map(|e| e.request.view.version);
        if known.is_some_and(|known| known >= note.version) {
            return;
        }
        match note.carried {
            Some(carried) if carried.previous == known.unwrap_or(0) => {
                self.absorb(Arc::new(carried.request)).await
            }
            _ => {
                let _ = self.refresh(&note.id).await;
            }
        }
    }

    /// Read again every request whose stored version is newer than memory's:
    /// every pending one in the store, and every one memory holds as pending.
    pub(super) async fn resync(&self, pg: &super::store::postgres::PgStore) {
        let held: HashMap<String, u64> = {
            let live = self.live.lock().expect("live lock");
            live.requests
                .values()
                .filter(|e| e.request.view.status == Status::Pending)
                .map(|e| (e.request.view.id.clone(), e.request.view.version))
                .collect()
        };
        let ids: Vec<String> = held.keys().cloned().collect();
        let Ok(stored) = pg.versions(&ids).await else {
            return;
        };
        for (id, version) in stored {
            let known = held.get(&id).copied();
            match known {
                Some(known) if known > version => self.replace(&id, known).await,
                known if known.is_none_or(|known| known < version) => {
                    let _ = self.refresh(&id).await;
                }
                _ => {}
            }
        }
    }

    /// Memory holds request `id` at version `held`, which the store is behind
    /// (only a notification replayed under a false version could do that):
    /// take the stored row instead, if the store is still behind.
    async fn replace(&self, id: &str, held: u64) {
        let Ok(Some(stored)) = self.store.get(id, &self.public_url).await else {
            return;
        };
        if stored.view.version >= held {
            return;
        }
        crate::serve_log!(
            "gate serve: request {id} was held at version {held}, which the store never gave it; \
             taking the stored version {}",
            stored.view.version
        );
        let mut live = self.live.lock().expect("live lock");
        if live
            .requests
            .get(id)
            .is_some_and(|e| e.request.view.version == held)
        {
            live.install(Arc::new(stored));
        }
    }

    /// The organisation policy new requests are decided under.
    pub fn policy_in_force(&self) -> InForce {
        self.in_force.lock().expect("policy lock").clone()
    }

    /// Publish a new version of the organisation policy: a request for
    /// `[policy] admins` to approve; it comes into force when approved.
    pub async fn publish_policy(
        self: &Arc<Self>,
        publisher: &str,
        new: OrgPolicy,
        reason: Option<String>,
    ) -> Result<Arc<Request>, Refusal> {
        let id = token::request_id().map_err(internal)?;
        let secret = token::new_token().map_err(internal)?;
        let InForce {
            org: current,
            config,
            ..
        } = self.policy_in_force();
        // The new version must agree with broker.toml's people and groups.
        if let Err(problems) = self.config.with_policy(&new) {
            return Err(Refusal::field("text", problems.join("; ")));
        }
        let now = SystemTime::now();
        let writer = self.writer.clone().lock_owned().await;
        let publication = rules::Publication {
            url: format!("{}/r/{id}", self.public_url),
            id,
            token_hash: token::hash(&secret),
            now,
            publisher: publisher.to_string(),
            new: &new,
            current: &current,
            reason,
        };
        let request = rules::admit_publication(&config, publication)?;
        self.store
            .add_policy(
                &new.version,
                &new.text,
                publisher,
                &rules::rfc3339(now),
                &request.view.id,
            )
            .await
            .map_err(internal)?;
        self.publish(Some(writer), None, request)
            .await?
            .ok_or_else(|| internal("a new request's id was already stored"))
    }

    /// Every published version, newest first.
    pub async fn policy_history(&self) -> Result<Vec<super::store::PolicyVersion>, Refusal> {
        self.store.policies().await.map_err(internal)
    }

    /// A publication reached its final decision: the version comes into force or
    /// is refused. The request is already stored; a store failure here leaves
    /// the version pending and the policy in force unchanged.
    async fn settle_publication(&self, request: &Request) {
        let approved = request.view.status == Status::Approved;
        let by: Vec<String> = request
            .view
            .votes
            .iter()
            .filter(|vote| vote.verdict == Choice::Approve)
            .map(|vote| vote.person.clone())
            .collect();
        let at = rules::rfc3339(SystemTime::now());
        let settled = self
            .store
            .settle_policy(&request.view.id, approved, &by, &at)
            .await;
        let version = match settled {
            Ok(Some(version)) => version,
            // Settled already (by another replica, or by this one hearing of
            // the decision): take what was recorded.
            Ok(None) => return self.reload_policy().await,
            Err(err) => {
                crate::serve_log!(
                    "gate serve: could not record the decision on policy publication {}: {err}",
                    request.view.id
                );
                return;
            }
        };
        events::policy_settled(&version.view.version, approved, &by);
        if !approved {
            return;
        }
        match in_force(&self.config, version) {
            Ok(now) => *self.in_force.lock().expect("policy lock") = now,
            Err(message) => {
                crate::serve_log!("gate serve: {message}; the policy in force is unchanged")
            }
        }
    }

    /// A request by id: from memory, else from the store, and then held in
    /// memory (a request another replica made that this one has not heard of
    /// yet can be waited on at once).
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Request>>, Refusal> {
        if let Some(entry) = self.live.lock().expect("live lock").requests.get(id) {
            return Ok(Some(entry.request.clone()));
        }
        self.refresh(id).await
    }

    /// Wait up to `wait` for request `id` to pass version `since`; then its view.
    pub async fn wait_request(
        &self,
        request: Arc<Request>,
        since: u64,
        wait: Duration,
    ) -> Arc<Request> {
        let id = request.view.id.clone();
        if request.view.version > since {
            return request;
        }
        let receiver = {
            let live = self.live.lock().expect("live lock");
            live.requests
                .get(&id)
                .map(|entry| entry.changed.subscribe())
        };
        let Some(mut receiver) = receiver else {
            return request;
        };
        let _waiting = self.metrics.long_poll();
        self.until(receiver.wait_for(|version| *version > since), wait)
            .await;
        let live = self.live.lock().expect("live lock");
        live.requests
            .get(&id)
            .map_or(request, |entry| entry.request.clone())
    }

    /// The pending requests `person` may decide, after waiting up to `wait` for the
    /// broker version to pass `since`.
    pub async fn wait_pending(
        &self,
        person: &str,
        since: Option<u64>,
        wait: Duration,
    ) -> (u64, Vec<RequestView>) {
        if let Some(since) = since {
            let _waiting = self.metrics.long_poll();
            let mut receiver = self.version.subscribe();
            // Nothing newer than what the caller saw: wait for the next change
            // seen here, whatever its version (a replica's change may be stored
            // under a lower one than a change seen before it).
            if *receiver.borrow_and_update() <= since {
                self.until(receiver.changed(), wait).await;
            }
        }
        let version = self.version();
        let live = self.live.lock().expect("live lock");
        let mut requests: Vec<RequestView> = live
            .requests
            .values()
            .map(|entry| &entry.request.view)
            .filter(|view| view.status == Status::Pending)
            .filter(|view| view.approvers.iter().any(|name| name == person))
            .cloned()
            .collect();
        requests.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        (version, requests)
    }

    /// How many requests wait for a decision now.
    pub fn pending_count(&self) -> usize {
        let live = self.live.lock().expect("live lock");
        live.requests
            .values()
            .filter(|entry| entry.request.view.status == Status::Pending)
            .count()
    }

    /// Whether the store answers: what readiness means.
    pub async fn store_ready(&self) -> Result<(), String> {
        match tokio::time::timeout(Duration::from_secs(2), self.store.version()).await {
            Ok(result) => result.map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err("the store did not answer within 2 s".into()),
        }
    }

    /// The pending requests `person` may still vote on at `now` under the vote's
    /// own rules (a listed approver, not the requester, no vote yet), oldest first.
    pub fn open_to(&self, person: &str, now: SystemTime) -> Vec<Arc<Request>> {
        let live = self.live.lock().expect("live lock");
        let mut requests: Vec<Arc<Request>> = live
            .requests
            .values()
            .map(|entry| entry.request.clone())
            .filter(|request| rules::may_vote(request, person, now).is_ok())
            .collect();
        requests.sort_by(|a, b| {
            (&a.view.created_at, &a.view.id).cmp(&(&b.view.created_at, &b.view.id))
        });
        requests
    }

    /// Run `change` until it completes, `wait` passes or the broker shuts down.
    async fn until<F: std::future::Future>(&self, change: F, wait: Duration) {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = change => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }

    /// The person an approver token belongs to, if it is valid and they are still
    /// in the config.
    pub async fn approver(&self, secret: &str) -> Result<Option<String>, Refusal> {
        // Read from the store every time, so a token revoked by another process
        // (`gate serve token revoke`) stops working at once.
        let hex = hex::encode(token::hash(secret));
        let now = rules::rfc3339(SystemTime::now());
        let found = self
            .store
            .token_person(&hex, &now)
            .await
            .map_err(internal)?;
        let config = self.policy_in_force().config;
        Ok(found.filter(|name| config.people.contains_key(name)))
    }

    /// Store where approval `channel` posted request `id` (its message address),
    /// so the channel can still update it after a restart.
    pub async fn remember_message(
        &self,
        id: &str,
        channel: &str,
        address: &str,
    ) -> Result<(), String> {
        self.store
            .put_message(id, channel, address, Put::Replace)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Take the one-time task `channel` for request `id` (see
    /// [`Put::IfAbsent`]): whether this replica took it.
    pub async fn claim_message(
        &self,
        id: &str,
        channel: &str,
        address: &str,
    ) -> Result<bool, String> {
        self.store
            .put_message(id, channel, address, Put::IfAbsent)
            .await
            .map_err(|e| e.to_string())
    }

    /// Request `id` as the store holds it now, which may be newer than memory
    /// when another replica changed it; memory is brought up to it.
    pub async fn stored(&self, id: &str) -> Result<Option<Arc<Request>>, Refusal> {
        self.refresh(id).await
    }

    /// Where approval `channel` posted request `id`, if it did.
    pub async fn message(&self, id: &str, channel: &str) -> Result<Option<String>, String> {
        self.store
            .message(id, channel)
            .await
            .map_err(|e| e.to_string())
    }

    /// Time out pending requests as their moments come; runs until shutdown.
    pub async fn sweep_expired(self: Arc<Self>) {
        let mut shutdown = self.shutdown.clone();
        loop {
            let next = self
                .live
                .lock()
                .expect("live lock")
                .expiries
                .first()
                .cloned();
            let sleep = match &next {
                Some((at, _)) => at.duration_since(SystemTime::now()).unwrap_or_default(),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.sweep.notified() => continue,
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            let Some((at, id)) = next else { continue };
            let now = SystemTime::now();
            if now < at {
                continue;
            }
            let expired = self
                .change(&id, |request| {
                    rules::expire(request, now).ok_or_else(not_found)
                })
                .await;
            if expired.is_err() {
                // Decided meanwhile, or a store error: stop tracking it here either way.
                self.live.lock().expect("live lock").forget_expiry(&id);
            }
        }
    }
}

/// The policy in force under `config` once version `active` is.
fn in_force(config: &BrokerConfig, active: super::store::PolicyVersion) -> Result<InForce, String> {
    let label = format!("published policy {}", &active.view.version[..12]);
    let org = OrgPolicy::parse(&active.text, &label).map_err(|errors| {
        format!(
            "the published policy in force does not parse with this gate: {}",
            errors.first().map(|e| e.to_string()).unwrap_or_default()
        )
    })?;
    let beside = config.with_policy(&org).map_err(|problems| {
        format!(
            "broker.toml does not agree with the published policy in force: {}",
            problems.join("; ")
        )
    })?;
    Ok(InForce {
        org: Arc::new(org),
        since: active.view.decided_at.unwrap_or(active.view.published_at),
        config: Arc::new(beside),
    })
}

/// Once the broker shuts down.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn not_found() -> Refusal {
    Refusal::new(404, ErrorCode::NotFound, "no request with this id")
}

fn internal(detail: impl std::fmt::Display) -> Refusal {
    crate::serve_log!("gate serve: error: {detail}");
    Refusal::new(
        500,
        ErrorCode::Internal,
        "the broker could not complete this; see its log",
    )
}
