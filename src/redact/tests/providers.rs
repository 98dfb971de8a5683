//! Provider keys recognised by their prefix: every row of the table, in argv,
//! `sh -c` lines, assignments and free text.

use super::{assert_masked, assert_untouched, redact};
use crate::redact::providers::PROVIDERS;

const R20: &str = "a8Kd0QzL3mN7pR2sT5vX";
const HEX40: &str = "0123456789abcdef0123456789abcdef01234567";

/// One realistic key per row of the table, and the prefix it keeps.
fn samples() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "anthropic",
            format!("sk-ant-api03-{R20}{R20}-AAAA"),
            "sk-ant-api03-",
        ),
        ("openai", format!("sk-proj-{R20}{R20}{R20}"), "sk-proj-"),
        ("openai", format!("sk-{R20}T3BlbkFJ{R20}"), "sk-"),
        ("stripe", format!("sk_live_{R20}{R20}"), "sk_live_"),
        ("stripe", format!("rk_test_{R20}"), "rk_test_"),
        ("stripe-webhook", format!("whsec_{R20}{R20}"), "whsec_"),
        (
            "google-api-key",
            format!("AIzaSy{R20}abcdefghijklm"),
            "AIza",
        ),
        ("google-oauth-secret", format!("GOCSPX-{R20}"), "GOCSPX-"),
        ("google-oauth-token", format!("ya29.{R20}{R20}"), "ya29."),
        ("gitlab", format!("glpat-{R20}"), "glpat-"),
        ("gitlab", format!("glrt-{R20}"), "glrt-"),
        (
            "gitlab-runner-registration",
            format!("GR1348941{R20}"),
            "GR1348941",
        ),
        ("vault", format!("hvs.{R20}{R20}"), "hvs."),
        ("vault", format!("hvb.{R20}{R20}"), "hvb."),
        ("npm", format!("npm_{R20}{R20}"), "npm_"),
        ("pypi", format!("pypi-AgEIcHlwaS5vcmc{R20}{R20}"), "pypi-"),
        ("rubygems", format!("rubygems_{HEX40}abcdef01"), "rubygems_"),
        ("huggingface", format!("hf_{R20}{R20}"), "hf_"),
        (
            "databricks",
            "dapi0123456789abcdef0123456789abcdef".into(),
            "dapi",
        ),
        ("digitalocean", format!("dop_v1_{HEX40}{HEX40}"), "dop_v1_"),
        (
            "shopify",
            "shpat_0123456789abcdef0123456789abcdef".into(),
            "shpat_",
        ),
        ("sendgrid", format!("SG.{R20}ab.{R20}{R20}"), "SG."),
        ("mailgun", format!("key-{R20}0123456789ab"), "key-"),
        ("atlassian", format!("ATATT3xFfGF0{R20}"), "ATATT3"),
        ("bitbucket", format!("ATBB{R20}"), "ATBB"),
        ("linear", format!("lin_api_{R20}{R20}"), "lin_api_"),
        (
            "postman",
            format!("PMAK-0123456789abcdef01234567-{HEX40}"),
            "PMAK-",
        ),
        ("doppler", format!("dp.st.{R20}{R20}"), "dp.st."),
        ("pulumi", format!("pul-{HEX40}"), "pul-"),
        (
            "terraform-cloud",
            format!("AbCdEfGh123456.atlasv1.{R20}{R20}{R20}"),
            "",
        ),
        ("grafana", format!("glc_{R20}{R20}"), "glc_"),
        (
            "new-relic",
            "NRAK-ABCDEFGHIJ0123456789ABCDEFG".into(),
            "NRAK-",
        ),
        ("sentry", format!("sntrys_{R20}{R20}"), "sntrys_"),
        ("telegram", format!("123456789:AA{R20}{R20}"), "123456789:"),
        (
            "age",
            "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ".into(),
            "AGE-SECRET-KEY-",
        ),
        ("heroku", format!("HRKU-{R20}{R20}"), "HRKU-"),
        ("supabase", format!("sbp_{HEX40}"), "sbp_"),
        ("replicate", format!("r8_{R20}{R20}"), "r8_"),
        ("groq", format!("gsk_{R20}{R20}{R20}"), "gsk_"),
        ("xai", format!("xai-{R20}{R20}{R20}"), "xai-"),
        ("perplexity", format!("pplx-{R20}{R20}{R20}"), "pplx-"),
        ("square", format!("sq0atp-{R20}{R20}"), "sq0atp-"),
        ("meta", format!("EAACEdEose0cBA{R20}{R20}{R20}"), "EAA"),
        ("tailscale", format!("tskey-auth-{R20}"), "tskey-auth-"),
        ("docker-hub", format!("dckr_pat_{R20}{R20}"), "dckr_pat_"),
        ("buildkite", format!("bkua_{HEX40}"), "bkua_"),
        ("circleci", format!("CCIPAT_{R20}{R20}"), "CCIPAT_"),
        ("jfrog", format!("AKCp{R20}{R20}{R20}{R20}"), "AKCp"),
        (
            "azure-ad-secret",
            "abc8Q~abcdefghijABCDEFGHIJ0123456789abcd".into(),
            "",
        ),
        ("contentful", format!("CFPAT-{R20}{R20}{R20}"), "CFPAT-"),
        ("figma", format!("figd_{R20}{R20}"), "figd_"),
        ("notion", format!("ntn_{R20}{R20}{R20}"), "ntn_"),
        (
            "airtable",
            format!("patAbCdEf01234567.{HEX40}0123456789abcdef01234567"),
            "patAbCdEf01234567.",
        ),
        (
            "braintree",
            "access_token$production$abcdefgh01234567$0123456789abcdef0123456789abcdef".into(),
            "access_token$production$",
        ),
        ("1password", format!("ops_eyJ{R20}{R20}{R20}"), "ops_"),
        ("mapbox", format!("sk.eyJ{R20}{R20}.{R20}"), "sk."),
        (
            "dynatrace",
            format!("dt0c01.{R20}AB.{R20}{R20}{R20}"),
            "dt0c01.",
        ),
        ("fly", format!("fm2_{R20}{R20}"), "fm2_"),
        ("netlify", format!("nfp_{R20}{R20}"), "nfp_"),
        ("prefect", format!("pnu_{R20}{R20}"), "pnu_"),
        ("shippo", format!("shippo_live_{HEX40}"), "shippo_live_"),
    ]
}

#[test]
fn every_row_has_a_source_and_a_sample() {
    let samples = samples();
    for provider in PROVIDERS {
        assert!(
            !provider.source.is_empty(),
            "{} has no source",
            provider.name
        );
        assert!(
            samples.iter().any(|(name, _, _)| *name == provider.name),
            "{} has no sample",
            provider.name
        );
        for trigger in provider.trigger.word_list() {
            assert_eq!(*trigger, trigger.to_ascii_lowercase(), "{}", provider.name);
        }
    }
}

#[test]
fn every_sample_is_masked_in_every_position() {
    for (name, key, _) in samples() {
        let body = &key[key.len() - 12..];
        assert_masked(&["echo", &key], body);
        assert_masked(&["curl", "-H", &format!("X-Key: {key}")], body);
        assert_masked(&["env", &format!("TOOL_CONFIG={key}"), "run"], body);
        assert_masked(&["tool", &format!("--config={key}")], body);
        assert!(
            !redact(&format!("rotated {key}, see ticket")).contains(body),
            "{name}"
        );
    }
}

#[test]
fn the_prefix_stays_visible() {
    for (name, key, prefix) in samples() {
        if prefix.is_empty() {
            continue;
        }
        let masked = redact(&format!("echo {key}"));
        assert!(
            masked.contains(&format!("{prefix}****")),
            "{name}: {masked}"
        );
    }
}

#[test]
fn short_or_word_like_prefixes_are_not_keys() {
    assert_untouched(&["pip", "install", "sk-learn-model-cache-tools"]);
    assert_untouched(&["git", "checkout", "sk-refactor-the-parser"]);
    assert_untouched(&["ls", "disk-usage-report-generator-2024"]);
    assert_untouched(&["echo", "npm_config_registry", "hf_hub", "glpat-short"]);
    assert_untouched(&["kubectl", "get", "pods", "-n", "keycloak"]);
}
