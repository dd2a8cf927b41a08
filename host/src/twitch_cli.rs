//! The Twitch commands of the CLI: `login`, `logout` and `trigger`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use stagehand::app;
use stagehand::config::Config;
use stagehand::twitch::auth::{self, TwitchAuth};
use stagehand::twitch::eventsub::subscriptions;

use crate::TriggerArgs;

/// Device code flow: prints where to go and the code, waits for approval,
/// stores the token (0600) in the data directory.
pub fn login(config: &Config) -> Result<ExitCode> {
    let Some(client_id) = config.twitch.client_id.clone() else {
        bail!(
            "set TWITCH_CLIENT_ID to your application's client id (register a \"Public\" application at https://dev.twitch.tv/console/apps)"
        );
    };
    crate::runtime()?.block_on(async move {
        let http = app::twitch_http_client()?;
        let scopes = subscriptions::login_scopes();
        let mut scopes: Vec<&str> = scopes.into_iter().collect();
        // Chat replies from plugins.
        if !scopes.contains(&"user:write:chat") {
            scopes.push("user:write:chat");
        }
        let token = auth::device_login(
            &http,
            &config.twitch.auth_url,
            &client_id,
            &scopes,
            |code| {
                println!(
                    "To log in, open {} and enter the code {}",
                    code.verification_uri, code.user_code
                );
                println!(
                    "(waiting for approval; the code expires in {} minutes)",
                    code.expires_in / 60
                );
            },
        )
        .await?;
        stagehand::secrets::private_dir(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
        let path = auth::token_path(&config.data_dir);
        auth::save_token(&path, &token)?;
        let twitch = TwitchAuth::new(
            http,
            &config.twitch.auth_url,
            Some(client_id),
            Some(path.clone()),
            None,
        );
        let identity = twitch.start().await?;
        println!(
            "Logged in as {} (user id {}) with {} scopes; token saved to {}",
            identity.login,
            identity.user_id,
            identity.scopes.len(),
            path.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Revokes the stored token at Twitch and deletes the file.
pub fn logout(config: &Config) -> Result<ExitCode> {
    let path = auth::token_path(&config.data_dir);
    if !path.exists() {
        println!("Not logged in (no {}).", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    crate::runtime()?.block_on(async move {
        let http = app::twitch_http_client()?;
        let twitch = TwitchAuth::new(
            http,
            &config.twitch.auth_url,
            config.twitch.client_id.clone(),
            Some(path.clone()),
            None,
        );
        twitch.logout().await?;
        println!("Logged out; {} deleted.", path.display());
        Ok(ExitCode::SUCCESS)
    })
}

/// Sends one event to the running demo's look-alike.
pub fn trigger(config: &Config, args: &TriggerArgs) -> Result<ExitCode> {
    let endpoint = stagehand::demo::read_endpoint(&config.data_dir)?;
    let body = trigger_body(args);
    crate::runtime()?.block_on(async move {
        let http = app::twitch_http_client()?;
        let response = http
            .post(format!("{}/trigger", endpoint.control_url))
            .bearer_auth(&endpoint.control_secret)
            .json(&body)
            .send()
            .await
            .context("cannot reach the demo's Twitch look-alike; is `stagehand demo` running?")?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("the look-alike refused the trigger ({status}): {text}");
        }
        println!("{text}");
        Ok(ExitCode::SUCCESS)
    })
}

fn trigger_body(args: &TriggerArgs) -> Value {
    let mut body = Map::new();
    body.insert("kind".into(), json!(args.kind));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(key.into(), value);
        }
    };
    put("user", args.user.as_ref().map(|v| json!(v)));
    put("tier", args.tier.as_ref().map(|v| json!(v)));
    put("total", args.total.map(|v| json!(v)));
    put("bits", args.bits.map(|v| json!(v)));
    put("viewers", args.viewers.map(|v| json!(v)));
    put("text", args.text.as_ref().map(|v| json!(v)));
    put("reason", args.reason.as_ref().map(|v| json!(v)));
    put("duration_secs", args.duration.map(|v| json!(v)));
    put("months", args.months.map(|v| json!(v)));
    put("reward_title", args.reward.as_ref().map(|v| json!(v)));
    put("is_anonymous", args.anonymous.then_some(json!(true)));
    Value::Object(body)
}
