//! The broker's HTTP API as types, shared by the broker (`crate::server`) and its
//! clients (the requester in `gate -- CMD`, and `gate approve/deny/pending/inbox`).
//! `docs/openapi.yaml` documents the same shapes; keep the two in step.
//!
//! Every body the broker accepts is decoded with `deny_unknown_fields`, so a typo
//! in a client is a 400 that names the field, never a silently ignored setting.

use super::decision::SignedDecision;
pub use super::decision::{Choice, VerifiedCi};
use crate::identity::Requester;
use serde::{Deserialize, Serialize};

/// Path prefix of every API route.
pub const API_PREFIX: &str = "/v1";

/// The channel of the requester's own vote on a break-glass request.
pub const BREAK_GLASS_CHANNEL: &str = "break-glass";

/// The longest long-poll a client may ask for (`?wait=SECONDS`).
pub const MAX_WAIT_SECONDS: u64 = 60;

/// `POST /v1/requests`: a requester asks for a decision on one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// Who asks (a claim by the requesting process, shown to approvers and used to
    /// refuse self-approval).
    pub requester: Requester,
    /// The command, secrets already redacted, one element per argument.
    pub argv: Vec<String>,
    /// The working directory the command will run in (absolute).
    pub cwd: String,
    /// The program as exec will run it (absolute).
    pub executable: String,
    /// Hex SHA-256 binding a decision to the exact argv, cwd and executable
    /// (`crate::action::ActionDigest`).
    pub action_digest: String,
    /// Names of the requester's policy rules that asked for approval. The broker
    /// adds its own; a request never needs less than the broker's policy says.
    pub rules: Vec<String>,
    /// The policy's reason for asking.
    pub rule_reason: String,
    /// Who may approve: person names or `group:NAME`, resolved by the broker's
    /// own `[people]` and `[groups]`. Empty: the broker's configured default.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Distinct approvals needed; 0 or absent: the broker's default.
    #[serde(default)]
    pub quorum: u32,
    /// Seconds until the request times out; 0 or absent: the broker's default.
    #[serde(default)]
    pub timeout_seconds: u64,
    /// The requester's justification (`gate --reason`).
    #[serde(default)]
    pub reason: Option<String>,
    /// The rule insists on a justification; the broker refuses a request without one.
    #[serde(default)]
    pub require_reason: bool,
    /// The rule allows break-glass self-approval.
    #[serde(default)]
    pub break_glass_allowed: bool,
    /// The requester invokes break-glass now (needs `break_glass_allowed` and a reason).
    #[serde(default)]
    pub break_glass: bool,
    /// The CI job's OIDC ID token (a JWT), when the job has one. The broker
    /// verifies it against its trusted issuers and replaces the claimed CI actor,
    /// repository and ref with the token's claims; a token that fails is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
}

/// An OIDC ID token as it travels. A secret until the broker verified it (and a
/// bearer credential for its lifetime after): `Debug` shows `****`, and nothing
/// stores or logs it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdToken(String);

impl IdToken {
    pub fn new(jwt: String) -> IdToken {
        IdToken(jwt)
    }

    /// The compact JWT, for the verifier only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken(****)")
    }
}

/// `GET /v1/oidc`: the audience each trusted issuer's tokens must carry, so a
/// job that mints its token on demand (GitHub Actions) asks for the right one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcInfo {
    pub issuers: Vec<OidcIssuer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcIssuer {
    pub issuer: String,
    /// The CI system whose jobs this issuer signs for: `github` or `gitlab`.
    pub system: String,
    pub audience: String,
}

/// The answer to `POST /v1/requests`. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Created {
    /// Secret that lets the requester read, cancel and claim this request
    /// (`Authorization: Bearer ...`). Shown once; the broker keeps only its hash.
    pub requester_token: String,
    pub request: RequestView,
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Created")
            .field("requester_token", &"****")
            .field("request", &self.request)
            .finish()
    }
}

/// Where a request stands. Everything but `Pending` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Denied,
    TimedOut,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::TimedOut => "timed_out",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        self != Status::Pending
    }
}

/// A vote cast on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// The approver's person name in the broker config.
    pub person: String,
    /// How they were authenticated: "api", "cli", "inbox", "slack", "web", "break-glass".
    pub channel: String,
    pub verdict: Choice,
    pub reason: Option<String>,
    /// RFC 3339 UTC.
    pub at: String,
}

/// A request as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestView {
    /// Unguessable request id (URL-safe).
    pub id: String,
    pub status: Status,
    /// Increases on every change; pass it back as `?since=` to long-poll for the next.
    pub version: u64,
    pub requester: Requester,
    pub argv: Vec<String>,
    pub cwd: String,
    pub action_digest: String,
    pub rules: Vec<String>,
    pub rule_reason: String,
    /// SHA-256 (hex) of the broker's policy text the request was evaluated under.
    #[serde(default)]
    pub policy_version: String,
    /// The CI identity the broker verified from the request's ID token; absent
    /// when the request carried none (its CI fields are then only a claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_identity: Option<VerifiedCi>,
    pub reason: Option<String>,
    /// Person names who may decide (groups expanded, the requester removed).
    pub approvers: Vec<String>,
    pub quorum: u32,
    pub break_glass: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC: when a pending request times out.
    pub expires_at: String,
    pub votes: Vec<Vote>,
    /// The broker's signed decision once the request is approved or denied.
    pub decision: Option<SignedDecision>,
    /// The requester has claimed the approval to run the command (single use).
    pub claimed: bool,
    /// The broker's approval page for this request.
    pub url: String,
}

/// `GET /v1/requests?status=pending`: the requests an approver can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestList {
    /// The broker-wide change counter; pass it back as `?since=` to long-poll.
    pub version: u64,
    pub requests: Vec<RequestView>,
}

/// `POST /v1/requests/{id}/decision`, with an approver's bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    pub verdict: Choice,
    #[serde(default)]
    pub reason: Option<String>,
    /// How the approver reached the broker: "api" (default), "cli", "inbox".
    #[serde(default)]
    pub channel: Option<String>,
}

/// `POST /v1/enroll`: an installation registers its public key with a one-time
/// code from `gate serve enroll NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollBody {
    /// The enrollment code, as printed once by `gate serve enroll NAME`.
    pub code: String,
    /// The installation's ed25519 public key, SPKI PEM.
    pub public_key: String,
}

/// `POST /v1/audit/records`: an installation forwards its signed audit records,
/// exactly as stored, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardBody {
    /// The installation's name: its enrolled name (the signature's, which wins),
    /// or for a broker without enrollment a name pinned in broker.toml.
    pub installation: String,
    /// The public half of the key the records are signed with (SPKI PEM). An
    /// enrolled installation's first push registers it; later pushes must match.
    pub audit_public_key: String,
    pub records: Vec<ForwardedRecord>,
}

/// One audit record as stored: the signed body (the JSON after the
/// `gate-audit-v1\n` prefix), its signature and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardedRecord {
    pub seq: u64,
    pub body: String,
    pub signature: String,
    pub hash: String,
}

/// The newest record of an installation the broker holds: where its chain
/// continues. `seq` 0 (and the genesis hash) when it holds none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub installation: String,
    pub seq: u64,
    pub hash: String,
    /// `ok`, or `broken` once a record that did not extend the chain arrived.
    pub status: String,
}

/// `POST /v1/audit/head`: which installation's head (an enrolled caller's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadQuery {
    pub installation: String,
}

/// The answer to `POST /v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolled {
    /// The name the broker enrolled the installation under (chosen by the admin
    /// who made the code); requests signed by it carry this name as their host.
    pub name: String,
    /// RFC 3339 UTC.
    pub enrolled_at: String,
}

/// A 4xx/5xx answer: what went wrong, and which field when a field was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// One human-readable line.
    pub message: String,
    /// The offending request field, when there is one.
    #[serde(default)]
    pub field: Option<String>,
}

/// The stable code of a refusal, shared by the broker (which sends it) and its
/// clients (which act on it); docs/openapi.yaml lists the same strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A field of the body or query is missing, malformed or not allowed.
    InvalidField,
    /// No bearer token, or one the broker does not know.
    Unauthorized,
    /// No such request (or route).
    NotFound,
    MethodNotAllowed,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The body is larger than the broker accepts.
    TooLarge,
    /// The person is not among the request's approvers.
    NotAnApprover,
    /// The person is the requester.
    SelfApproval,
    /// The request already has its final decision.
    AlreadyDecided,
    /// The person already voted on the request.
    AlreadyVoted,
    /// The approval was already claimed (used) once.
    AlreadyClaimed,
    /// A claim of a request that is not approved.
    NotApproved,
    /// A claim of an approval past its expiry.
    DecisionExpired,
    /// Break-glass on a request whose rule does not allow it.
    BreakGlassNotAllowed,
    /// The broker's own policy denies the command: no approval can be asked.
    DeniedByPolicy,
    /// The request's OIDC ID token failed verification (expired, wrong audience
    /// or issuer, unknown key id, bad signature, unsupported algorithm, ...).
    InvalidIdToken,
    /// The broker could not fetch the token issuer's keys to verify it.
    IdTokenUnverifiable,
    /// Too many requests are pending (in all, or from this requester); retry
    /// after the `Retry-After` header's seconds.
    TooManyRequests,
    /// The request is not signed by an enrolled installation (unsigned while the
    /// broker requires enrollment, unknown or revoked installation).
    NotEnrolled,
    /// The installation's signature is wrong, stale, or replays an earlier one.
    BadSignature,
    /// An enrollment code that is unknown, already used or expired.
    InvalidEnrollmentCode,
    /// A forwarded audit record that does not extend the chain the broker holds
    /// for its installation (a truncated, rewritten or forked log), or whose
    /// signature does not verify. Kept by the broker as evidence.
    ChainBroken,
    /// The broker failed on its side.
    Internal,
    /// A code this gate does not know (a newer broker).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it travels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::NotAnApprover => "not_an_approver",
            ErrorCode::SelfApproval => "self_approval",
            ErrorCode::AlreadyDecided => "already_decided",
            ErrorCode::AlreadyVoted => "already_voted",
            ErrorCode::AlreadyClaimed => "already_claimed",
            ErrorCode::NotApproved => "not_approved",
            ErrorCode::DecisionExpired => "decision_expired",
            ErrorCode::BreakGlassNotAllowed => "break_glass_not_allowed",
            ErrorCode::DeniedByPolicy => "denied_by_policy",
            ErrorCode::InvalidIdToken => "invalid_id_token",
            ErrorCode::IdTokenUnverifiable => "id_token_unverifiable",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::NotEnrolled => "not_enrolled",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::InvalidEnrollmentCode => "invalid_enrollment_code",
            ErrorCode::ChainBroken => "chain_broken",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /v1/policy`: publish a new version of the organisation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The whole policy file.
    pub text: String,
    /// Why it changes, shown to the admins who approve it.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One published version, as `GET /v1/policy/history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionView {
    /// Hex SHA-256 of the policy text.
    pub version: String,
    pub published_by: String,
    pub published_at: String,
    /// The approval request that decided it.
    pub request_id: Option<String>,
    /// `pending`, `active`, `refused` or `superseded`.
    pub state: String,
    pub decided_at: Option<String>,
    pub approved_by: Vec<String>,
}

/// `GET /v1/policy/history`: every published version, newest first, and the
/// version in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyHistory {
    pub in_force: String,
    pub versions: Vec<PolicyVersionView>,
}
