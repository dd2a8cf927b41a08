//! Webhooks: POSTed off the event path, only to hosts the plugin declared
//! (and the streamer granted), with a timeout and retries.

use std::collections::BTreeSet;
use std::time::Duration;

use url::Url;

use crate::plugins::manifest::Permission;

const TIMEOUT: Duration = Duration::from_secs(10);
const ATTEMPTS: u32 = 3;
const MAX_BODY: usize = 64 * 1024;

/// Checks a webhook URL against the plugin's permissions: https (plain
/// http only to a granted loopback address), and a granted host.
pub fn check_url(url: &str, permissions: &BTreeSet<Permission>) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("webhook URL {url:?} is not a URL: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("webhook URL {url:?} has no host"))?
        .to_ascii_lowercase();
    let loopback = host
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false);
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => return Err(format!("webhook URL scheme {other:?} refused: use https")),
    }
    if !permissions.contains(&Permission::Webhook(host.clone())) {
        return Err(format!(
            "webhook to {host} refused: the plugin's plugin.toml does not list it in webhooks"
        ));
    }
    Ok(parsed)
}

/// Posts webhooks in the background.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
}

impl WebhookSender {
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Stagehand/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(WebhookSender { client })
    }

    /// Sends `body` to `url` in a background task, retrying 429 (after its
    /// Retry-After), 5xx and network errors.
    pub fn spawn(&self, plugin: String, url: Url, body: String) {
        if body.len() > MAX_BODY {
            tracing::warn!(plugin, "webhook body over {MAX_BODY} bytes refused");
            return;
        }
        let client = self.client.clone();
        tokio::spawn(async move {
            let host = url.host_str().unwrap_or("").to_owned();
            for attempt in 1..=ATTEMPTS {
                let sent = client
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let wait = match sent {
                    Ok(resp) if resp.status().is_success() => {
                        tracing::debug!(plugin, host, "webhook delivered");
                        return;
                    }
                    Ok(resp) if resp.status().as_u16() == 429 => {
                        retry_after(&resp).unwrap_or(backoff(attempt))
                    }
                    Ok(resp) if resp.status().is_server_error() => backoff(attempt),
                    Ok(resp) => {
                        tracing::warn!(plugin, host, status = %resp.status(), "webhook refused by its server; not retried");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(plugin, host, attempt, error = %e, "webhook failed");
                        backoff(attempt)
                    }
                };
                if attempt < ATTEMPTS {
                    tokio::time::sleep(wait).await;
                }
            }
            tracing::error!(plugin, host, "webhook gave up after {ATTEMPTS} attempts");
        });
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs: f64 = resp
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(secs.clamp(0.0, 30.0)))
}

fn backoff(attempt: u32) -> Duration {
    let base = 500u64 << attempt.min(5);
    let jitter = rand::random::<u64>() % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(hosts: &[&str]) -> BTreeSet<Permission> {
        hosts
            .iter()
            .map(|h| Permission::Webhook(h.to_string()))
            .collect()
    }

    #[test]
    fn only_granted_hosts_over_https_pass() {
        let p = perms(&["discord.com", "127.0.0.1"]);
        assert!(check_url("https://discord.com/api/webhooks/1/x", &p).is_ok());
        assert!(check_url("https://DISCORD.com/api/webhooks/1/x", &p).is_ok());
        assert!(check_url("http://127.0.0.1:9/hook", &p).is_ok());
        for (url, needle) in [
            ("https://evil.example/x", "does not list"),
            ("http://discord.com/api", "use https"),
            ("ftp://discord.com/x", "use https"),
            ("not a url", "not a URL"),
            ("https://discord.com.evil.example/x", "does not list"),
            ("http://10.0.0.1/x", "use https"),
        ] {
            let err = check_url(url, &p).unwrap_err();
            assert!(err.contains(needle), "{url}: {err}");
        }
        assert!(check_url("https://discord.com/x", &BTreeSet::new()).is_err());
    }
}
