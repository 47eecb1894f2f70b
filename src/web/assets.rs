//! Static assets, embedded in the binary: no CDN, nothing fetched at run time.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: [(&str, &str, &str); 2] = [
    ("app.css", "text/css; charset=utf-8", include_str!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|f| f.0 == file) {
        Some((_, ct, body)) => (
            [(header::CONTENT_TYPE, *ct), (header::CACHE_CONTROL, "public, max-age=3600")],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
