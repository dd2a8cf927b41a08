//! Which media an overlay may show. A URL on another host is a way out: a
//! plugin could put viewers' data in it, and every overlay that loads it
//! tells that host the streamer's address. So an alert may only name media
//! the host serves itself (its `media/` folder and built-in assets), inline
//! `data:` media (which contact nobody), or https media on a host the
//! streamer granted the plugin (`media:<host>`; plain http is accepted for
//! a granted loopback host, a media server on the streamer's own machine).
//! The overlay page's
//! Content-Security-Policy is built from the same list, so custom HTML and
//! CSS cannot reach anywhere else either.

use std::collections::BTreeSet;

use crate::plugins::manifest::Permission;
use crate::plugins::quotas::MAX_MEDIA_URL;

/// The URL prefix of media served from the data directory's `media/`.
pub const MEDIA_PREFIX: &str = "/media/";
/// The URL prefix of media built into the host.
pub const ASSETS_PREFIX: &str = "/assets/";

/// The media hosts among `permissions`.
pub fn granted_hosts(permissions: &BTreeSet<Permission>) -> BTreeSet<String> {
    permissions
        .iter()
        .filter_map(|p| match p {
            Permission::Media(host) => Some(host.clone()),
            _ => None,
        })
        .collect()
}

/// Checks one media URL of an alert against the allowed `hosts`.
pub fn check_url(url: &str, hosts: &BTreeSet<String>) -> Result<(), String> {
    if url.len() > MAX_MEDIA_URL {
        return Err(format!(
            "media URL of {} bytes; at most {MAX_MEDIA_URL}",
            url.len()
        ));
    }
    if let Some(data) = url.strip_prefix("data:") {
        let ok = ["image/", "audio/", "video/"]
            .iter()
            .any(|t| data.starts_with(t));
        return if ok {
            Ok(())
        } else {
            Err("a data: media URL must hold an image, a sound or a video".into())
        };
    }
    if url.starts_with('/') && !url.starts_with("//") {
        let path = url.split(['?', '#']).next().unwrap_or_default();
        let served = path.starts_with(MEDIA_PREFIX) || path.starts_with(ASSETS_PREFIX);
        if !served || path.contains("..") || path.contains('\\') {
            return Err(format!(
                "media path {url:?} is not served by this host: use {MEDIA_PREFIX}<file> (the data directory's media folder)"
            ));
        }
        return Ok(());
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("media URL {url:?}: {e}"))?;
    let host_is_loopback = parsed.host_str().is_some_and(is_loopback);
    if !(parsed.scheme() == "https" || parsed.scheme() == "http" && host_is_loopback) {
        return Err(format!(
            "media URL {url:?} must be https, a data: URL or a path on this host"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("media URL {url:?} must not carry credentials"));
    }
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if hosts.contains(&host) {
        Ok(())
    } else {
        Err(format!(
            "media URL on {host}, which the streamer has not allowed: the plugin must ask for it in plugin.toml ([permissions] media = [\"{host}\"]) and be granted"
        ))
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The overlay page's Content-Security-Policy: its own scripts; styles,
/// fonts, images and media from this host, `data:`/`blob:` and the granted
/// `hosts` only (any port; http too for a loopback host); sockets back to
/// this host; framable by this host only.
pub fn overlay_csp(hosts: &BTreeSet<String>) -> String {
    let granted: String = hosts
        .iter()
        .map(|h| {
            if is_loopback(h) {
                format!(" https://{h}:* http://{h}:*")
            } else {
                format!(" https://{h}:*")
            }
        })
        .collect();
    format!(
        "default-src 'none'; script-src 'self'; \
         style-src 'self' 'unsafe-inline'{granted}; font-src 'self' data:{granted}; \
         img-src 'self' data: blob:{granted}; media-src 'self' data: blob:{granted}; \
         connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'self'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn media_the_host_serves_and_inline_media_pass() {
        let none = hosts(&[]);
        for url in [
            "/media/boom.png",
            "/media/a%20b.ogg?v=2",
            "/assets/overlay/media/follow.svg",
            "data:image/png;base64,AAAA",
            "data:audio/wav;base64,AAAA",
        ] {
            assert_eq!(check_url(url, &none), Ok(()), "{url}");
        }
    }

    #[test]
    fn other_hosts_need_a_grant_and_https() {
        let granted = hosts(&["cdn.example.com", "127.0.0.1"]);
        assert_eq!(check_url("https://cdn.example.com/a.gif", &granted), Ok(()));
        assert_eq!(
            check_url("https://CDN.example.com:8443/a.gif", &granted),
            Ok(())
        );
        // A media server on the streamer's own machine may be plain http.
        assert_eq!(check_url("http://127.0.0.1:8000/a.gif", &granted), Ok(()));
        let err = check_url("http://localhost/a.gif", &granted).unwrap_err();
        assert!(err.contains("not allowed"), "{err}");
        for (url, needle) in [
            ("https://evil.example/x.png?viewer=alice", "not allowed"),
            ("http://cdn.example.com/a.gif", "must be https"),
            ("//cdn.example.com/a.gif", "media URL"),
            ("https://user:pw@cdn.example.com/a.gif", "credentials"),
            ("/api/events", "not served"),
            ("/media/../stagehand.db", "not served"),
            ("data:text/html,<script>", "data:"),
            ("javascript:alert(1)", "must be https"),
        ] {
            let err = check_url(url, &granted).unwrap_err();
            assert!(err.contains(needle), "{url}: {err}");
        }
    }

    #[test]
    fn the_overlay_policy_lists_exactly_the_granted_hosts() {
        let csp = overlay_csp(&hosts(&["cdn.example.com"]));
        assert!(
            csp.contains("img-src 'self' data: blob: https://cdn.example.com:*;"),
            "{csp}"
        );
        let local = overlay_csp(&hosts(&["127.0.0.1"]));
        assert!(
            local.contains("media-src 'self' data: blob: https://127.0.0.1:* http://127.0.0.1:*;"),
            "{local}"
        );
        assert!(!csp.contains("https:;") && !csp.contains(" http:"), "{csp}");
        let bare = overlay_csp(&hosts(&[]));
        assert!(bare.contains("img-src 'self' data: blob:;"), "{bare}");
        assert!(bare.contains("style-src 'self' 'unsafe-inline';"), "{bare}");
        assert_eq!(bare, crate::web::assets::OVERLAY_CSP);
    }
}
