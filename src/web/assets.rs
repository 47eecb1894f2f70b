//! Static assets, embedded in the binary: no CDN, nothing fetched at run time.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: [(&str, &str, &str); 5] = [
    ("app.css", "text/css; charset=utf-8", include_str!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
    (
        "command.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/command.js"),
    ),
    ("calls.js", "text/javascript; charset=utf-8", include_str!("../../static/calls.js")),
    (
        "imports.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/imports.js"),
    ),
];

/// The site icon: a red tile with a white grid (网格), drawn without fonts.
const FAVICON: &str = concat!(
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">",
    "<rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#c8161d\"/>",
    "<path d=\"M8 8h16v16H8zM16 8v16M8 16h16\" fill=\"none\" stroke=\"#fff\" stroke-width=\"2.5\"/>",
    "</svg>"
);

/// `GET /favicon.ico`: browsers ask for it on every site; an SVG answers (they read it by its type).
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}

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
