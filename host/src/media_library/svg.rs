//! SVG uploads: an SVG is a document that can run script and fetch other
//! resources, so one is accepted only when, parsed as XML (`roxmltree`,
//! never patterns over the text), it can do neither: no script or
//! foreign content, no event handler attributes, no reference outside the
//! file itself (links and `url()` point at `#fragments`, embedded images
//! are inline PNG/JPEG/GIF/WebP), no style sheet import, no DOCTYPE (its
//! entities can expand without bound or name outside files) and no
//! processing instructions (`<?xml-stylesheet?>` loads a style sheet).
//! Anything else is refused with the reason, not silently rewritten: the
//! streamer learns what was wrong and the stored file is the one uploaded.

use roxmltree::{Document, Node, NodeType, ParsingOptions};

/// The SVG namespace, which the root element must be in for a browser to
/// render the file as SVG.
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// More XML nodes than any alert graphic needs; bounds the parser's memory.
pub const MAX_SVG_NODES: u32 = 200_000;

/// Elements that run script, embed other documents or hand events to code,
/// compared by local name in any namespace, ignoring case.
const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script",
    "foreignobject",
    "handler",
    "listener",
    "iframe",
    "frame",
    "frameset",
    "embed",
    "object",
    "applet",
    "base",
    "meta",
    "link",
    "audio",
    "video",
];

/// Animation elements, whose `attributeName` could turn a harmless link
/// into `javascript:` or add an event handler.
const ANIMATION_ELEMENTS: &[&str] = &[
    "animate",
    "set",
    "animatetransform",
    "animatemotion",
    "animatecolor",
];

/// Inline images an SVG may embed (`href="data:image/png;base64,…"`).
const INLINE_IMAGE_PREFIXES: &[&str] = &[
    "data:image/png",
    "data:image/jpeg",
    "data:image/gif",
    "data:image/webp",
];

/// Why an SVG was refused: a sentence for the streamer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SVG refused: {0}")]
pub struct SvgRefusal(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, SvgRefusal> {
    Err(SvgRefusal(why.into()))
}

/// Whether `bytes` look like an SVG document (markup naming an `<svg`
/// element near its start), so that [`check`] decides about them.
pub fn looks_like_svg(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return false;
    };
    let head = &bytes[start..bytes.len().min(start + 8192)];
    head.starts_with(b"<") && head.windows(4).any(|w| w.eq_ignore_ascii_case(b"<svg"))
}

/// Accepts an SVG that can neither run script nor load anything; the
/// refusal names the first thing found that could.
pub fn check(bytes: &[u8]) -> Result<(), SvgRefusal> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return refuse("an SVG must be UTF-8 text");
    };
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_SVG_NODES,
        ..ParsingOptions::default()
    };
    let document = match Document::parse_with_options(text, options) {
        Ok(d) => d,
        Err(roxmltree::Error::DtdDetected) => {
            return refuse(
                "it has a <!DOCTYPE>, whose entities can expand without bound or name other files; \
                 remove the DOCTYPE line (browsers do not need it)",
            );
        }
        Err(roxmltree::Error::NodesLimitReached) => {
            return refuse(format!("it has more than {MAX_SVG_NODES} XML nodes"));
        }
        Err(e) => return refuse(format!("it is not well-formed XML: {e}")),
    };
    let root = document.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some(SVG_NAMESPACE) {
        return refuse(format!(
            "the root element must be <svg xmlns=\"{SVG_NAMESPACE}\">, not <{}>",
            root.tag_name().name()
        ));
    }
    for node in document.root().descendants() {
        match node.node_type() {
            NodeType::PI => {
                return refuse(
                    "it has a processing instruction (<?…?>), which can load a style sheet",
                );
            }
            NodeType::Element => check_element(node)?,
            NodeType::Root | NodeType::Comment | NodeType::Text => {}
        }
    }
    Ok(())
}

fn check_element(node: Node) -> Result<(), SvgRefusal> {
    let name = node.tag_name().name();
    let lower = name.to_ascii_lowercase();
    if FORBIDDEN_ELEMENTS.contains(&lower.as_str()) {
        return refuse(format!(
            "it has a <{name}> element, which can run script or load other content"
        ));
    }
    for attribute in node.attributes() {
        let attr = attribute.name();
        let value = attribute.value();
        let attr_lower = attr.to_ascii_lowercase();
        if attr_lower.starts_with("on") {
            return refuse(format!(
                "<{name}> has the event handler attribute {attr}, which runs script"
            ));
        }
        if attr_lower == "href" || attr_lower == "src" {
            check_reference(name, attr, value)?;
        }
        if attr_lower == "style" {
            check_css(value).map_err(|why| SvgRefusal(format!("<{name} style>: {why}")))?;
        } else {
            check_url_functions(value)
                .map_err(|why| SvgRefusal(format!("<{name} {attr}>: {why}")))?;
        }
        if ANIMATION_ELEMENTS.contains(&lower.as_str()) && attr_lower == "attributename" {
            let target = value
                .rsplit(':')
                .next()
                .unwrap_or(value)
                .trim()
                .to_ascii_lowercase();
            if target == "href" || target == "src" || target.starts_with("on") {
                return refuse(format!(
                    "<{name}> animates {value}, which could make a link run script"
                ));
            }
        }
    }
    if lower == "style" {
        let css: String = node
            .children()
            .filter(|child| child.is_text())
            .filter_map(|child| child.text())
            .collect();
        check_css(&css).map_err(|why| SvgRefusal(format!("<style>: {why}")))?;
    }
    Ok(())
}

/// A link or image source: within the file (`#id`, or empty: the file
/// itself) or an inline image.
fn check_reference(element: &str, attr: &str, value: &str) -> Result<(), SvgRefusal> {
    let trimmed = value.trim();
    let lower = trimmed.to_ascii_lowercase();
    let inline_image = INLINE_IMAGE_PREFIXES.iter().any(|prefix| {
        lower
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(';') || rest.starts_with(','))
    });
    if trimmed.is_empty() || trimmed.starts_with('#') || inline_image {
        return Ok(());
    }
    refuse(format!(
        "<{element}> has {attr}={:?}, a reference outside the file; only #fragments and inline \
         data:image/png, jpeg, gif or webp are allowed",
        shorten(trimmed)
    ))
}

/// Style sheet text (a `<style>` element or a `style` attribute): no
/// imports, no escapes (which could spell `url(` otherwise), no
/// `image-set()` (which takes bare strings) and `url()` only to fragments.
fn check_css(css: &str) -> Result<(), String> {
    let lower = css.to_ascii_lowercase();
    if lower.contains("@import") {
        return Err("@import loads another style sheet".into());
    }
    if css.contains('\\') {
        return Err("CSS escapes (\\) are not accepted".into());
    }
    if lower.contains("image-set(") {
        return Err("image-set() loads images from elsewhere".into());
    }
    check_url_functions(css)
}

/// Every `url(…)` in `text` must point at a fragment of this file.
fn check_url_functions(text: &str) -> Result<(), String> {
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let argument = rest.trim_start().trim_start_matches(['"', '\'']);
        if !argument.starts_with('#') {
            let shown: String = argument.chars().take_while(|c| *c != ')').collect();
            return Err(format!(
                "url({}) refers outside the file; only url(#id) is allowed",
                shorten(&shown)
            ));
        }
    }
    Ok(())
}

/// At most 80 characters of a value, for a message.
fn shorten(value: &str) -> String {
    if value.chars().count() <= 80 {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(80).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(body: &str) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">{body}</svg>"#
        )
    }

    fn refusal(text: &str) -> String {
        match check(text.as_bytes()) {
            Err(SvgRefusal(why)) => why,
            Ok(()) => panic!("accepted: {text}"),
        }
    }

    #[test]
    fn a_plain_drawing_with_gradients_links_and_inline_images_is_accepted() {
        let body = r##"
            <defs>
              <linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient>
              <style>.a { fill: url(#g); opacity: .5 }</style>
            </defs>
            <!-- a comment -->
            <rect class="a" width="10" height="10" style="fill: url('#g')" filter="url(#g)"/>
            <use href="#g"/><use xlink:href="#g"/>
            <image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>
            <a href="#top"><text>hi</text></a>
            <animate attributeName="opacity" from="0" to="1" dur="1s"/>
        "##;
        assert_eq!(check(svg(body).as_bytes()), Ok(()));
        let with_declaration = format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
            svg("")
        );
        assert_eq!(check(with_declaration.as_bytes()), Ok(()));
        assert!(looks_like_svg(with_declaration.as_bytes()));
    }

    #[test]
    fn script_is_refused_in_any_namespace_or_case() {
        assert!(refusal(&svg("<script>alert(1)</script>")).contains("<script>"));
        assert!(
            refusal(&svg(
                r#"<h:script xmlns:h="http://www.w3.org/1999/xhtml">x</h:script>"#
            ))
            .contains("<script>")
        );
        assert!(refusal(&svg("<SCRIPT>alert(1)</SCRIPT>")).contains("SCRIPT"));
        assert!(
            refusal(&svg(r#"<handler type="text/ecmascript">x</handler>"#)).contains("handler")
        );
    }

    #[test]
    fn event_handler_attributes_are_refused() {
        let why = refusal(&svg(r#"<rect onclick="alert(1)"/>"#));
        assert!(
            why.contains("onclick") && why.contains("event handler"),
            "{why}"
        );
        let root = r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#;
        assert!(refusal(root).contains("onload"));
        assert!(refusal(&svg(r#"<rect ONMOUSEOVER="x()"/>"#)).contains("ONMOUSEOVER"));
    }

    #[test]
    fn foreign_object_is_refused() {
        let why = refusal(&svg(
            r#"<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>"#,
        ));
        assert!(why.contains("foreignObject"), "{why}");
    }

    #[test]
    fn references_outside_the_file_are_refused() {
        for body in [
            r#"<image href="https://tracker.example/pixel.png"/>"#,
            r#"<image xlink:href="http://127.0.0.1:9/x.png"/>"#,
            r#"<use href="other.svg#shape"/>"#,
            r#"<a href="javascript:alert(1)"><text>x</text></a>"#,
            r#"<a xlink:href=" JAVASCRIPT:alert(1)"><text>x</text></a>"#,
            r#"<image href="data:text/html,&lt;script&gt;"/>"#,
            r#"<image href="data:image/svg+xml;base64,PHN2Zz4="/>"#,
            r#"<image href="//evil.example/x.png"/>"#,
        ] {
            let why = refusal(&svg(body));
            assert!(why.contains("outside the file"), "{body}: {why}");
        }
    }

    #[test]
    fn style_sheets_that_load_or_import_are_refused() {
        for (body, needle) in [
            (
                "<style>@import url(https://x.example/a.css);</style>",
                "@import",
            ),
            (r#"<style>@IMPORT "a.css";</style>"#, "@import"),
            (
                "<style>rect { fill: url(https://x.example/p.svg#a) }</style>",
                "url(",
            ),
            (
                "<style><![CDATA[ rect { background: URL( 'http://x/' ) } ]]></style>",
                "url(",
            ),
            (
                r"<style>rect { background: u\72l(http://x/) }</style>",
                "escapes",
            ),
            (
                "<style>rect { background: image-set('x.png' 1x) }</style>",
                "image-set",
            ),
            ("<style>@font-face { src: url(f.woff) }</style>", "url("),
            (r#"<rect style="background: url(//x/y)"/>"#, "url("),
            (r#"<rect fill="url(https://x/p.svg#g)"/>"#, "url("),
        ] {
            let why = refusal(&svg(body));
            assert!(why.contains(needle), "{body}: {why}");
        }
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>"#;
        assert!(refusal(laughs).contains("DOCTYPE"));
        let external = r#"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>"#;
        assert!(refusal(external).contains("DOCTYPE"));
        let xxe = r#"<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>"#;
        assert!(refusal(xxe).contains("DOCTYPE"));
        let undeclared = svg("<text>&x;</text>");
        assert!(refusal(&undeclared).contains("not well-formed"));
    }

    #[test]
    fn processing_instructions_are_refused() {
        let sheet = format!(
            "<?xml-stylesheet href=\"https://x.example/a.css\"?>{}",
            svg("")
        );
        assert!(refusal(&sheet).contains("processing instruction"));
    }

    #[test]
    fn animating_a_link_or_a_handler_is_refused() {
        for body in [
            r##"<a href="#x"><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>"##,
            r#"<a><animate attributeName="xlink:href" values="javascript:alert(1)"/></a>"#,
            r#"<rect><set attributeName="onclick" to="alert(1)"/></rect>"#,
        ] {
            let why = refusal(&svg(body));
            assert!(why.contains("animates"), "{body}: {why}");
        }
    }

    #[test]
    fn other_documents_and_broken_xml_are_refused() {
        assert!(refusal("<html><body>hi</body></html>").contains("root element"));
        assert!(
            refusal(r#"<svg width="1"/>"#).contains("root element"),
            "no SVG namespace"
        );
        assert!(refusal(&svg("<rect>")).contains("not well-formed"));
        assert!(refusal("<svg").contains("not well-formed"));
        let mut latin1 = svg("<text>x</text>").into_bytes();
        latin1.push(0xE9);
        assert!(matches!(check(&latin1), Err(SvgRefusal(why)) if why.contains("UTF-8")));
    }

    #[test]
    fn svg_is_recognised_only_from_markup_naming_svg() {
        assert!(looks_like_svg(
            b"  <svg xmlns='http://www.w3.org/2000/svg'/>"
        ));
        assert!(looks_like_svg(b"<?xml version='1.0'?><!-- x --><SVG/>"));
        assert!(!looks_like_svg(b"<html></html>"));
        assert!(!looks_like_svg(b"svg"));
        assert!(!looks_like_svg(b""));
    }
}
