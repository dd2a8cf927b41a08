//! Twitch as an app sees it: an app access token (client credentials), the
//! conduit endpoints and conduit-transport subscriptions, and the Helix reads
//! a channel's own (user) token allows. Plain requests and answers; what to
//! do with them is decided by the callers.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

pub use crate::twitch::helix::{BannedUser, Subscriber, UserRef};

/// Where Twitch is and who the app is.
#[derive(Clone)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: String,
    /// e.g. `https://id.twitch.tv/oauth2`
    pub auth_url: String,
    /// e.g. `https://api.twitch.tv/helix`
    pub api_url: String,
}

/// Shows where it points, never the secret.
impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("client_id", &self.client_id)
            .field("auth_url", &self.auth_url)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// Why a Twitch call failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot reach Twitch: {0}")]
    Network(String),
    #[error("Twitch answered {status} to {what}: {message}")]
    Status {
        status: u16,
        what: String,
        message: String,
    },
    #[error("Twitch's answer to {what} was not understood: {why}")]
    Answer { what: String, why: String },
}

impl AppError {
    /// Whether Twitch refused the token for this read (401 or 403: a
    /// scope the broadcaster did not grant, or a token no longer valid).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AppError::Status {
                status: 401 | 403,
                ..
            }
        )
    }
}

impl From<reqwest::Error> for AppError {
    fn from(e: reqwest::Error) -> Self {
        AppError::Network(e.without_url().to_string())
    }
}

/// A conduit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Conduit {
    pub id: String,
    pub shard_count: u32,
}

/// One shard as Twitch reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Shard {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub transport: Value,
}

/// A follower from Get Channel Followers.
#[derive(Debug, Clone, Deserialize)]
pub struct Follower {
    pub user_id: String,
    pub user_login: String,
    pub user_name: String,
    pub followed_at: String,
}

struct AppToken {
    token: String,
    renew_at: Instant,
}

/// The app's Twitch client; cheap to share behind an `Arc`.
pub struct TwitchApp {
    http: reqwest::Client,
    creds: AppCredentials,
    token: Mutex<Option<AppToken>>,
}

impl TwitchApp {
    /// A client for `creds`.
    pub fn new(http: reqwest::Client, creds: AppCredentials) -> Self {
        TwitchApp {
            http,
            creds,
            token: Mutex::new(None),
        }
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.creds.client_id
    }

    /// An app access token, fetched with the client credentials grant and
    /// renewed a minute before it expires.
    pub async fn app_token(&self) -> Result<String, AppError> {
        if let Some(t) = self
            .token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && Instant::now() < t.renew_at
        {
            return Ok(t.token.clone());
        }
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let response = self
            .http
            .post(format!(
                "{}/token",
                self.creds.auth_url.trim_end_matches('/')
            ))
            .form(&[
                ("client_id", self.creds.client_id.as_str()),
                ("client_secret", self.creds.client_secret.as_str()),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await?;
        let granted: Granted = answer(response, "the app token request").await?;
        let lifetime = Duration::from_secs(granted.expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(AppToken {
            token: granted.access_token.clone(),
            renew_at,
        });
        Ok(granted.access_token)
    }

    /// Forgets the app token (after a 401), so the next call fetches one.
    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// One Helix call with the app token; a 401 fetches a new token once.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        what: &str,
    ) -> Result<reqwest::Response, AppError> {
        for attempt in 0..2 {
            let token = self.app_token().await?;
            let mut request = self
                .http
                .request(
                    method.clone(),
                    format!("{}{path}", self.creds.api_url.trim_end_matches('/')),
                )
                .bearer_auth(token)
                .header("Client-Id", &self.creds.client_id);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await?;
            if response.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                self.forget_token();
                continue;
            }
            return Ok(response);
        }
        Err(AppError::Status {
            status: 401,
            what: what.to_owned(),
            message: "the app token was refused twice".into(),
        })
    }

    /// The app's conduits.
    pub async fn conduits(&self) -> Result<Vec<Conduit>, AppError> {
        let r = self
            .call(Method::GET, "/eventsub/conduits", None, "Get Conduits")
            .await?;
        Ok(answer::<Data<Conduit>>(r, "Get Conduits").await?.data)
    }

    /// Creates a conduit of `shard_count` shards.
    pub async fn create_conduit(&self, shard_count: u32) -> Result<Conduit, AppError> {
        let r = self
            .call(
                Method::POST,
                "/eventsub/conduits",
                Some(json!({"shard_count": shard_count})),
                "Create Conduits",
            )
            .await?;
        first(
            answer::<Data<Conduit>>(r, "Create Conduits").await?.data,
            "Create Conduits",
        )
    }

    /// Changes a conduit's shard count.
    pub async fn resize_conduit(&self, id: &str, shard_count: u32) -> Result<Conduit, AppError> {
        let r = self
            .call(
                Method::PATCH,
                "/eventsub/conduits",
                Some(json!({"id": id, "shard_count": shard_count})),
                "Update Conduits",
            )
            .await?;
        first(
            answer::<Data<Conduit>>(r, "Update Conduits").await?.data,
            "Update Conduits",
        )
    }

    /// Assigns a WebSocket session to a shard. Twitch answers per shard; an
    /// error for ours is returned as one.
    pub async fn assign_shard(
        &self,
        conduit: &str,
        shard: u32,
        session_id: &str,
    ) -> Result<(), AppError> {
        let body = json!({
            "conduit_id": conduit,
            "shards": [{"id": shard.to_string(), "transport": {"method": "websocket", "session_id": session_id}}],
        });
        let r = self
            .call(
                Method::PATCH,
                "/eventsub/conduits/shards",
                Some(body),
                "Update Conduit Shards",
            )
            .await?;
        #[derive(Deserialize)]
        struct Updated {
            #[serde(default)]
            errors: Vec<Value>,
        }
        let updated: Updated = answer(r, "Update Conduit Shards").await?;
        match updated.errors.first() {
            None => Ok(()),
            Some(e) => Err(AppError::Status {
                status: 400,
                what: format!("assigning shard {shard}"),
                message: e["message"].as_str().unwrap_or("refused").to_owned(),
            }),
        }
    }

    /// A conduit's shards (every page).
    pub async fn shards(&self, conduit: &str) -> Result<Vec<Shard>, AppError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/eventsub/conduits/shards?conduit_id={}", enc(conduit));
            if let Some(cursor) = &after {
                path.push_str(&format!("&after={}", enc(cursor)));
            }
            let r = self
                .call(Method::GET, &path, None, "Get Conduit Shards")
                .await?;
            let page: Page<Shard> = answer(r, "Get Conduit Shards").await?;
            out.extend(page.data);
            match page.pagination.and_then(|p| p.cursor) {
                Some(c) if !c.is_empty() => after = Some(c),
                _ => return Ok(out),
            }
        }
    }

    /// The app's subscriptions (every page): (type, condition) pairs.
    pub async fn subscriptions(&self) -> Result<Vec<(String, Value)>, AppError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = "/eventsub/subscriptions".to_owned();
            if let Some(cursor) = &after {
                path.push_str(&format!("?after={}", enc(cursor)));
            }
            let r = self
                .call(Method::GET, &path, None, "Get EventSub Subscriptions")
                .await?;
            let page: Page<Value> = answer(r, "Get EventSub Subscriptions").await?;
            for s in page.data {
                if let Some(kind) = s["type"].as_str() {
                    out.push((kind.to_owned(), s["condition"].clone()));
                }
            }
            match page.pagination.and_then(|p| p.cursor) {
                Some(c) if !c.is_empty() => after = Some(c),
                _ => return Ok(out),
            }
        }
    }

    /// Creates a subscription delivered through `conduit`. An existing one
    /// (409) counts as created.
    pub async fn subscribe(
        &self,
        conduit: &str,
        kind: &str,
        version: &str,
        condition: &Value,
    ) -> Result<(), AppError> {
        let body = json!({
            "type": kind,
            "version": version,
            "condition": condition,
            "transport": {"method": "conduit", "conduit_id": conduit},
        });
        let r = self
            .call(
                Method::POST,
                "/eventsub/subscriptions",
                Some(body),
                "Create EventSub Subscription",
            )
            .await?;
        if r.status() == StatusCode::CONFLICT {
            return Ok(());
        }
        answer::<Value>(r, &format!("subscribing to {kind}"))
            .await
            .map(|_| ())
    }

    /// Sends a chat message in `broadcaster`'s channel as the broadcaster,
    /// with the channel's own token (scope `user:write:chat`). Twitch may
    /// drop a message (AutoMod, a chat setting); its reason is the error.
    pub async fn send_chat(
        &self,
        broadcaster: &str,
        user_token: &str,
        text: &str,
    ) -> Result<(), AppError> {
        let response = self
            .http
            .post(format!(
                "{}/chat/messages",
                self.creds.api_url.trim_end_matches('/')
            ))
            .bearer_auth(user_token)
            .header("Client-Id", &self.creds.client_id)
            .json(
                &json!({"broadcaster_id": broadcaster, "sender_id": broadcaster, "message": text}),
            )
            .send()
            .await?;
        let answer: Data<Value> = answer(response, "Send Chat Message").await?;
        match answer.data.first() {
            Some(sent) if sent["is_sent"] == false => Err(AppError::Status {
                status: 200,
                what: "Send Chat Message".into(),
                message: sent["drop_reason"]["message"]
                    .as_str()
                    .unwrap_or("dropped")
                    .to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// Every follower of `broadcaster`, read with the channel's own token
    /// (Twitch lists followers only to the broadcaster or a moderator).
    pub async fn followers(
        &self,
        broadcaster: &str,
        user_token: &str,
    ) -> Result<Vec<Follower>, AppError> {
        self.user_pages(
            "/channels/followers",
            broadcaster,
            user_token,
            "Get Channel Followers",
        )
        .await
    }

    /// Every subscriber of `broadcaster` (Get Broadcaster Subscriptions;
    /// the token needs `channel:read:subscriptions`).
    pub async fn subscribers(
        &self,
        broadcaster: &str,
        user_token: &str,
    ) -> Result<Vec<Subscriber>, AppError> {
        self.user_pages(
            "/subscriptions",
            broadcaster,
            user_token,
            "Get Broadcaster Subscriptions",
        )
        .await
    }

    /// Every VIP of `broadcaster` (Get VIPs; `channel:read:vips`).
    pub async fn vips(
        &self,
        broadcaster: &str,
        user_token: &str,
    ) -> Result<Vec<UserRef>, AppError> {
        self.user_pages("/channels/vips", broadcaster, user_token, "Get VIPs")
            .await
    }

    /// Every moderator of `broadcaster` (Get Moderators; `moderation:read`).
    pub async fn moderators(
        &self,
        broadcaster: &str,
        user_token: &str,
    ) -> Result<Vec<UserRef>, AppError> {
        self.user_pages(
            "/moderation/moderators",
            broadcaster,
            user_token,
            "Get Moderators",
        )
        .await
    }

    /// Every ban and timeout in force in `broadcaster`'s chat (Get Banned
    /// Users; `moderation:read`).
    pub async fn banned(
        &self,
        broadcaster: &str,
        user_token: &str,
    ) -> Result<Vec<BannedUser>, AppError> {
        self.user_pages(
            "/moderation/banned",
            broadcaster,
            user_token,
            "Get Banned Users",
        )
        .await
    }

    /// Every page of a Helix list about `broadcaster`, read with the
    /// channel's own token: these lists are shown only to the broadcaster
    /// (or a moderator), never to the app.
    async fn user_pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        broadcaster: &str,
        user_token: &str,
        what: &str,
    ) -> Result<Vec<T>, AppError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut url = format!(
                "{}{path}?broadcaster_id={}&first=100",
                self.creds.api_url.trim_end_matches('/'),
                enc(broadcaster)
            );
            if let Some(cursor) = &after {
                url.push_str(&format!("&after={}", enc(cursor)));
            }
            let r = self
                .http
                .get(url)
                .bearer_auth(user_token)
                .header("Client-Id", &self.creds.client_id)
                .send()
                .await?;
            let page: Page<T> = answer(r, what).await?;
            out.extend(page.data);
            match page.pagination.and_then(|p| p.cursor) {
                Some(c) if !c.is_empty() => after = Some(c),
                _ => return Ok(out),
            }
        }
    }
}

#[derive(Deserialize)]
struct Data<T> {
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(default)]
    cursor: Option<String>,
}

fn first<T>(items: Vec<T>, what: &str) -> Result<T, AppError> {
    items.into_iter().next().ok_or_else(|| AppError::Answer {
        what: what.to_owned(),
        why: "no data".into(),
    })
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Reads a successful answer as `T`, or the error Twitch gave.
async fn answer<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> Result<T, AppError> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        return Err(AppError::Status {
            status: status.as_u16(),
            what: what.to_owned(),
            message,
        });
    }
    serde_json::from_str(&text).map_err(|e| AppError::Answer {
        what: what.to_owned(),
        why: e.to_string(),
    })
}
