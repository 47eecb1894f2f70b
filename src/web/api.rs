//! JSON API helpers for every feature: paging, `{items,total}`, `{id}`,
//! the Idempotency-Key header and the bearer scheme of the OpenAPI document.

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Paging parameters: `page` from 1, `per_page` 1–100 (default 20).
#[derive(Deserialize, utoipa::IntoParams, Default)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl PageQuery {
    pub fn limits(&self) -> AppResult<(i64, i64)> {
        let page = self.page.unwrap_or(1);
        let per = self.per_page.unwrap_or(20);
        if !(1..=100_000).contains(&page) {
            return Err(AppError::invalid("invalid_page", "页码应为1至100000之间的整数"));
        }
        if !(1..=100).contains(&per) {
            return Err(AppError::invalid("invalid_per_page", "每页条数应在1至100之间"));
        }
        Ok((per, (page - 1) * per))
    }
}

/// One page of a list and the total across all pages.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
}

/// The `Idempotency-Key` header, if sent: 1–128 ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> AppResult<Option<String>> {
    match headers.get("idempotency-key") {
        Some(v) => {
            let k = v
                .to_str()
                .map_err(|_| AppError::invalid("invalid_idempotency_key", "Idempotency-Key 应为 ASCII 文本"))?
                .trim();
            if k.is_empty() || k.len() > 128 {
                return Err(AppError::invalid("invalid_idempotency_key", "Idempotency-Key 长度应为1至128"));
            }
            Ok(Some(k.to_string()))
        }
        None => Ok(None),
    }
}

/// What a request asked for, reduced to a hash kept beside its idempotency key: the parts (each a
/// field's normalised text, in a fixed order) are joined with a separator no field holds.
pub fn request_fingerprint(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The same key sent with a different request: refused, never answered with the first result.
pub fn key_reused() -> AppError {
    AppError::invalid(
        "idempotency_key_reused",
        "该 Idempotency-Key 已用于内容不同的另一请求；新的请求请使用新的 Key",
    )
}

/// Adds the `bearer` security scheme the paths refer to.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
