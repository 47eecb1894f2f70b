//! The HTTP server: state, router, middleware, health, metrics and static assets.

pub mod api;
pub mod assets;
pub mod extract;
pub mod metrics;
pub mod pages;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::db::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: Arc<metrics::Metrics>,
    pub calendar: Arc<crate::cases::calendar::Calendar>,
    pub grid_index: Arc<crate::cases::locate::SharedIndex>,
    /// Where attachments live (`<data dir>/attachments/…`).
    pub data_dir: Arc<std::path::PathBuf>,
    /// A report this near (metres) and this recent (hours) to an open case of its category is flagged.
    pub duplicate_rule: (f64, i64),
    pub recent_reports: Arc<crate::cases::duplicates::RecentReports>,
    /// Open311 requests per key and minute, in this process.
    pub open311_limits: Arc<crate::open311::keys::RateLimiter>,
}

impl AppState {
    pub fn new(db: Db) -> Self {
        AppState {
            db,
            metrics: Arc::new(metrics::Metrics::default()),
            calendar: Arc::new(crate::cases::calendar::Calendar::built_in()),
            grid_index: Arc::new(crate::cases::locate::SharedIndex::default()),
            data_dir: Arc::new(std::path::PathBuf::from("data")),
            duplicate_rule: (crate::config::DEFAULT_DUPLICATE_METERS, crate::config::DEFAULT_DUPLICATE_HOURS),
            recent_reports: Arc::new(crate::cases::duplicates::RecentReports::default()),
            open311_limits: Arc::new(crate::open311::keys::RateLimiter::default()),
        }
    }

    pub fn with_duplicate_rule(mut self, meters: f64, hours: i64) -> Self {
        self.duplicate_rule = (meters, hours);
        self
    }

    pub fn with_data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.data_dir = Arc::new(dir.into());
        self
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(crate::open311::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/static/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(CompressionLayer::new())
        .layer(DefaultBodyLimit::max(2 * 1024 * 1024))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    let ok = crate::on_pool!(&s.db, |p| sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)")
        .fetch_one(p)
        .await)
    .is_ok();
    if ok {
        (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "database unavailable"})),
        )
    }
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        s.metrics.render(),
    )
}

/// Serve until Ctrl-C / SIGTERM. Returns the bound address through `on_bound` first.
pub async fn serve(db: Db, s: &crate::config::Settings, on_bound: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&s.listen).await?;
    on_bound(listener.local_addr()?);
    let mut state = AppState::new(db.clone())
        .with_data_dir(&s.data_dir)
        .with_duplicate_rule(s.duplicate_meters, s.duplicate_hours);
    state.calendar = Arc::new(crate::cases::calendar::Calendar::with_updates(&s.data_dir.join("calendar"))?);
    let app = router(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
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
