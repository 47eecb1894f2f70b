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

#[cfg(test)]
mod tests {
    /// Text sizes in `rem` or `em` (or a variable that is), so a reader's browser or phone font
    /// setting enlarges every page; px only inside SVG pictures, whose user units scale with them.
    #[test]
    fn text_sizes_follow_the_readers_setting() {
        let css = include_str!("../../static/app.css");
        let mut sizes = 0;
        for rule in css.split('}') {
            let Some((selector, body)) = rule.split_once('{') else { continue };
            let picture = selector.contains("svg") || selector.contains(".trend");
            for decl in body.split(';') {
                let Some((prop, value)) = decl.split_once(':') else { continue };
                if prop.trim() != "font-size" {
                    continue;
                }
                sizes += 1;
                let value = value.trim();
                let relative = value.ends_with("rem") || value.ends_with("em") || value.starts_with("var(") || value.ends_with('%');
                assert!(relative || picture, "{} sets font-size: {value}", selector.trim());
                if let Some(rem) = value.strip_suffix("rem").and_then(|v| v.parse::<f64>().ok()) {
                    assert!(rem >= 0.875, "{} sets font-size under 14 px: {value}", selector.trim());
                }
            }
        }
        assert!(sizes > 20, "the stylesheet sets sizes: found {sizes}");
    }
}
