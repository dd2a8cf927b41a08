//! End-to-end: the media library's API against a real host process.
//! `POST /api/media` (the file as the body, its `Content-Type`, an optional
//! `?name=`), `GET /api/media`, `DELETE /api/media/{id}`, and the public
//! `GET /media/{file}` serving what was uploaded. Every refusal is checked
//! with its status, error code and message, and leaves nothing behind.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;
use support::media;
use support::{Host, anonymous, client};

/// Uploads `bytes` declared as `content_type`, with `?name=` when given.
async fn upload(
    host: &Host,
    bytes: Vec<u8>,
    content_type: &str,
    name: Option<&str>,
) -> reqwest::Response {
    let mut request = client()
        .post(host.url("/api/media"))
        .header("Content-Type", content_type)
        .body(bytes);
    if let Some(name) = name {
        request = request.query(&[("name", name)]);
    }
    request.send().await.expect("POST /api/media")
}

/// Status, error code and message of a refusal (checking the JSON shape).
async fn refusal(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("a JSON error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    assert!(!message.is_empty(), "{body}");
    (status, code, message)
}

async fn library(host: &Host) -> Vec<Value> {
    support::get_json(host, "/api/media").await
}

/// The files in the media folder (hidden ones too).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn is_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[tokio::test]
async fn each_accepted_kind_is_stored_listed_and_served_as_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    // (bytes, declared type, display name, kind, listed type, extension)
    let uploads = [
        (
            media::png(4, 3, [255, 0, 0, 255]),
            "image/png",
            "red.png",
            "image",
            "image/png",
            "png",
        ),
        (
            media::jpeg(),
            "image/jpeg",
            "photo.jpg",
            "image",
            "image/jpeg",
            "jpg",
        ),
        (
            media::gif(),
            "image/gif",
            "dot.gif",
            "image",
            "image/gif",
            "gif",
        ),
        (
            media::webp(),
            "image/webp",
            "pic.webp",
            "image",
            "image/webp",
            "webp",
        ),
        (
            media::svg(),
            "image/svg+xml",
            "square.svg",
            "image",
            "image/svg+xml",
            "svg",
        ),
        (
            media::mp3_with_id3(),
            "audio/mpeg",
            "tagged.mp3",
            "sound",
            "audio/mpeg",
            "mp3",
        ),
        (
            media::mp3_frames(),
            "audio/mpeg",
            "bare.mp3",
            "sound",
            "audio/mpeg",
            "mp3",
        ),
        (
            media::ogg(),
            "audio/ogg",
            "horn.ogg",
            "sound",
            "audio/ogg",
            "ogg",
        ),
        (
            media::wav(200),
            "audio/wav",
            "ding.wav",
            "sound",
            "audio/wav",
            "wav",
        ),
        (
            media::webm(),
            "video/webm",
            "clip.webm",
            "video",
            "video/webm",
            "webm",
        ),
        (
            media::mp4(),
            "video/mp4",
            "clip.mp4",
            "video",
            "video/mp4",
            "mp4",
        ),
    ];
    let mut stored = Vec::new();
    for (bytes, declared, name, kind, listed_type, extension) in &uploads {
        let resp = upload(&host, bytes.clone(), declared, Some(name)).await;
        assert_eq!(resp.status(), 201, "{name}: {:?}", resp.text().await);
        let item: Value = resp.json().await.unwrap();
        let id = item["id"].as_str().expect("id").to_owned();
        assert!(is_id(&id), "{item}");
        assert_eq!(item["url"], format!("/media/{id}.{extension}"), "{item}");
        assert_eq!(item["name"], *name);
        assert_eq!(item["kind"], *kind);
        assert_eq!(item["content_type"], *listed_type);
        assert_eq!(item["bytes"], bytes.len());
        stored.push((id, bytes.clone(), *listed_type));
    }

    let listed = library(&host).await;
    assert_eq!(listed.len(), uploads.len());
    // Newest first: the reverse of the upload order.
    let listed_ids: Vec<&str> = listed.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = stored.iter().map(|(id, _, _)| id.as_str()).collect();
    expected.reverse();
    assert_eq!(listed_ids, expected);
    for item in &listed {
        for field in [
            "id",
            "url",
            "name",
            "content_type",
            "kind",
            "bytes",
            "uploaded_at",
        ] {
            assert!(!item[field].is_null(), "{field} missing in {item}");
        }
    }

    for (item, (id, bytes, listed_type)) in listed.iter().rev().zip(&stored) {
        let url = item["url"].as_str().unwrap();
        // Public: no token, as overlays load it.
        let resp = anonymous().get(host.url(url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let headers = resp.headers().clone();
        assert_eq!(headers["content-type"], *listed_type, "{url}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
        assert_eq!(&resp.bytes().await.unwrap()[..], &bytes[..], "{url}");

        let path = dir
            .path()
            .join("media")
            .join(url.trim_start_matches("/media/"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{id}");
    }
    let folder = std::fs::metadata(dir.path().join("media")).unwrap();
    assert_eq!(folder.permissions().mode() & 0o777, 0o700);

    // The folder is never listed.
    let resp = anonymous().get(host.url("/media/")).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // The metadata is in the database: a restart lists the same files.
    let mut host = host;
    host.kill();
    let host = Host::start(dir.path(), "run", &[]);
    assert_eq!(library(&host).await, listed);
}

#[tokio::test]
async fn refusals_say_what_is_wrong_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let png = media::png(2, 2, [0, 0, 255, 255]);

    // Content and declared type disagree.
    let (status, code, message) =
        refusal(upload(&host, png.clone(), "audio/mpeg", None).await).await;
    assert_eq!((status, code.as_str()), (415, "type_mismatch"), "{message}");
    assert!(
        message.contains("PNG") && message.contains("audio/mpeg"),
        "{message}"
    );

    // Not a format the library takes.
    for (bytes, declared, named) in [
        (
            b"just some text, not a picture".to_vec(),
            "image/png",
            "no recognised type",
        ),
        (
            b"%PDF-1.7\n%\xe2\xe3".to_vec(),
            "image/png",
            "application/pdf",
        ),
        (
            b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0".to_vec(),
            "image/bmp",
            "image/bmp",
        ),
    ] {
        let (status, code, message) = refusal(upload(&host, bytes, declared, None).await).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_media_type"),
            "{message}"
        );
        assert!(message.contains(named), "{message}");
    }

    // No media type declared.
    for declared in ["application/octet-stream", "text/plain"] {
        let (status, code, message) =
            refusal(upload(&host, png.clone(), declared, None).await).await;
        assert_eq!(
            (status, code.as_str()),
            (415, "unsupported_media_type"),
            "{message}"
        );
        assert!(message.contains("Content-Type"), "{message}");
    }
    let resp = client()
        .post(host.url("/api/media"))
        .body(png.clone())
        .send()
        .await
        .unwrap();
    let (status, code, _) = refusal(resp).await;
    assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));

    // An empty body.
    let (status, code, message) = refusal(upload(&host, Vec::new(), "image/png", None).await).await;
    assert_eq!((status, code.as_str()), (400, "empty_body"), "{message}");

    // Hostile SVGs.
    let svg = |body: &str| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">{body}</svg>"#
        )
        .into_bytes()
    };
    for (bytes, named) in [
        (svg("<script>alert(document.cookie)</script>"), "<script>"),
        (svg(r#"<rect width="9" height="9" onmouseover="alert(1)"/>"#), "onmouseover"),
        (
            svg(r#"<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p></foreignObject>"#),
            "foreignObject",
        ),
        (svg(r#"<image xlink:href="https://tracker.example/p.png"/>"#), "outside the file"),
        (svg(r#"<a href="javascript:alert(1)"><text>x</text></a>"#), "outside the file"),
        (svg("<style>@import url(https://x.example/a.css);</style>"), "@import"),
        (svg("<style>rect { fill: url(https://x.example/a.svg#p) }</style>"), "url("),
        (
            br#"<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>"#.to_vec(),
            "DOCTYPE",
        ),
    ] {
        let (status, code, message) = refusal(upload(&host, bytes, "image/svg+xml", None).await).await;
        assert_eq!((status, code.as_str()), (422, "unsafe_svg"), "{message}");
        assert!(message.contains(named), "{named}: {message}");
    }

    // Over its kind's size cap (images: 10 MiB).
    let mut huge = png.clone();
    huge.resize(10 * 1024 * 1024 + 1, 0);
    let (status, code, message) = refusal(upload(&host, huge, "image/png", None).await).await;
    assert_eq!((status, code.as_str()), (413, "too_large"), "{message}");
    assert!(message.contains("images are at most 10 MiB"), "{message}");

    // Over the upload route's cap (64 MiB), sent without a length: the host
    // counts it as it arrives and stops at the cap.
    let mebibyte = vec![0u8; 1024 * 1024];
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = std::iter::once(Ok(png.clone()))
        .chain((0..64).map(|_| Ok(mebibyte.clone())))
        .collect();
    let resp = client()
        .post(host.url("/api/media"))
        .header("Content-Type", "image/png")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("an answer, not a reset");
    let (status, code, message) = refusal(resp).await;
    assert_eq!((status, code.as_str()), (413, "too_large"), "{message}");
    assert!(
        message.contains(&(64 * 1024 * 1024).to_string()),
        "{message}"
    );

    // A display name with control characters, an unknown query parameter.
    let (status, code, message) =
        refusal(upload(&host, png.clone(), "image/png", Some("a\u{7}b.png")).await).await;
    assert_eq!((status, code.as_str()), (400, "bad_name"), "{message}");
    let resp = client()
        .post(host.url("/api/media?title=x"))
        .header("Content-Type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    let (status, code, _) = refusal(resp).await;
    assert_eq!((status, code.as_str()), (400, "bad_query"));

    // Deleting what is not there.
    for id in [
        "0123456789abcdef0123456789abcdef",
        "not-an-id",
        "..%2Fstagehand.db",
    ] {
        let resp = client()
            .delete(host.url(&format!("/api/media/{id}")))
            .send()
            .await
            .unwrap();
        let (status, code, message) = refusal(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (404, "not_found"),
            "{id}: {message}"
        );
    }

    // No token.
    let no_token = [
        anonymous()
            .post(host.url("/api/media"))
            .header("Content-Type", "image/png")
            .body(png.clone())
            .send()
            .await
            .unwrap(),
        anonymous()
            .get(host.url("/api/media"))
            .send()
            .await
            .unwrap(),
        anonymous()
            .delete(host.url("/api/media/0123456789abcdef0123456789abcdef"))
            .send()
            .await
            .unwrap(),
    ];
    for resp in no_token {
        let (status, code, _) = refusal(resp).await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"));
    }

    assert!(library(&host).await.is_empty(), "nothing was stored");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[tokio::test]
async fn a_deleted_file_is_gone_from_the_list_the_folder_and_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let resp = upload(&host, media::wav(100), "audio/wav", Some("ding.wav")).await;
    assert_eq!(resp.status(), 201);
    let kept: Value = upload(&host, media::gif(), "image/gif", None)
        .await
        .json()
        .await
        .unwrap();
    let item: Value = resp.json().await.unwrap();
    let (id, url) = (item["id"].as_str().unwrap(), item["url"].as_str().unwrap());
    assert_eq!(
        anonymous()
            .get(host.url(url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let resp = client()
        .delete(host.url(&format!("/api/media/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["deleted"].as_bool(), body["id"].as_str()),
        (Some(true), Some(id))
    );

    let resp = anonymous().get(host.url(url)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let listed = library(&host).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], kept["id"]);
    assert_eq!(
        files_in(dir.path()),
        [kept["url"].as_str().unwrap().trim_start_matches("/media/")]
    );
    let again = client()
        .delete(host.url(&format!("/api/media/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn files_dropped_in_by_hand_are_served_and_unfinished_uploads_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("media");
    std::fs::create_dir_all(&folder).unwrap();
    let png = media::png(1, 1, [0, 255, 0, 255]);
    std::fs::write(folder.join("boom.png"), &png).unwrap();
    // What a crash in the middle of an upload leaves.
    std::fs::write(folder.join(".upload-0123456789abcdef.tmp"), b"half a file").unwrap();

    let host = Host::start(dir.path(), "run", &[]);
    let resp = anonymous()
        .get(host.url("/media/boom.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(&resp.bytes().await.unwrap()[..], &png[..]);
    assert!(
        library(&host).await.is_empty(),
        "hand-dropped files are not library files"
    );
    assert_eq!(files_in(dir.path()), ["boom.png"]);
}
