//! Request extractors whose rejections speak our error format (`{"error":{"code","message"}}`, Chinese),
//! or a Chinese error page for the console's pages.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::request::Parts;
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

/// The URL's path parameters. A malformed one (`/console/cases/xyz`) answers the JSON error under
/// `/api/` and the Chinese error page everywhere else, never axum's English text.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(r) => Err(for_caller(parts, AppError::from(r))),
        }
    }
}

/// An error as the caller reads it: JSON for the API, a page for a browser.
fn for_caller(parts: &Parts, e: AppError) -> Response {
    if parts.uri.path().starts_with("/api/") {
        e.into_response()
    } else {
        super::pages::error_page(&e)
    }
}

/// The answer for a body over the server's limit (413), in our words.
pub fn too_large() -> AppError {
    AppError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "提交的内容过大，超出了允许的大小",
    )
}

/// What an error that axum or a library answered in plain English text (or with no body) means,
/// in the one error format: the status kept, a stable code and a Chinese message.
fn said_again(status: axum::http::StatusCode) -> AppError {
    use axum::http::StatusCode as S;
    let (code, message) = match status {
        S::PAYLOAD_TOO_LARGE => return too_large(),
        S::BAD_REQUEST => ("bad_request", "请求格式有误"),
        S::UNAUTHORIZED => ("unauthorized", "请先登录"),
        S::FORBIDDEN => ("forbidden", "无权进行此操作"),
        S::NOT_FOUND => ("not_found", "找不到所请求的内容"),
        S::METHOD_NOT_ALLOWED => ("method_not_allowed", "此地址不支持该请求方法"),
        S::REQUEST_TIMEOUT => ("request_timeout", "请求处理超时，请稍后重试"),
        S::LENGTH_REQUIRED => ("length_required", "请求须注明内容长度"),
        S::URI_TOO_LONG => ("uri_too_long", "请求地址过长"),
        S::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "不支持的内容类型"),
        S::UNPROCESSABLE_ENTITY => ("invalid_body", "提交的内容有误，请检查后重试"),
        S::TOO_MANY_REQUESTS => ("too_many_requests", "请求过于频繁，请稍后再试"),
        S::REQUEST_HEADER_FIELDS_TOO_LARGE => ("headers_too_large", "请求头过大"),
        S::SERVICE_UNAVAILABLE => ("unavailable", "服务暂时不可用，请稍后重试"),
        s if s.is_server_error() => ("internal", "服务器内部错误，请稍后重试"),
        _ => ("bad_request", "请求有误"),
    };
    AppError::new(status, code, message)
}

/// Middleware: every error answer in the one error format. Rejections that axum writes itself —
/// a body over the limit (413, which a JSON handler used to turn into 422), an unreadable form,
/// a method not allowed (405, its `Allow` kept), a handler timeout (408) — come as English plain
/// text or empty; they are said again as JSON under `/api/` and as a Chinese page elsewhere.
/// Answers already in a format (JSON, HTML, XML) pass untouched, and so does Open311, which
/// speaks its own error list.
pub async fn one_error_format(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::header;
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || path.starts_with("/open311/") {
        return resp;
    }
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.to_str().is_ok_and(|t| t.starts_with("text/plain")));
    if !plain {
        return resp;
    }
    let e = if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        said_again(status)
    };
    let (mut parts, _) = resp.into_parts();
    let fresh = if path.starts_with("/api/") {
        e.into_response()
    } else {
        super::pages::error_page(&e)
    };
    let (fresh_parts, body) = fresh.into_parts();
    // The new body is not compressed, whatever the old one was.
    for h in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_ENCODING] {
        parts.headers.remove(&h);
        if let Some(v) = fresh_parts.headers.get(&h) {
            parts.headers.insert(h, v.clone());
        }
    }
    Response::from_parts(parts, body)
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        let detail = r.body_text();
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return too_large();
        }
        match r {
            JsonRejection::MissingJsonContentType(_) => AppError::new(
                r.status(),
                "unsupported_media_type",
                "请求体应为 JSON（Content-Type: application/json）",
            ),
            JsonRejection::JsonSyntaxError(_) => AppError::bad_request(format!("请求体不是合法的 JSON：{}", in_chinese(&detail))),
            _ => AppError::invalid("invalid_body", format!("请求体字段缺失或类型不正确：{}", in_chinese(&detail))),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::invalid("invalid_query_string", format!("查询参数不正确：{}", in_chinese(&r.body_text())))
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        // A malformed id names nothing that exists.
        let _ = r;
        AppError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "链接中的编号有误，找不到对应的记录")
    }
}

/// serde's English explanation of a rejected body or query, said in Chinese: the field it names
/// is kept (it is the caller's own), the English sentence is not.
fn in_chinese(detail: &str) -> String {
    // axum: "Failed to deserialize …: <path>: <serde message>" — the path is optional.
    let msg = detail
        .split_once("target type: ")
        .or_else(|| detail.split_once("query string: "))
        .map_or(detail, |(_, m)| m);
    let quoted = |m: &str, after: &str| m.split_once(after).and_then(|(_, r)| r.split('`').nth(1)).map(str::to_string);
    let (path, rest) = match msg.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (Some(p), r),
        _ => (None, msg),
    };
    let at = rest
        .rsplit_once(" at line ")
        .and_then(|(_, pos)| {
            pos.split_once(" column ")
                .map(|(l, c)| format!("（第{}行第{}列）", l.trim(), c.trim()))
        })
        .unwrap_or_default();
    let field = |name: Option<String>| {
        name.or(path.map(str::to_string))
            .map(|f| format!("字段「{f}」"))
            .unwrap_or_else(|| "某个字段".into())
    };
    let what = if rest.starts_with("missing field") {
        format!("缺少{}", field(quoted(rest, "missing field")))
    } else if rest.starts_with("unknown field") {
        format!("不认识的{}", field(quoted(rest, "unknown field")))
    } else if rest.starts_with("unknown variant") {
        format!(
            "{}的取值「{}」不在可选范围内",
            field(None),
            quoted(rest, "unknown variant").unwrap_or_default()
        )
    } else if rest.starts_with("invalid type") {
        format!("{}的类型不正确", field(None))
    } else if rest.starts_with("invalid") || rest.starts_with("cannot parse") {
        format!("{}的取值格式不正确", field(None))
    } else if rest.contains("EOF while parsing") {
        "内容不完整".to_string()
    } else if path.is_some() {
        format!("{}有误", field(None))
    } else {
        "格式有误".to_string()
    };
    format!("{what}{at}")
}

#[cfg(test)]
mod tests {
    use super::in_chinese;

    #[test]
    fn serde_explanations_are_said_in_chinese() {
        let cases = [
            (
                "Failed to deserialize the JSON body into the target type: missing field `password` at line 1 column 23",
                "缺少字段「password」（第1行第23列）",
            ),
            (
                "Failed to deserialize the JSON body into the target type: role: invalid type: integer `1`, expected a string at line 1 column 9",
                "字段「role」的类型不正确（第1行第9列）",
            ),
            (
                "Failed to deserialize query string: page: invalid digit found in string",
                "字段「page」的取值格式不正确",
            ),
            (
                "Failed to parse the request body as JSON: EOF while parsing an object at line 1 column 1",
                "内容不完整（第1行第1列）",
            ),
            (
                "Failed to deserialize the JSON body into the target type: action: unknown variant `fly`, expected one of `accept`",
                "字段「action」的取值「fly」不在可选范围内",
            ),
        ];
        for (english, chinese) in cases {
            let said = in_chinese(english);
            assert_eq!(said, chinese);
        }
    }
}
