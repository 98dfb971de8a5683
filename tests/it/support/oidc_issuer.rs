//! A local OIDC issuer on 127.0.0.1 for the CI identity tests: a discovery
//! document, a JWKS with one RSA and one EC key (tests/fixtures/oidc), tokens
//! signed with them, and a stand-in for GitHub Actions'
//! `ACTIONS_ID_TOKEN_REQUEST_URL` that mints a token for the audience asked.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use base64ct::{Base64UrlUnpadded, Encoding};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub const RSA_PEM: &[u8] = include_bytes!("../../fixtures/oidc/rsa.pem");
pub const RSA_PUBLIC_PEM: &[u8] = include_bytes!("../../fixtures/oidc/rsa.pub.pem");
pub const EC_PEM: &[u8] = include_bytes!("../../fixtures/oidc/ec.pem");
pub const JWKS: &str = include_str!("../../fixtures/oidc/jwks.json");
/// The audience the broker in these tests expects.
pub const AUDIENCE: &str = "https://gate.test";
/// The bearer the fake runner's token endpoint wants.
pub const RUNNER_BEARER: &str = "runner-request-token";

#[derive(Debug, Default)]
struct Shared {
    base: String,
    jwks_fetches: AtomicUsize,
    /// Audiences the token endpoint was asked for.
    minted_for: Mutex<Vec<String>>,
}

/// The issuer; it serves until the test process ends.
#[derive(Debug, Clone)]
pub struct Issuer {
    shared: Arc<Shared>,
}

impl Issuer {
    pub fn start() -> Issuer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            base,
            ..Shared::default()
        });
        let issuer = Issuer {
            shared: shared.clone(),
        };
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/mint", get(mint))
            .with_state(shared);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        issuer
    }

    /// The issuer URL, the tokens' `iss`.
    pub fn url(&self) -> String {
        self.shared.base.clone()
    }

    /// A `[[oidc]]` table trusting this issuer as GitHub Actions.
    pub fn broker_config(&self) -> String {
        format!(
            "[[oidc]]\nissuer = \"{}\"\naudience = \"{AUDIENCE}\"\nsystem = \"github\"\n",
            self.url()
        )
    }

    /// What `ACTIONS_ID_TOKEN_REQUEST_URL` would be.
    pub fn request_url(&self) -> String {
        format!("{}/mint?api-version=2.0", self.url())
    }

    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn minted_for(&self) -> Vec<String> {
        self.shared.minted_for.lock().unwrap().clone()
    }

    /// GitHub-style claims for deploy-bot on acme/payments main, valid now.
    pub fn claims(&self) -> Value {
        github_claims(&self.url(), AUDIENCE)
    }

    /// `claims` signed RS256 with key `rsa-1`.
    pub fn token(&self, claims: &Value) -> String {
        sign(claims, Algorithm::RS256, "rsa-1")
    }
}

/// GitHub Actions-shaped claims from `issuer` for `audience`, valid from a
/// minute ago for ten minutes.
pub fn github_claims(issuer: &str, audience: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer,
        "aud": audience,
        "sub": "repo:acme/payments:ref:refs/heads/main",
        "actor": "deploy-bot",
        "repository": "acme/payments",
        "repository_owner": "acme",
        "ref": "refs/heads/main",
        "sha": "ffac537e",
        "workflow": "deploy",
        "job_workflow_ref": "acme/payments/.github/workflows/deploy.yml@refs/heads/main",
        "run_id": "42",
        "event_name": "push",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 600,
    })
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `claims` signed with the fixture key for `alg` (RS256: rsa.pem, ES256:
/// ec.pem), its header naming `kid`.
pub fn sign(claims: &Value, alg: Algorithm, kid: &str) -> String {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC_PEM).unwrap(),
        // The classic confusion: the issuer's public key used as an HMAC secret.
        Algorithm::HS256 => EncodingKey::from_secret(RSA_PUBLIC_PEM),
        other => panic!("no fixture key for {other:?}"),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"});
    format!(
        "{}.{}.",
        Base64UrlUnpadded::encode_string(header.to_string().as_bytes()),
        Base64UrlUnpadded::encode_string(claims.to_string().as_bytes())
    )
}

/// `token` with its payload replaced by `claims`, the signature kept.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        Base64UrlUnpadded::encode_string(claims.to_string().as_bytes()),
        parts[2]
    )
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "issuer": shared.base,
        "jwks_uri": format!("{}/jwks", shared.base),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(serde_json::from_str(JWKS).unwrap())
}

async fn mint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, StatusCode> {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("bearer {RUNNER_BEARER}"));
    if !authorized {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let audience = query.get("audience").cloned().unwrap_or_default();
    shared.minted_for.lock().unwrap().push(audience.clone());
    let claims = github_claims(&shared.base, &audience);
    Ok(Json(
        json!({ "value": sign(&claims, Algorithm::RS256, "rsa-1") }),
    ))
}
