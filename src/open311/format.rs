//! GeoReport v2 bodies: one JSON value rendered as the spec's JSON or XML, and its error lists. Pure.

use serde_json::Value;

/// The two formats the spec names, chosen by the resource's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Split `services.json` into (`services`, Json); `None` for any other extension.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (stem, ext) = file.rsplit_once('.')?;
        let f = match ext {
            "json" => Format::Json,
            "xml" => Format::Xml,
            _ => return None,
        };
        (!stem.is_empty()).then_some((stem, f))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// The element name of each item of a list, by the list's element name (the spec's XML).
fn item_name(list: &str) -> &'static str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        _ => "item",
    }
}

/// Render `body` in `format`; `root` names the XML root (`services`, `service_requests`, …).
pub fn render(format: Format, root: &str, body: &Value) -> String {
    match format {
        Format::Json => body.to_string(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            element(&mut out, root, body);
            out
        }
    }
}

fn element(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Array(items) => {
            open(out, name);
            let child = item_name(name);
            for i in items {
                element(out, child, i);
            }
            close(out, name);
        }
        Value::Object(map) => {
            open(out, name);
            for (k, x) in map {
                element(out, k, x);
            }
            close(out, name);
        }
        Value::String(s) => {
            open(out, name);
            escape_into(out, s);
            close(out, name);
        }
        Value::Bool(b) => {
            open(out, name);
            out.push_str(if *b { "true" } else { "false" });
            close(out, name);
        }
        Value::Number(n) => {
            open(out, name);
            out.push_str(&n.to_string());
            close(out, name);
        }
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn escape_into(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            // Characters XML 1.0 cannot carry at all are dropped rather than breaking the document.
            _ => {}
        }
    }
}

/// XML 1.0's `Char`: tab, line feed, carriage return and everything from U+0020 except the
/// surrogates (which a Rust string cannot hold) and U+FFFE, U+FFFF.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The spec's error list: `[{code, description}]`, `code` being the HTTP status.
pub fn errors(status: u16, description: &str) -> Value {
    error_list([(status, description)])
}

/// Several errors in one list, in the order given.
pub fn error_list<'a>(items: impl IntoIterator<Item = (u16, &'a str)>) -> Value {
    items
        .into_iter()
        .map(|(code, description)| serde_json::json!({ "code": code, "description": description }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extensions_choose_the_format() {
        assert_eq!(Format::split("services.json"), Some(("services", Format::Json)));
        assert_eq!(Format::split("SQ03.xml"), Some(("SQ03", Format::Xml)));
        assert_eq!(Format::split("services.html"), None);
        assert_eq!(Format::split("services"), None);
        assert_eq!(Format::split(".json"), None);
    }

    #[test]
    fn xml_follows_the_spec_names_and_keeps_field_order() {
        let body = json!([{"service_code": "SQ03", "service_name": "飞线充电", "metadata": true, "keywords": null}]);
        assert_eq!(
            render(Format::Xml, "services", &body),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>SQ03</service_code>\
             <service_name>飞线充电</service_name><metadata>true</metadata><keywords/></service></services>"
        );
        let errs = render(Format::Xml, "errors", &errors(403, "bad <key> & co"));
        assert!(errs.ends_with("<errors><error><code>403</code><description>bad &lt;key&gt; &amp; co</description></error></errors>"));
    }

    #[test]
    fn control_characters_never_break_xml() {
        let out = render(Format::Xml, "x", &json!("a\u{1}b\nc"));
        assert!(out.ends_with("<x>ab\nc</x>"));
        let out = render(
            Format::Xml,
            "x",
            &json!(["\u{FFFE}楼\u{FFFF}\u{0}\u{1F}\u{B}\t\r\u{FFFD}\u{10FFFF}😀"]),
        );
        assert!(out.ends_with("<x><item>楼\t\r\u{FFFD}\u{10FFFF}😀</item></x>"), "{out:?}");
    }
}
