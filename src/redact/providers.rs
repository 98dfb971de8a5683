//! The table of provider credentials recognisable by their prefix: one row per
//! vendor format, with where the format is documented. The prefix is kept
//! (`sk-proj-****`, `glpat-****`) so an approver still sees what kind of key it was.
//!
//! Sources: each vendor's own documentation of its token format where it has one,
//! GitHub's secret-scanning partner patterns, and the gitleaks rule set
//! (`config/gitleaks.toml`), which names a source for every rule. Bodies are a
//! little looser than the vendors' (shorter minimum lengths), so a truncated or
//! test key is still masked.

use super::Spec;
use super::rule::{Mode, Refine, whole};
use super::trigger::{Group, Trigger};
use regex::Captures;
use std::ops::Range;

/// Word boundary in ASCII terms: the Unicode one defeats the lazy DFA.
const B: &str = r"(?-u:\b)";

/// One credential format: literal words any match contains (lower case, for the
/// cheap pre-check), the kept prefix, the masked body, and where it is documented.
#[derive(Debug)]
pub(super) struct Provider {
    pub(super) name: &'static str,
    pub(super) trigger: Trigger,
    prefix: &'static str,
    body: &'static str,
    pub(super) source: &'static str,
}

const fn p(
    name: &'static str,
    trigger: Trigger,
    prefix: &'static str,
    body: &'static str,
    source: &'static str,
) -> Provider {
    Provider {
        name,
        trigger,
        prefix,
        body,
        source,
    }
}

/// Ordered: a more specific prefix (`sk-ant-`) comes before a general one (`sk-`).
pub(super) const PROVIDERS: &[Provider] = &[
    p(
        "anthropic",
        Trigger::words(&["sk-ant-"]),
        r"sk-ant-(?:[a-z]+[0-9]{2}-)?",
        r"[A-Za-z0-9_-]{8,}",
        "Anthropic API and admin keys, sk-ant-api03-… (docs.anthropic.com; gitleaks anthropic-api-key)",
    ),
    p(
        "openai",
        Trigger::words(&["sk-"]),
        r"sk-(?:proj-|svcacct-|admin-|None-|or-v1-)?",
        r"[A-Za-z0-9_-]{16,}",
        "OpenAI keys sk-…, sk-proj-…, sk-svcacct-… (platform.openai.com; gitleaks openai-api-key); also DeepSeek and OpenRouter sk-…",
    ),
    p(
        "stripe",
        Trigger::words(&["sk_", "rk_"]),
        r"[sr]k_(?:live|test)_",
        r"[A-Za-z0-9]{10,}",
        "Stripe secret and restricted keys (docs.stripe.com/keys)",
    ),
    p(
        "stripe-webhook",
        Trigger::words(&["whsec_"]),
        r"whsec_",
        r"[A-Za-z0-9+/=]{16,}",
        "Stripe webhook signing secrets (docs.stripe.com/webhooks)",
    ),
    p(
        "google-api-key",
        Trigger::words(&["aiza"]),
        r"AIza",
        r"[0-9A-Za-z_-]{20,}",
        "Google Cloud and Gemini API keys, AIza + 35 (cloud.google.com/docs/authentication/api-keys)",
    ),
    p(
        "google-oauth-secret",
        Trigger::words(&["gocspx-"]),
        r"GOCSPX-",
        r"[A-Za-z0-9_-]{10,}",
        "Google OAuth client secrets (gitleaks gcp-oauth-client-secret)",
    ),
    p(
        "google-oauth-token",
        Trigger::words(&["ya29."]),
        r"ya29\.",
        r"[0-9A-Za-z_-]{20,}",
        "Google OAuth 2.0 access tokens (developers.google.com/identity)",
    ),
    p(
        "gitlab",
        Trigger::words(&[
            "glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glimt-", "glagent-",
            "glsoat-", "gloas-", "glffct-",
        ]),
        r"gl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|soat|oas|ffct)-",
        r"[A-Za-z0-9_.-]{20,}",
        "GitLab token prefixes (docs.gitlab.com/security/tokens, 'Token prefixes')",
    ),
    p(
        "gitlab-runner-registration",
        Trigger::words(&["gr1348941"]),
        r"GR1348941",
        r"[A-Za-z0-9_-]{20,}",
        "GitLab runner registration tokens (docs.gitlab.com/security/tokens)",
    ),
    p(
        "vault",
        Trigger::words(&["hvs.", "hvb.", "hvr."]),
        r"hv[sbr]\.",
        r"[A-Za-z0-9_-]{20,}",
        "HashiCorp Vault service, batch and recovery tokens (developer.hashicorp.com/vault/docs/concepts/tokens)",
    ),
    p(
        "npm",
        Trigger::words(&["npm_"]),
        r"npm_",
        r"[A-Za-z0-9]{20,}",
        "npm access tokens (docs.npmjs.com/about-access-tokens; GitHub secret scanning)",
    ),
    p(
        "pypi",
        Trigger::words(&["pypi-age"]),
        r"pypi-",
        r"AgE[A-Za-z0-9_-]{20,}",
        "PyPI API tokens, macaroons pypi-AgEIcHlwaS5vcmc… (pypi.org/help/#apitoken)",
    ),
    p(
        "rubygems",
        Trigger::words(&["rubygems_"]),
        r"rubygems_",
        r"[a-f0-9]{32,}",
        "RubyGems API keys (guides.rubygems.org/api-key-scopes)",
    ),
    p(
        "huggingface",
        Trigger::words(&["hf_"]),
        r"hf_",
        r"[A-Za-z0-9]{30,}",
        "Hugging Face user access tokens (huggingface.co/docs/hub/security-tokens)",
    ),
    p(
        "databricks",
        Trigger::words(&["dapi"]),
        r"dapi",
        r"[a-f0-9]{32}(?:-[0-9])?",
        "Databricks personal access tokens (gitleaks databricks-api-token)",
    ),
    p(
        "digitalocean",
        Trigger::words(&["dop_v1_", "doo_v1_", "dor_v1_"]),
        r"do[opr]_v1_",
        r"[a-f0-9]{40,}",
        "DigitalOcean tokens (docs.digitalocean.com, GitHub secret scanning)",
    ),
    p(
        "shopify",
        Trigger::words(&["shpat_", "shpca_", "shppa_", "shpss_"]),
        r"shp(?:at|ca|pa|ss)_",
        r"[a-fA-F0-9]{32}",
        "Shopify app tokens (shopify.dev; gitleaks shopify-*)",
    ),
    p(
        "sendgrid",
        Trigger::words(&["sg."]),
        r"SG\.",
        r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{20,}",
        "Twilio SendGrid API keys (gitleaks sendgrid-api-token)",
    ),
    p(
        "mailgun",
        Trigger::words(&["key-"]),
        r"key-",
        r"[0-9a-zA-Z]{32}",
        "Mailgun private API keys (gitleaks mailgun-private-api-token)",
    ),
    p(
        "atlassian",
        Trigger::words(&["atatt"]),
        r"ATATT3",
        r"[A-Za-z0-9_=-]{20,}",
        "Atlassian API tokens (gitleaks atlassian-api-token)",
    ),
    p(
        "bitbucket",
        Trigger::words(&["atbb"]),
        r"ATBB",
        r"[A-Za-z0-9_=.-]{20,}",
        "Bitbucket app passwords (gitleaks bitbucket)",
    ),
    p(
        "linear",
        Trigger::words(&["lin_api_"]),
        r"lin_api_",
        r"[A-Za-z0-9]{30,}",
        "Linear API keys (gitleaks linear-api-key)",
    ),
    p(
        "postman",
        Trigger::words(&["pmak-"]),
        r"PMAK-",
        r"[a-f0-9]{24}-[a-f0-9]{30,}",
        "Postman API keys (gitleaks postman-api-token)",
    ),
    p(
        "doppler",
        Trigger::words(&["dp."]),
        r"dp\.(?:st|ct|sa|scim|audit|pt)\.",
        r"[A-Za-z0-9_-]{20,}",
        "Doppler tokens (docs.doppler.com/docs/token-formats)",
    ),
    p(
        "pulumi",
        Trigger::words(&["pul-"]),
        r"pul-",
        r"[a-f0-9]{40}",
        "Pulumi access tokens (gitleaks pulumi-api-token)",
    ),
    p(
        "terraform-cloud",
        Trigger::words(&["atlasv1"]),
        "",
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{40,}",
        "HCP Terraform API tokens (gitleaks hashicorp-tf-api-token)",
    ),
    p(
        "grafana",
        Trigger::words(&["glc_", "glsa_"]),
        r"gl(?:c|sa)_",
        r"[A-Za-z0-9+/_=]{30,}",
        "Grafana Cloud and service account tokens (grafana.com/docs)",
    ),
    p(
        "new-relic",
        Trigger::words(&["nrak-"]),
        r"NRAK-",
        r"[A-Z0-9]{20,}",
        "New Relic user API keys (gitleaks new-relic-user-api-key)",
    ),
    p(
        "sentry",
        Trigger::words(&["sntrys_", "sntryu_"]),
        r"sntry[su]_",
        r"[A-Za-z0-9+/=_]{30,}",
        "Sentry auth tokens (docs.sentry.io/account/auth-tokens)",
    ),
    p(
        "telegram",
        Trigger::words(&[":aa"]),
        r"[0-9]{8,10}:",
        r"AA[A-Za-z0-9_-]{30,}",
        "Telegram bot tokens (core.telegram.org/bots/api#authorizing-your-bot)",
    ),
    p(
        "age",
        Trigger::words(&["age-secret-key-"]),
        r"AGE-SECRET-KEY-",
        r"1[0-9A-Z]{30,}",
        "age identities (age-encryption.org/v1)",
    ),
    p(
        "heroku",
        Trigger::words(&["hrku-"]),
        r"HRKU-",
        r"[A-Za-z0-9_-]{20,}",
        "Heroku API keys (devcenter.heroku.com)",
    ),
    p(
        "supabase",
        Trigger::words(&["sbp_", "sb_secret_"]),
        r"sb(?:p|_secret)_",
        r"[A-Za-z0-9_-]{20,}",
        "Supabase access tokens and secret keys (supabase.com/docs)",
    ),
    p(
        "replicate",
        Trigger::words(&["r8_"]),
        r"r8_",
        r"[A-Za-z0-9]{30,}",
        "Replicate API tokens (replicate.com/docs)",
    ),
    p(
        "groq",
        Trigger::words(&["gsk_"]),
        r"gsk_",
        r"[A-Za-z0-9]{40,}",
        "Groq API keys (console.groq.com)",
    ),
    p(
        "xai",
        Trigger::words(&["xai-"]),
        r"xai-",
        r"[A-Za-z0-9]{40,}",
        "xAI API keys (docs.x.ai)",
    ),
    p(
        "perplexity",
        Trigger::words(&["pplx-"]),
        r"pplx-",
        r"[A-Za-z0-9]{40,}",
        "Perplexity API keys (docs.perplexity.ai)",
    ),
    p(
        "square",
        Trigger::words(&["sq0atp-", "sq0csp-"]),
        r"sq0(?:atp|csp)-",
        r"[A-Za-z0-9_-]{20,}",
        "Square access tokens and OAuth secrets (gitleaks square-*)",
    ),
    p(
        "meta",
        Trigger::words(&["eaa"]),
        r"EAA",
        r"[A-Za-z0-9]{60,}",
        "Facebook/Meta Graph and Square EAAA access tokens (gitleaks facebook-access-token)",
    ),
    p(
        "tailscale",
        Trigger::words(&["tskey-"]),
        r"tskey-(?:auth|api|client|scim|webhook)-",
        r"[A-Za-z0-9_-]{10,}",
        "Tailscale keys (tailscale.com/kb/1277/key-prefixes)",
    ),
    p(
        "docker-hub",
        Trigger::words(&["dckr_pat_", "dckr_oat_"]),
        r"dckr_[po]at_",
        r"[A-Za-z0-9_-]{20,}",
        "Docker Hub access tokens (docs.docker.com/security/for-developers/access-tokens)",
    ),
    p(
        "buildkite",
        Trigger::words(&["bkua_"]),
        r"bkua_",
        r"[a-f0-9]{40}",
        "Buildkite API tokens (gitleaks)",
    ),
    p(
        "circleci",
        Trigger::words(&["ccipat_"]),
        r"CCIPAT_",
        r"[A-Za-z0-9_]{20,}",
        "CircleCI personal API tokens (circleci.com/docs)",
    ),
    p(
        "jfrog",
        Trigger::words(&["akcp"]),
        r"AKCp",
        r"[A-Za-z0-9]{60,}",
        "JFrog API keys (gitleaks jfrog-api-key)",
    ),
    p(
        "azure-ad-secret",
        Trigger::words(&["q~"]),
        "",
        r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
        "Microsoft Entra ID client secrets (gitleaks azure-ad-client-secret)",
    ),
    p(
        "contentful",
        Trigger::words(&["cfpat-"]),
        r"CFPAT-",
        r"[A-Za-z0-9_-]{40,}",
        "Contentful personal access tokens (contentful.com/developers)",
    ),
    p(
        "figma",
        Trigger::words(&["figd_"]),
        r"figd_",
        r"[A-Za-z0-9_-]{30,}",
        "Figma personal access tokens (figma.com/developers)",
    ),
    p(
        "notion",
        Trigger::words(&["ntn_", "secret_"]),
        r"(?:ntn|secret)_",
        r"[A-Za-z0-9]{40,}",
        "Notion integration tokens (developers.notion.com)",
    ),
    p(
        "airtable",
        // The body ends in a `.`: a word such as `path` has no need of this row.
        Trigger::words(&["pat"]).later(b"."),
        r"pat[A-Za-z0-9]{14}\.",
        r"[a-f0-9]{64}",
        "Airtable personal access tokens (airtable.com/developers)",
    ),
    p(
        "braintree",
        Trigger::words(&["$production$", "$sandbox$"]),
        r"access_token\$(?:production|sandbox)\$",
        r"[a-z0-9]{16}\$[a-f0-9]{32}",
        "Braintree/PayPal access tokens (gitleaks)",
    ),
    p(
        "1password",
        Trigger::words(&["ops_eyj"]),
        r"ops_",
        r"eyJ[A-Za-z0-9+/=_-]{40,}",
        "1Password service account tokens (developer.1password.com)",
    ),
    p(
        "mapbox",
        Trigger::words(&["sk.eyj"]),
        r"sk\.",
        r"eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{10,}",
        "Mapbox secret tokens (docs.mapbox.com/accounts/guides/tokens)",
    ),
    p(
        "dynatrace",
        Trigger::words(&["dt0c01."]),
        r"dt0c01\.",
        r"[A-Za-z0-9]{20,}\.[A-Za-z0-9]{40,}",
        "Dynatrace API tokens (docs.dynatrace.com)",
    ),
    p(
        "fly",
        Trigger::words(&["fm1", "fm2", "fo1_"]),
        r"(?:fm[12][ar]?|fo1)_",
        r"[A-Za-z0-9+/=_-]{30,}",
        "Fly.io tokens (fly.io/docs)",
    ),
    p(
        "netlify",
        Trigger::words(&["nfp_"]),
        r"nfp_",
        r"[A-Za-z0-9]{30,}",
        "Netlify personal access tokens (gitleaks)",
    ),
    p(
        "prefect",
        Trigger::words(&["pnu_"]),
        r"pnu_",
        r"[A-Za-z0-9]{30,}",
        "Prefect API keys (docs.prefect.io)",
    ),
    p(
        "shippo",
        Trigger::words(&["shippo_"]),
        r"shippo_(?:live|test)_",
        r"[a-f0-9]{40}",
        "Shippo API tokens (gitleaks)",
    ),
];

/// One group per row, in table order, each compiled only when a text has that
/// row's prefix: a word such as `path` (Airtable's `pat`) builds one small
/// detector, not the table.
pub(super) fn groups() -> Vec<Group> {
    PROVIDERS
        .iter()
        .map(|provider| {
            Group::new(provider.name, &[provider.trigger], move || {
                vec![spec(provider)]
            })
        })
        .collect()
}

fn spec(provider: &Provider) -> Spec {
    let refine: Refine = if provider.name == "openai" {
        unless_words
    } else {
        whole
    };
    Spec::new(
        // The source goes into the name, so a broken row's error says where
        // its format is documented.
        format!("provider {} ({})", provider.name, provider.source),
        format!("{B}{}(?P<secret>{})", provider.prefix, provider.body),
        refine,
    )
}

/// `sk-` is also the start of ordinary kebab-case names (`sk-learn-model-cache`):
/// a body made only of short lower-case words is a name, not a key.
fn unless_words(_: &Captures<'_>, secret: &str, _: Mode) -> Option<Range<usize>> {
    let segments: Vec<&str> = secret.split(['-', '_']).collect();
    let words = segments.len() > 1
        && segments
            .iter()
            .all(|s| s.len() <= 12 && s.bytes().all(|b| b.is_ascii_lowercase()));
    (!words).then_some(0..secret.len())
}
