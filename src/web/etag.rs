//! Conditional reads: API and Open311 answers carry an `ETag` (a hash of the body), and a client
//! that sends it back in `If-None-Match` gets `304 Not Modified` without the body again.

use std::hash::Hasher;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Bodies larger than this (exports) are sent as they are, without a tag.
const MAX_TAGGED: u64 = 8 * 1024 * 1024;

/// Which reads are tagged: the JSON API and Open311 (pages and files are not).
fn tagged(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD) && (path.starts_with("/api/v1/") || path.starts_with("/open311/"))
}

/// The tag of a body: its length and a 64-bit hash (SipHash with fixed keys: the same body gives
/// the same tag on every server of the same build).
pub fn tag_of(body: &[u8]) -> String {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    h.write(body);
    format!("\"{:x}-{:016x}\"", body.len(), h.finish())
}

/// Whether an `If-None-Match` value names this tag (a list, weak or strong, or `*`).
pub fn matches(if_none_match: &str, tag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

/// The middleware: tag successful reads, answer 304 when the client's tag is current.
pub async fn conditional(req: Request, next: Next) -> Response {
    if !tagged(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let asked = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let resp = next.run(req).await;
    let size = resp.body().size_hint().exact();
    if resp.status() != StatusCode::OK || size.is_none_or(|n| n > MAX_TAGGED) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // A handler that keeps its answer rendered tags it once (an Open311 search); else the body
    // is read and hashed here.
    let (tag, body) = match parts.headers.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        Some(tag) => (tag.to_string(), body),
        None => {
            let Ok(bytes) = axum::body::to_bytes(body, MAX_TAGGED as usize).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            let tag = tag_of(&bytes);
            if let Ok(v) = HeaderValue::from_str(&tag) {
                parts.headers.insert(header::ETAG, v);
            }
            (tag, Body::from(bytes))
        }
    };
    // Stored copies are checked again before each use; what a signed-in user reads stays theirs.
    parts
        .headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-cache"));
    if asked.is_some_and(|a| matches(&a, &tag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_names_its_body() {
        assert_eq!(tag_of(b"[1,2]"), tag_of(b"[1,2]"));
        assert_ne!(tag_of(b"[1,2]"), tag_of(b"[1,3]"));
        assert!(tag_of(b"").starts_with("\"0-"));
    }

    #[test]
    fn if_none_match_lists_weak_tags_and_star() {
        let t = tag_of(b"x");
        assert!(matches(&t, &t));
        assert!(matches(&format!("\"other\", W/{t}"), &t));
        assert!(matches("*", &t));
        assert!(!matches("\"other\"", &t));
        assert!(!matches("", &t));
    }

    #[test]
    fn only_api_and_open311_reads_are_tagged() {
        assert!(tagged(&Method::GET, "/api/v1/cases"));
        assert!(tagged(&Method::GET, "/open311/v2/requests.json"));
        assert!(!tagged(&Method::POST, "/api/v1/cases"));
        assert!(!tagged(&Method::GET, "/console/cases"));
    }
}
