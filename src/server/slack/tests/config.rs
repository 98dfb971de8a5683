//! `[channels.slack]` read strictly, secrets from the environment, never printed.

use crate::server::config::parse;
use crate::server::config::slack::{Mode, Secret, SlackSecrets};

#[test]
fn defaults_fill_everything_but_the_channel() {
    let config = parse(
        "version = 1\n[channels.slack]\nchannel = \"C1\"\n",
        "b.toml",
    )
    .unwrap();
    let slack = config.channels.slack.unwrap();
    assert_eq!(slack.channel, "C1");
    assert_eq!(slack.bot_token_env, "SLACK_BOT_TOKEN");
    assert_eq!(slack.signing_secret_env, "SLACK_SIGNING_SECRET");
    assert_eq!(slack.app_token_env, "SLACK_APP_TOKEN");
    assert_eq!(slack.api_url, "https://slack.com/api");
    assert_eq!(slack.mode, Mode::Http);
}

#[test]
fn mistakes_point_at_the_spot() {
    let source = "version = 1\n[channels.slack]\nchanel = \"C1\"\nmode = \"carrier-pigeon\"\n[channels.fax]\n";
    let errors = parse(source, "b.toml").unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.render(false)).collect();
    let text = text.join("\n");
    assert!(
        text.contains("b.toml:3:1: unknown key \"chanel\""),
        "{text}"
    );
    assert!(text.contains("did you mean \"channel\"?"), "{text}");
    assert!(
        text.contains("b.toml:4:8: unknown slack mode \"carrier-pigeon\""),
        "{text}"
    );
    assert!(
        text.contains("[channels.slack] needs \"channel\""),
        "{text}"
    );
    assert!(text.contains("unknown key \"fax\""), "{text}");
}

#[test]
fn a_missing_secret_names_its_variable() {
    let source = "version = 1\n[channels.slack]\nchannel = \"C1\"\nmode = \"socket\"\napp_token_env = \"MY_APP\"\n";
    let slack = parse(source, "b.toml").unwrap().channels.slack.unwrap();
    let lookup = |name: &str| (name == "SLACK_BOT_TOKEN").then(|| "xoxb-1".to_string());
    let err = slack.secrets_from(lookup).unwrap_err();
    assert!(
        err.starts_with("slack: environment variable MY_APP is not set"),
        "{err}"
    );
    let err = slack.secrets_from(|_| None).unwrap_err();
    assert!(err.contains("SLACK_BOT_TOKEN"), "{err}");
    let secrets = slack
        .secrets_from(|name| Some(format!("value-of-{name}")))
        .unwrap();
    assert_eq!(
        secrets.app_token.as_ref().unwrap().expose(),
        "value-of-MY_APP"
    );
    assert_eq!(secrets.signing_secret, None);
}

#[test]
fn secrets_never_show_in_debug_output() {
    let secrets = SlackSecrets {
        bot_token: Secret::new("xoxb-very-secret"),
        signing_secret: Some(Secret::new("signing-very-secret")),
        app_token: None,
    };
    let shown = format!("{secrets:?}");
    assert!(!shown.contains("very-secret"), "{shown}");
    assert!(shown.contains("****"), "{shown}");
}

#[test]
fn an_empty_channel_is_an_error() {
    let errors = parse("version = 1\n[channels.slack]\nchannel = \"\"\n", "b.toml").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 3);
    assert_eq!(errors[0].message, "[channels.slack] needs \"channel\"");
}
