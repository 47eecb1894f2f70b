//! The HTTP kit every feature builds on: extractors, sessions and CSRF, the client's address
//! behind proxies, throttling, the page frame and error pages, 长辈版, paging, metrics, static assets,
//! health, serving with timeouts, and shutdown. It knows no feature.

pub mod api;
pub mod assets;
pub mod client;
pub mod elder;
pub mod etag;
pub mod extract;
pub mod metrics;
pub mod nav;
pub mod pages;
pub mod photo_form;
pub mod serve;
pub mod session;
pub mod throttle;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::db::Db;

/// `GET /healthz`: the database answers.
pub async fn healthz(State(db): State<Db>) -> impl IntoResponse {
    let ok = crate::on_pool!(&db, |p| sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)").fetch_one(p).await).is_ok();
    if ok {
        (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "database unavailable"})),
        )
    }
}

/// What a request that panicked answers: the usual error shape, in Chinese, with nothing of the
/// panic's text (it may hold personal data); the panic itself is logged.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked");
    crate::error::AppError::internal().into_response()
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// What every answer tells the browser: scripts only from this server (no inline script anywhere),
/// no framing by another site, no sniffing of content types, and no full URL sent to other sites.
/// Inline `style` attributes are allowed; the pages use them for small layout touches.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(mut resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    resp
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_panic_answers_the_usual_error_shape() {
        let r = super::panic_response(Box::new("secret 13812345678"));
        assert_eq!(r.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "internal");
        assert!(!String::from_utf8_lossy(&body).contains("138"), "nothing of the panic's text");
    }
}
