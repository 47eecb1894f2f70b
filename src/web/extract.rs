//! Request extractors whose rejections speak our error format (`{"error":{"code","message"}}`, Chinese).

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// JSON body in, JSON body out.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        let detail = r.body_text();
        match r {
            JsonRejection::MissingJsonContentType(_) => AppError::new(
                r.status(),
                "unsupported_media_type",
                "请求体应为 JSON（Content-Type: application/json）",
            ),
            JsonRejection::JsonSyntaxError(_) => AppError::bad_request(format!("请求体不是合法的 JSON：{detail}")),
            _ => AppError::invalid("invalid_body", format!("请求体字段缺失或类型不正确：{detail}")),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::invalid("invalid_query_string", format!("查询参数不正确：{}", r.body_text()))
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        // A malformed id names nothing that exists.
        let _ = r;
        AppError::not_found("记录")
    }
}
