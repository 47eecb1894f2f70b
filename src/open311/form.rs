//! What an Open311 client sends, read strictly: UTF-8 only, the one body encoding GeoReport v2
//! posts, and the spec's rules for `description`, `address_string` and `media_url`. Pure.

use std::collections::BTreeMap;

/// Parameters from the query string and, for POST, the form body; the first non-empty value wins.
#[derive(Debug)]
pub struct Params(Vec<(String, String)>);

/// Text that is not UTF-8 once percent-decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct NotUtf8;

impl Params {
    /// Decode `application/x-www-form-urlencoded` pairs (`+` is a space). Bytes that are not
    /// UTF-8, raw or percent-encoded, are refused rather than stored as U+FFFD.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Result<Params, NotUtf8> {
        let mut v = Vec::new();
        for part in query
            .unwrap_or("")
            .as_bytes()
            .split(|b| *b == b'&')
            .chain(body.split(|b| *b == b'&'))
        {
            if part.is_empty() {
                continue;
            }
            let (k, val) = match part.iter().position(|b| *b == b'=') {
                Some(at) => (&part[..at], &part[at + 1..]),
                None => (part, &b""[..]),
            };
            v.push((decode(k)?, decode(val)?));
        }
        Ok(Params(v))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// `attribute[code]=v` and `attribute[code][]=v` (several for multiple choice).
    pub fn attributes(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix("attribute[") else { continue };
            let code = rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']'));
            if let Some(code) = code.filter(|c| !c.is_empty() && !c.contains(['[', ']'])) {
                out.entry(code.to_string()).or_default().push(v.clone());
            }
        }
        out
    }
}

fn decode(part: &[u8]) -> Result<String, NotUtf8> {
    let plus: Vec<u8> = part.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    percent_encoding::percent_decode(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| NotUtf8)
}

pub const FORM: &str = "application/x-www-form-urlencoded";

/// Why a POST body cannot be read as GeoReport v2's form, if it cannot: photos come as
/// `media_url`, and a JSON body is answered plainly instead of as a form without an `api_key`.
/// An empty body (everything in the query string) and a body without a `Content-Type` that does
/// not look like JSON are read as the form.
pub fn refuse_encoding(content_type: Option<&str>, body: &[u8]) -> Option<String> {
    let essence = content_type.map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some(t) if t.starts_with("multipart/") => Some(format!("send {FORM}; give photos as media_url (an http(s) URL)")),
        _ if body.iter().all(u8::is_ascii_whitespace) => None,
        Some(FORM) => None,
        None if !matches!(body.trim_ascii_start().first(), Some(b'{' | b'[')) => None,
        _ => Some(format!(
            "the body of POST requests must be {FORM} (field=value&…, as GeoReport v2 says), not JSON or another encoding"
        )),
    }
}

/// The longest description GeoReport v2 allows.
pub const DESCRIPTION_MAX: usize = 4000;
/// The longest `address_string` kept.
pub const ADDRESS_MAX: usize = 500;
/// What the case says when the client sent no description (the spec makes it optional; the
/// case loop's staff need a line to read).
pub const NO_DESCRIPTION: &str = "（未填写描述）";

/// The case's description: the client's, or [`NO_DESCRIPTION`], then the address line that
/// `cases::place` shows (the case table has no address column).
pub fn case_description(description: Option<&str>, address: &str) -> String {
    let text = description.unwrap_or(NO_DESCRIPTION);
    if address.is_empty() {
        text.to_string()
    } else {
        format!("{text}\n（地址：{address}）")
    }
}

/// What the client sent as `description`, from the case's: its address line and the stand-in
/// taken off again; `None` when it sent none.
pub fn client_description<'a>(stored: &'a str, address: &str) -> Option<&'a str> {
    let mut text = stored;
    if !address.is_empty()
        && let Some(rest) = text.strip_suffix(&format!("（地址：{address}）"))
    {
        text = rest.trim_end();
    }
    (!text.is_empty() && text != NO_DESCRIPTION).then_some(text)
}

/// `media_url` as kept and served: an absolute http(s) URL written in ASCII — spaces, `<`, `>`,
/// quotes and other characters a URI cannot hold percent-encoded, an internationalised host in
/// punycode — with no user name or password, at most 2,000 characters.
pub fn media_url(text: &str) -> Result<String, &'static str> {
    const WHAT: &str = "media_url must be an absolute http(s) URL of at most 2000 characters, without user name or password";
    let url = url::Url::parse(text).map_err(|_| WHAT)?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.as_str().len() <= 2000;
    if ok { Ok(url.as_str().to_string()) } else { Err(WHAT) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        // Outside input: any bytes are read or refused as not UTF-8, never a panic; what is read
        // holds only text that was in the request, and encoding a pair reads it back.
        #[test]
        fn any_body_is_read_or_refused(body in proptest::collection::vec(any::<u8>(), 0..200), query in "\\PC{0,40}") {
            if let Ok(p) = Params::parse(Some(&query), &body) {
                let _ = p.attributes();
                let _ = p.get("description");
            }
            let _ = refuse_encoding(Some("application/json"), &body);
        }

        #[test]
        fn an_encoded_pair_reads_back(key in "[a-z_]{1,12}", value in "\\PC{1,60}") {
            let body: String = form_urlencoded::Serializer::new(String::new()).append_pair(&key, &value).finish();
            let p = Params::parse(None, body.as_bytes()).unwrap();
            // A value reads trimmed, and a blank one as absent.
            let want = Some(value.trim()).filter(|v| !v.is_empty());
            prop_assert_eq!(p.get(&key), want);
        }

        #[test]
        fn media_urls_are_absolute_http_or_refused(text in "\\PC{0,80}|https?://[a-z0-9.\\-]{1,20}(/[\\PC]{0,20})?") {
            if let Ok(u) = media_url(&text) {
                prop_assert!(u.starts_with("http://") || u.starts_with("https://"), "{}", u);
                prop_assert!(!u.contains(' ') && !u.contains('<') && !u.contains('"'), "{}", u);
            }
        }
    }

    #[test]
    fn params_are_utf8_or_refused() {
        let p = Params::parse(
            Some("a=1&b=%E6%A5%BC+%E9%81%93"),
            b"a=2&c=x%2By&attribute[floor]=6&attribute[k][]=a&attribute[k][]=b",
        )
        .unwrap();
        assert_eq!(p.get("a"), Some("1"), "the first value wins");
        assert_eq!(p.get("b"), Some("楼 道"));
        assert_eq!(p.get("c"), Some("x+y"));
        assert_eq!(p.attributes()["k"], ["a", "b"]);
        assert_eq!(p.attributes()["floor"], ["6"]);
        assert_eq!(Params::parse(None, b"description=%FF%FE").unwrap_err(), NotUtf8);
        assert_eq!(Params::parse(None, b"description=\xe6\xa5").unwrap_err(), NotUtf8);
        assert_eq!(
            Params::parse(Some("q=%C0%80"), b"").unwrap_err(),
            NotUtf8,
            "an overlong form is not UTF-8"
        );
        assert_eq!(
            Params::parse(None, "description=楼道".as_bytes()).unwrap().get("description"),
            Some("楼道")
        );
    }

    #[test]
    fn only_the_form_encoding_is_read() {
        assert_eq!(refuse_encoding(Some("application/x-www-form-urlencoded"), b"a=1"), None);
        assert_eq!(
            refuse_encoding(Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"), b"a=1"),
            None
        );
        assert_eq!(refuse_encoding(None, b"a=1"), None);
        assert_eq!(refuse_encoding(Some("application/json"), b""), None, "all in the query string");
        let json = refuse_encoding(Some("application/json"), br#"{"api_key":"k"}"#).unwrap();
        assert!(json.contains(FORM), "{json}");
        assert!(
            refuse_encoding(None, br#" {"api_key":"k"}"#).is_some(),
            "JSON without a Content-Type"
        );
        assert!(refuse_encoding(Some("text/plain"), b"a=1").is_some());
        assert!(
            refuse_encoding(Some("multipart/form-data; boundary=x"), b"--x")
                .unwrap()
                .contains("media_url")
        );
    }

    #[test]
    fn description_round_trip() {
        assert_eq!(case_description(None, ""), NO_DESCRIPTION);
        assert_eq!(case_description(Some("井盖缺失"), "七一路口"), "井盖缺失\n（地址：七一路口）");
        assert_eq!(client_description("井盖缺失\n（地址：七一路口）", "七一路口"), Some("井盖缺失"));
        assert_eq!(client_description(&case_description(None, "七一路口"), "七一路口"), None);
        assert_eq!(client_description(NO_DESCRIPTION, ""), None);
        // Before descriptions were optional, an empty one with an address was the address line alone.
        assert_eq!(client_description("（地址：七一路口）", "七一路口"), None);
        assert_eq!(client_description("井盖缺失", ""), Some("井盖缺失"));
        // The case loop takes what this feature composes from the longest parts.
        let longest = case_description(Some(&"楼".repeat(DESCRIPTION_MAX)), &"路".repeat(ADDRESS_MAX));
        assert!(longest.chars().count() <= crate::cases::service::CLIENT_DESCRIPTION_MAX);
    }

    #[test]
    fn media_urls() {
        assert_eq!(
            media_url("https://city.example/photos/1.jpg").unwrap(),
            "https://city.example/photos/1.jpg"
        );
        assert_eq!(
            media_url("https://city.example/照片 1.jpg?a=1&b=<2>").unwrap(),
            "https://city.example/%E7%85%A7%E7%89%87%201.jpg?a=1&b=%3C2%3E"
        );
        assert_eq!(media_url("http://例子.测试/a.jpg").unwrap(), "http://xn--fsqu00a.xn--0zwm56d/a.jpg");
        assert!(media_url("https://city.example/\u{FFFF}").unwrap().is_ascii());
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "//city.example/a.jpg",
            "/a.jpg",
            "http://",
            "https://user:pw@city.example/a.jpg",
            "ftp://city.example/a.jpg",
            "http://exa mple.com/a.jpg",
        ] {
            assert!(media_url(bad).is_err(), "{bad}");
        }
        assert!(media_url(&format!("https://city.example/{}", "a".repeat(2000))).is_err());
    }
}
