//! Prometheus text metrics: requests by route template and status, and a latency histogram; and
//! who may read them (this machine, a scraper with the configured token, or anyone who reaches
//! the separate metrics address).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use std::sync::Arc;

const BUCKETS_S: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct RouteStats {
    count: u64,
    sum_s: f64,
    buckets: [u64; 10],
}

/// Series kept at most per family; anything beyond is counted under `route="overflow"`. Routes
/// are the router's own templates, so this is a second line only.
const MAX_SERIES: usize = 4096;

/// The label of a request no route matched: one series, whatever path was asked for.
pub const UNMATCHED: &str = "unmatched";

#[derive(Default)]
pub struct Metrics {
    // (method, route, status) → count; (method, route) → latency
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), RouteStats>>,
}

/// The standard methods keep their names; any other string a client sends is `OTHER`, so the
/// series stay a fixed set however many methods are invented (issue 11).
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let method = method_label(method);
        if let Ok(mut m) = self.requests.lock() {
            let mut key = (method.to_string(), route.to_string(), status);
            if m.len() >= MAX_SERIES && !m.contains_key(&key) {
                key = ("OTHER".into(), "overflow".into(), 0);
            }
            *m.entry(key).or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let mut key = (method.to_string(), route.to_string());
            if m.len() >= MAX_SERIES && !m.contains_key(&key) {
                key = ("OTHER".into(), "overflow".into());
            }
            let s = m.entry(key).or_default();
            s.count += 1;
            s.sum_s += secs;
            for (i, b) in BUCKETS_S.iter().enumerate() {
                if secs <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP gongzhi_http_requests_total HTTP requests by route and status.\n# TYPE gongzhi_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                out.push_str(&format!(
                    "gongzhi_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}\n"
                ));
            }
        }
        out.push_str(
            "# HELP gongzhi_http_request_duration_seconds HTTP request latency.\n# TYPE gongzhi_http_request_duration_seconds histogram\n",
        );
        if let Ok(m) = self.latency.lock() {
            for ((method, route), s) in m.iter() {
                let l = format!("method=\"{method}\",route=\"{route}\"");
                for (i, b) in BUCKETS_S.iter().enumerate() {
                    out.push_str(&format!(
                        "gongzhi_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}\n",
                        s.buckets[i]
                    ));
                }
                out.push_str(&format!(
                    "gongzhi_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}\n",
                    s.count
                ));
                out.push_str(&format!("gongzhi_http_request_duration_seconds_sum{{{l}}} {}\n", s.sum_s));
                out.push_str(&format!("gongzhi_http_request_duration_seconds_count{{{l}}} {}\n", s.count));
            }
        }
        out
    }
}

pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    // Label by route template, not raw path, so ids do not blow up the series count.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.observe(&method, &route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

/// Who may read `/metrics` where it is served.
#[derive(Clone, Default)]
pub struct Gate {
    /// Scrapers must send `Authorization: Bearer <token>` (`metrics_token`).
    pub token: Option<Arc<str>>,
    /// Without a token: only this machine, straight (no proxy). Off on the separate metrics
    /// address, which is reachable only where the operator bound it.
    pub local_only: bool,
}

/// `GET /metrics`: Prometheus text, for those the gate lets through.
pub async fn serve_text(
    State((m, gate)): State<(Arc<Metrics>, Gate)>,
    client: super::client::ClientAddr,
    headers: axum::http::HeaderMap,
) -> Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    if let Some(token) = &gate.token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        if !same_secret(sent, token) {
            let mut r = crate::error::AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", "读取指标须提供采集令牌").into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            return r;
        }
    } else if gate.local_only && !client.is_local() {
        return crate::error::AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "指标仅对本机开放；远程采集请配置 metrics_token 或 metrics_listen",
        )
        .into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], m.render()).into_response()
}

/// Compare two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    use sha2::Digest;
    let (x, y) = (sha2::Sha256::digest(a.as_bytes()), sha2::Sha256::digest(b.as_bytes()));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_stay_bounded_whatever_is_sent() {
        let m = Metrics::default();
        for i in 0..(MAX_SERIES + 500) {
            m.observe("GET", &format!("/r{i}"), 200, 0.001);
        }
        let text = m.render();
        assert!(text.contains("route=\"overflow\""));
        let series = text.lines().filter(|l| l.starts_with("gongzhi_http_requests_total{")).count();
        assert!(series <= MAX_SERIES + 1, "{series}");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("", "abc") && !same_secret("abc", "abcd"));
    }

    #[test]
    fn invented_methods_do_not_grow_the_series() {
        let m = Metrics::default();
        m.observe("GET", "/healthz", 200, 0.001);
        let before = m.render().len();
        for i in 0..200 {
            m.observe(&format!("X{i}{}", "Y".repeat(i)), "unmatched", 405, 0.001);
        }
        let text = m.render();
        assert!(text.contains("method=\"OTHER\"") && !text.contains("X1"));
        // One more series (OTHER) at most, whatever the number of methods sent.
        assert!(text.len() < before * 3, "{} → {}", before, text.len());
    }
}
