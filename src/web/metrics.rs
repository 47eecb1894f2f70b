//! Prometheus text metrics: requests by route and status, and a latency histogram.

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
            *m.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let s = m.entry((method.to_string(), route.to_string())).or_default();
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
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.observe(&method, &route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

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
