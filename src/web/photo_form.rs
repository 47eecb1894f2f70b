//! Phone forms that carry photos (`multipart/form-data`) or none (urlencoded): the fields and
//! the photos' bytes, each part bounded while it is read.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};

use crate::error::AppError;

/// The largest photo a form takes (10 MB, as case photos).
pub const MAX_PHOTO: usize = 10 * 1024 * 1024;

/// Fields beyond this many are dropped (a form has a handful; a checklist of 50 items, two each).
const MAX_FIELDS: usize = 120;

/// Photos named `photo_…` beyond this many are refused (one per checklist item at most).
pub const MAX_NAMED_PHOTOS: usize = 50;

/// A form as sent: its text fields, the photo named `photo`, and photos named `photo_…` (one per
/// item of a checklist).
#[derive(Debug, Default)]
pub struct PhotoForm {
    pub fields: BTreeMap<String, String>,
    pub photo: Option<Vec<u8>>,
    /// `photo_KEY` → bytes, by KEY.
    pub photos: BTreeMap<String, Vec<u8>>,
}

impl PhotoForm {
    /// A field's text, or empty.
    pub fn field(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }
}

fn unreadable() -> AppError {
    AppError::invalid("invalid_form", "表单未能完整提交，请重试")
}

/// Read a form with or without a photo.
pub async fn read(req: Request) -> Result<PhotoForm, AppError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut body = PhotoForm::default();
    if !multipart {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, &())
            .await
            .map_err(|_| unreadable())?;
        if pairs.len() > MAX_FIELDS {
            return Err(unreadable());
        }
        body.fields.extend(pairs);
        return Ok(body);
    }
    let mut parts = Multipart::from_request(req, &()).await.map_err(|_| unreadable())?;
    while let Some(mut part) = parts.next_field().await.map_err(|_| unreadable())? {
        let name = part.name().unwrap_or_default().to_string();
        let is_file = part.file_name().is_some();
        let limit = if is_file { MAX_PHOTO } else { 8 * 1024 };
        let mut bytes = Vec::new();
        while let Some(chunk) = part.chunk().await.map_err(|_| unreadable())? {
            if bytes.len() + chunk.len() > limit {
                return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "照片不超过10MB"));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            // A file input left empty still sends an empty part.
            if bytes.is_empty() {
                continue;
            }
            if name == "photo" {
                body.photo = Some(bytes);
            } else if let Some(key) = name.strip_prefix("photo_") {
                if body.photos.len() >= MAX_NAMED_PHOTOS {
                    return Err(unreadable());
                }
                body.photos.insert(key.to_string(), bytes);
            }
        } else if body.fields.len() < MAX_FIELDS {
            body.fields.insert(name, String::from_utf8(bytes).map_err(|_| unreadable())?);
        }
    }
    Ok(body)
}

/// A latitude or longitude typed or filled in by the page (full-width digits read), or none when
/// empty; anything else is refused in Chinese.
pub fn coordinate(s: &str) -> Result<Option<f64>, AppError> {
    let s = crate::identity::half_width(s.trim());
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || AppError::invalid("invalid_location", "位置信息有误，请重新定位或不带位置提交");
    if s.len() > 32 {
        return Err(bad());
    }
    s.parse::<f64>().map(Some).map_err(|_| bad())
}
