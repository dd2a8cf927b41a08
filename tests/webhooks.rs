//! End-to-end: inbound webhooks. Ko-fi's documented form at `/hooks/kofi`
//! (checked against `STAGEHAND_KOFI_TOKEN`) and signed JSON at
//! `/hooks/{name}` become `external` events, stored once per id and alerted
//! by alert-box; every refusal stores nothing; `/hooks/` is the only place
//! reachable without the API token.

mod support;

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::overlay::Overlay;
use support::{Host, anonymous, client, error_code, get_json, install_plugin};

const WAIT: Duration = Duration::from_secs(15);
const KOFI_TOKEN: &str = "3f1a8a6e-kofi-verification-token";
const DEPLOYS_SECRET: &str = "deploys-secret-0123456789";
const TIPS_SECRET: &str = "tips-secret-0123456789abc";

/// The host's config file: a hook for deploy notices (any JSON) and one
/// for a tip service whose JSON maps to donations.
const CONFIG: &str = r#"
[hooks.deploys]
secret = "deploys-secret-0123456789"

[hooks.tips]
secret = "tips-secret-0123456789abc"
kind = "donation"
[hooks.tips.fields]
username = "donor.name"
amount = "payment.amount"
currency = "payment.currency"
message = "note"
is_public = "public"
"#;

/// A host with alert-box, Ko-fi's token and [`CONFIG`].
fn host(dir: &std::path::Path) -> Host {
    install_plugin(dir, "alert-box");
    let config = dir.join("stagehand.toml");
    std::fs::write(&config, CONFIG).unwrap();
    Host::start(
        dir,
        "run",
        &[
            ("STAGEHAND_KOFI_TOKEN", KOFI_TOKEN),
            ("STAGEHAND_CONFIG", config.to_str().unwrap()),
        ],
    )
}

/// Ko-fi's documented sample payment (a public single donation).
fn kofi_sample() -> Value {
    json!({
        "verification_token": KOFI_TOKEN,
        "message_id": "3a1fac0c-f960-4506-a60e-824979a74e74",
        "timestamp": "2022-08-21T13:04:30Z",
        "type": "Donation",
        "is_public": true,
        "from_name": "Ko-fi Team",
        "message": "Good luck with the integration!",
        "amount": "3.00",
        "url": "https://ko-fi.com/Home/CoffeeShop?txid=00000000-1111-2222-3333-444444444444",
        "email": "someone@example.com",
        "currency": "USD",
        "is_subscription_payment": false,
        "is_first_subscription_payment": false,
        "kofi_transaction_id": "00000000-1111-2222-3333-444444444444",
        "shop_items": null,
        "tier_name": null,
        "shipping": null
    })
}

/// The sample with `changes` applied (a null removes a field).
fn kofi_with(changes: Value) -> Value {
    let mut data = kofi_sample();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            data.as_object_mut().unwrap().remove(k);
        } else {
            data[k] = v.clone();
        }
    }
    data
}

/// POSTs a form body to `/hooks/kofi` as Ko-fi does: no API token.
async fn post_kofi_raw(host: &Host, body: String) -> reqwest::Response {
    anonymous()
        .post(host.url("/hooks/kofi"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post_kofi(host: &Host, data: &Value) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("data", &data.to_string())
        .finish();
    post_kofi_raw(host, body).await
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs `body` to `/hooks/{name}` with `signature` (if any), no API token.
async fn post_hook(
    host: &Host,
    name: &str,
    body: &str,
    signature: Option<&str>,
    id: Option<&str>,
) -> reqwest::Response {
    let mut request = anonymous()
        .post(host.url(&format!("/hooks/{name}")))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-stagehand-signature", signature);
    }
    if let Some(id) = id {
        request = request.header("x-stagehand-event-id", id);
    }
    request.send().await.unwrap()
}

async fn events(host: &Host, kind: &str) -> Vec<Value> {
    get_json(host, &format!("/api/events?limit=500&kind={kind}")).await
}

/// The raw `/api/events` answer, for checking what it never contains.
async fn all_events_text(host: &Host) -> String {
    client()
        .get(host.url("/api/events?limit=500"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn hook_status(host: &Host, name: &str) -> Value {
    let status: Value = get_json(host, "/api/hooks").await;
    status["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

/// Waits until the overlay shows an alert and acknowledges it.
async fn next_alert(overlay: &mut Overlay) -> Value {
    let alert = overlay.alert(WAIT).await;
    overlay.ack(&alert).await;
    alert
}

#[tokio::test]
async fn kofis_sample_payment_is_stored_once_and_alerted() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    let mut overlay = Overlay::connect(&host.base, "alerts").await;

    let resp = post_kofi(&host, &kofi_sample()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": "kofi:3a1fac0c-f960-4506-a60e-824979a74e74", "status": "stored"})
    );

    let stored = events(&host, "donation").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let event = &stored[0];
    assert_eq!(event["source"], "external");
    assert_eq!(event["occurred_at"], "2022-08-21T13:04:30.000Z");
    assert_eq!(
        event["details"],
        json!({
            "username": "Ko-fi Team",
            "amount": "3.00",
            "currency": "USD",
            "message": "Good luck with the integration!",
            "is_public": true,
            "source": "kofi",
            "donation_type": "Donation",
            "tier_name": "",
        })
    );
    let text = all_events_text(&host).await;
    for never_kept in ["someone@example.com", "kofi_transaction_id", "txid"] {
        assert!(!text.contains(never_kept), "{never_kept} was kept: {text}");
    }

    let alert = next_alert(&mut overlay).await;
    assert_eq!(alert["title"], "Ko-fi Team tipped 3.00 USD!");
    assert_eq!(alert["message"], "Good luck with the integration!");
    assert_eq!(alert["plugin"], "alert-box");

    // Ko-fi retries with the same message_id until it gets a 200: the
    // repeat is answered 200 and stored no second time.
    let resp = post_kofi(&host, &kofi_sample()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "duplicate");
    assert_eq!(events(&host, "donation").await.len(), 1);

    // A bigger tip picks alert-box's built-in step by amount.
    let big = kofi_with(json!({"message_id": "big-one", "amount": "20.00", "from_name": "Mara"}));
    assert_eq!(post_kofi(&host, &big).await.status(), 200);
    let alert = next_alert(&mut overlay).await;
    assert_eq!(alert["title"], "Mara tipped 20.00 USD! Wow, thank you!");

    let status = hook_status(&host, "kofi").await;
    assert_eq!(status["configured"], true);
    assert_eq!(status["received"], 3);
    assert_eq!(status["accepted"], 3);
    assert_eq!(status["duplicates"], 1);
    assert_eq!(status["refused"], json!({}));
    assert!(status["last_event_at"].is_string(), "{status}");
    host.stop();
}

#[tokio::test]
async fn a_private_donation_is_stored_and_alerted_without_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let private = kofi_with(json!({
        "message_id": "private-1",
        "is_public": false,
        "message": "only for the streamer's eyes",
        "amount": "7.50",
    }));
    assert_eq!(post_kofi(&host, &private).await.status(), 200);

    let stored = events(&host, "donation").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["details"]["is_public"], false);
    assert_eq!(stored[0]["details"]["message"], "");
    assert!(!all_events_text(&host).await.contains("streamer's eyes"));

    let alert = next_alert(&mut overlay).await;
    assert_eq!(alert["title"], "Ko-fi Team tipped 7.50 USD! Thank you!");
    assert!(!alert.to_string().contains("streamer's eyes"), "{alert}");
    host.stop();
}

#[tokio::test]
async fn a_wrong_or_missing_kofi_token_is_refused_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    let cases = [
        kofi_with(json!({"verification_token": "3f1a8a6e-kofi-verification-tokem"})),
        kofi_with(json!({"verification_token": null})),
        kofi_with(json!({"verification_token": ""})),
    ];
    for data in &cases {
        let resp = post_kofi(&host, data).await;
        assert_eq!(
            error_code(resp).await,
            (401, "unauthorized".into()),
            "{data}"
        );
    }
    // The API token does not stand in for Ko-fi's.
    let resp = client()
        .post(host.url("/hooks/kofi"))
        .form(&[("data", cases[0].to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (401, "unauthorized".into()));

    assert!(events(&host, "donation").await.is_empty());
    let status = hook_status(&host, "kofi").await;
    assert_eq!(status["accepted"], 0);
    assert_eq!(status["refused"], json!({"unauthorized": 4}));
    let last_error = status["last_error"].as_str().unwrap();
    assert!(last_error.contains("verification_token"), "{last_error}");
    assert!(!status.to_string().contains(KOFI_TOKEN), "{status}");
    host.stop();
}

#[tokio::test]
async fn without_a_kofi_token_the_route_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let resp = post_kofi(&host, &kofi_sample()).await;
    let unconfigured: Value = resp.json().await.unwrap();
    let resp = post_hook(&host, "nothing-here", "{}", None, None).await;
    assert_eq!(resp.status(), 404);
    let unknown: Value = resp.json().await.unwrap();
    // Answered exactly as any unknown hook: nothing tells them apart.
    assert_eq!(
        unconfigured["error"]["code"], unknown["error"]["code"],
        "{unconfigured} {unknown}"
    );
    assert_eq!(unconfigured["error"]["code"], "not_found");
    assert!(events(&host, "donation").await.is_empty());
    let status = hook_status(&host, "kofi").await;
    assert_eq!(status["configured"], false);
    assert_eq!(status["received"], 0);
    host.stop();
}

#[tokio::test]
async fn bodies_that_are_not_kofis_form_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    let form = |data: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("data", data)
            .finish()
    };
    let cases = [
        (String::new(), "body is empty"),
        ("payload=1".to_owned(), "no `data` field"),
        (form("{not json"), "not JSON"),
        (form("[1, 2]"), "JSON object"),
        (
            form(&kofi_with(json!({"amount": "three dollars"})).to_string()),
            "not a decimal number",
        ),
        (
            form(&kofi_with(json!({"message_id": null})).to_string()),
            "no message_id",
        ),
    ];
    for (body, reason) in cases {
        let resp = post_kofi_raw(&host, body.clone()).await;
        assert_eq!(resp.status(), 400, "{body}");
        let answer: Value = resp.json().await.unwrap();
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{body}: {message}");
    }
    assert!(events(&host, "donation").await.is_empty());
    assert_eq!(
        hook_status(&host, "kofi").await["refused"],
        json!({"malformed": 6})
    );
    host.stop();
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_any_hook_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    let huge = "x".repeat(70 * 1024);
    let data = kofi_with(json!({"message": huge}));
    let resp = post_kofi(&host, &data).await;
    assert_eq!(error_code(resp).await, (413, "too_large".into()));
    let body = json!({"id": "big", "padding": huge}).to_string();
    let signature = sign(DEPLOYS_SECRET, body.as_bytes());
    let resp = post_hook(&host, "deploys", &body, Some(&signature), None).await;
    assert_eq!(error_code(resp).await, (413, "too_large".into()));
    assert!(events(&host, "donation").await.is_empty());
    assert!(events(&host, "hook.deploys").await.is_empty());
    host.stop();
}

#[tokio::test]
async fn generic_hooks_take_signed_json_once_per_id() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());

    let body = json!({"id": "deploy-41", "service": "site", "status": "green"}).to_string();
    let signature = sign(DEPLOYS_SECRET, body.as_bytes());
    let resp = post_hook(&host, "deploys", &body, Some(&signature), None).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"id": "hook:deploys:deploy-41", "status": "stored"})
    );
    let stored = events(&host, "hook.deploys").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["source"], "external");
    assert_eq!(stored[0]["details"]["status"], "green");

    // The same id again: answered, stored once.
    let resp = post_hook(&host, "deploys", &body, Some(&signature), None).await;
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["status"], "duplicate");
    // The header names the id when the body has none.
    let plain = json!({"status": "red"}).to_string();
    let signature = sign(DEPLOYS_SECRET, plain.as_bytes());
    for expected in ["stored", "duplicate"] {
        let resp = post_hook(&host, "deploys", &plain, Some(&signature), Some("run-7")).await;
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(answer["status"], expected);
    }
    assert_eq!(events(&host, "hook.deploys").await.len(), 2);

    // A hook mapped to donations makes typed donations, alerted like Ko-fi's.
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let tip = json!({
        "id": 9001,
        "donor": {"name": "Ines", "email": "ines@example.com"},
        "payment": {"amount": "120.00", "currency": "EUR"},
        "note": "for the new mic",
        "public": true,
    })
    .to_string();
    let resp = post_hook(
        &host,
        "tips",
        &tip,
        Some(&sign(TIPS_SECRET, tip.as_bytes())),
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let donations = events(&host, "donation").await;
    assert_eq!(donations.len(), 1);
    assert_eq!(donations[0]["id"], "hook:tips:9001");
    assert_eq!(donations[0]["details"]["username"], "Ines");
    assert_eq!(donations[0]["details"]["amount"], "120.00");
    assert_eq!(donations[0]["details"]["source"], "tips");
    assert!(!all_events_text(&host).await.contains("ines@example.com"));
    let alert = next_alert(&mut overlay).await;
    assert_eq!(alert["title"], "Ines tipped 120.00 EUR! THANK YOU!");
    assert_eq!(alert["message"], "for the new mic");

    let status = hook_status(&host, "deploys").await;
    assert_eq!(status["kind"], "hook.deploys");
    assert_eq!(
        (status["accepted"].as_u64(), status["duplicates"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(hook_status(&host, "tips").await["kind"], "donation");
    host.stop();
}

#[tokio::test]
async fn a_bad_or_missing_signature_or_an_unknown_hook_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    let body = json!({"id": "x1", "status": "green"}).to_string();
    let good = sign(DEPLOYS_SECRET, body.as_bytes());
    let cases = [
        (None, "no X-Stagehand-Signature"),
        (Some(sign(TIPS_SECRET, body.as_bytes())), "does not match"),
        (
            Some(sign(DEPLOYS_SECRET, b"another body")),
            "does not match",
        ),
        (
            Some(good.trim_start_matches("sha256=").to_owned()),
            "sha256=",
        ),
        (Some("sha256=not-hex".to_owned()), "not hexadecimal"),
    ];
    for (signature, reason) in cases {
        let resp = post_hook(&host, "deploys", &body, signature.as_deref(), None).await;
        assert_eq!(resp.status(), 401, "{signature:?}");
        let answer: Value = resp.json().await.unwrap();
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{signature:?}: {message}");
    }
    // A good signature on a hook that does not exist: 404, as any route.
    let resp = post_hook(&host, "deploy", &body, Some(&good), None).await;
    assert_eq!(error_code(resp).await, (404, "not_found".into()));
    // A signed body that is not JSON: 400.
    let resp = post_hook(
        &host,
        "deploys",
        "not json",
        Some(&sign(DEPLOYS_SECRET, b"not json")),
        None,
    )
    .await;
    assert_eq!(error_code(resp).await, (400, "bad_request".into()));
    // A signed tip without an amount: 400 naming the field.
    let tip = json!({"payment": {"currency": "EUR"}}).to_string();
    let resp = post_hook(
        &host,
        "tips",
        &tip,
        Some(&sign(TIPS_SECRET, tip.as_bytes())),
        None,
    )
    .await;
    assert_eq!(resp.status(), 400);
    let answer: Value = resp.json().await.unwrap();
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("amount"),
        "{answer}"
    );

    assert!(events(&host, "hook.deploys").await.is_empty());
    assert!(events(&host, "donation").await.is_empty());
    let status = hook_status(&host, "deploys").await;
    assert_eq!(
        status["refused"],
        json!({"unauthorized": 5, "malformed": 1})
    );
    // Once past the signature the body is valid again: it goes through.
    assert_eq!(
        post_hook(&host, "deploys", &body, Some(&good), None)
            .await
            .status(),
        200
    );
    host.stop();
}

#[tokio::test]
async fn too_many_wrong_signatures_lock_out_hooks_but_not_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    let body = "{}";
    let wrong = sign("not-the-secret-0123456789", body.as_bytes());
    let mut statuses = Vec::new();
    for _ in 0..21 {
        statuses.push(
            post_hook(&host, "deploys", body, Some(&wrong), None)
                .await
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[20], 429);
    // Even a good signature waits out the window.
    let good = sign(DEPLOYS_SECRET, body.as_bytes());
    let resp = post_hook(&host, "deploys", body, Some(&good), None).await;
    assert_eq!(error_code(resp).await, (429, "too_many_failures".into()));
    // The dashboard's API from the same address is not locked out.
    let status = hook_status(&host, "deploys").await;
    assert_eq!(status["refused"]["rate_limited"], 2);
    assert!(events(&host, "hook.deploys").await.is_empty());
    host.stop();
}

#[tokio::test]
async fn only_hooks_are_reachable_without_the_api_token() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path());
    for (method, path) in [
        ("GET", "/api/hooks"),
        ("GET", "/api/events"),
        ("POST", "/api/events/test"),
        ("GET", "/api/plugins"),
        ("GET", "/api/overlays"),
        ("GET", "/api/live"),
        ("GET", "/api/eventsub"),
        ("POST", "/api/plugins/alert-box/reload"),
    ] {
        let resp = anonymous()
            .request(method.parse().unwrap(), host.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{method} {path}");
    }
    // Hooks answer without it (here: 401 for the missing Ko-fi token, not
    // for the API token).
    let resp = post_kofi(&host, &kofi_with(json!({"verification_token": null}))).await;
    let answer: Value = resp.json().await.unwrap();
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("verification_token")
    );
    // Only POST: nothing else lives under /hooks/.
    let resp = anonymous()
        .get(host.url("/hooks/kofi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);

    let status: Value = get_json(&host, "/api/hooks").await;
    let names: Vec<&str> = status["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kofi", "deploys", "tips"]);
    let text = status.to_string();
    for secret in [KOFI_TOKEN, DEPLOYS_SECRET, TIPS_SECRET] {
        assert!(!text.contains(secret), "{text}");
    }
    let log = host.stop();
    for secret in [KOFI_TOKEN, DEPLOYS_SECRET, TIPS_SECRET] {
        assert!(!log.contains(secret), "a secret in the log");
    }
}

#[tokio::test]
async fn the_demo_sends_donations_through_the_kofi_hook() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "demo", &[("STAGEHAND_DEMO_INTERVAL_MS", "50")]);
    support::twitch::eventually("a demo donation", || async {
        !events(&host, "donation").await.is_empty()
    })
    .await;
    let donation = &events(&host, "donation").await[0];
    assert_eq!(donation["source"], "external");
    assert_eq!(donation["details"]["source"], "kofi");
    assert!(
        donation["id"].as_str().unwrap().starts_with("kofi:"),
        "{donation}"
    );
    let status = hook_status(&host, "kofi").await;
    assert_eq!(status["configured"], true);
    assert!(status["accepted"].as_u64().unwrap() >= 1, "{status}");
    host.stop();
}
