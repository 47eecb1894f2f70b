//! The officer's report form (上报问题), with the picked category's extra questions and photos,
//! and reading a report form (fields and photos in one multipart POST) for it and the public page.

use std::collections::BTreeMap;

use crate::audit::Actor;
use crate::cases::CasesState;
use crate::cases::attachments;
use crate::cases::categories::{self, ChoiceGroup};
use crate::cases::service::{AttributeAnswer, NewCase, Reporter, submit};
use crate::error::AppError;
use crate::web::pages::{Chrome, PageError, PageResult};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

/// Photos one report may carry, each as the API takes them (JPEG, PNG or WebP, at most 10 MB).
pub const MAX_PHOTOS: usize = 3;
/// The body limit of a report form: its photos and room for the text fields.
pub const BODY_LIMIT: usize = MAX_PHOTOS * attachments::MAX_BYTES + 256 * 1024;
/// A text field's bytes and the number of fields: a description is at most 2,000 characters.
const MAX_FIELD_BYTES: usize = 16 * 1024;
const MAX_FIELDS: usize = 200;

/// A report form as sent: its text fields (the last of a repeated name wins), its photos, and why
/// a photo was refused (the fields are still read, so the form comes back as it was typed).
#[derive(Default)]
pub(super) struct ReportBody {
    pub fields: BTreeMap<String, String>,
    pub photos: Vec<Vec<u8>>,
    pub refused: Option<AppError>,
}

impl ReportBody {
    pub fn take(&mut self, name: &str) -> String {
        self.fields.remove(name).unwrap_or_default()
    }
}

/// The report form's field a refusal is about, so the page can tie its error to that field
/// (`aria-invalid`, `aria-describedby`); "" when it is about the whole form.
pub(super) fn field_of(code: &str) -> &'static str {
    match code {
        "invalid_description" => "description",
        "category_required" | "unknown_category" => "category",
        "invalid_phone" => "phone",
        "too_large" | "invalid_photo" | "unsupported_media_type" => "photo",
        "invalid_location" | "outside_district" | "location_required" => "location",
        "unknown_grid" => "grid",
        "invalid_attribute" | "unknown_attribute" => "attributes",
        _ => "",
    }
}

fn form_unreadable() -> AppError {
    AppError::invalid("invalid_form", "表单未能完整提交，请重试")
}

fn too_many_photos() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("最多上传{MAX_PHOTOS}张照片，每张不超过10MB"),
    )
}

/// Read a report form: multipart (fields and up to [`MAX_PHOTOS`] photos named `photo`, empty
/// file parts skipped) or, from a page without photos, urlencoded. Every part is bounded while
/// it is read; the photos are checked (size, type) before anything is stored.
pub(super) async fn read_report(req: Request) -> Result<ReportBody, AppError> {
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut body = ReportBody::default();
    if !multipart {
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(req, &())
            .await
            .map_err(|_| form_unreadable())?;
        if pairs.len() > MAX_FIELDS {
            return Err(form_unreadable());
        }
        body.fields.extend(pairs);
        return Ok(body);
    }
    let mut parts = Multipart::from_request(req, &()).await.map_err(|_| form_unreadable())?;
    let read_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_many_photos()
        } else {
            form_unreadable()
        }
    };
    while let Some(mut part) = parts.next_field().await.map_err(read_error)? {
        let name = part.name().unwrap_or_default().to_string();
        let is_file = part.file_name().is_some();
        let limit = if is_file { attachments::MAX_BYTES } else { MAX_FIELD_BYTES };
        let (mut bytes, mut oversize) = (Vec::new(), false);
        while let Some(chunk) = part.chunk().await.map_err(read_error)? {
            if oversize || bytes.len() + chunk.len() > limit {
                if !is_file {
                    return Err(form_unreadable());
                }
                // Read past the rest of an oversize photo (the body limit bounds it), keeping none.
                (oversize, bytes) = (true, Vec::new());
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        if !is_file {
            if body.fields.len() == MAX_FIELDS {
                return Err(form_unreadable());
            }
            body.fields.insert(name, String::from_utf8(bytes).map_err(|_| form_unreadable())?);
            continue;
        }
        // A file input left empty still sends an empty part.
        if name != "photo" || (bytes.is_empty() && !oversize) || body.refused.is_some() {
            continue;
        }
        let checked = if oversize {
            Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "每张照片不超过10MB"))
        } else if body.photos.len() == MAX_PHOTOS {
            Err(too_many_photos())
        } else {
            attachments::check(&bytes).map(|_| ())
        };
        match checked {
            Ok(()) => body.photos.push(bytes),
            Err(e) => body.refused = Some(e),
        }
    }
    Ok(body)
}

/// The phone's position from a form's lat/lng fields: both empty, or both finite numbers in
/// range (a page fills them from `navigator.geolocation`; anything else is refused, not dropped).
pub(super) fn parse_location(lat: &str, lng: &str) -> Result<Option<(f64, f64)>, AppError> {
    let refuse = || AppError::invalid("invalid_location", "位置信息有误，请重新定位或清除定位");
    match (lat.trim(), lng.trim()) {
        ("", "") => Ok(None),
        (a, b) if a.len() <= 32 && b.len() <= 32 => {
            let (a, b) = (a.parse::<f64>().map_err(|_| refuse())?, b.parse::<f64>().map_err(|_| refuse())?);
            if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) {
                Ok(Some((a, b)))
            } else {
                Err(refuse())
            }
        }
        _ => Err(refuse()),
    }
}

/// Store a new case's photos. Each was checked when read, and a photo already on the case (a
/// retried form lands on its case) is kept once, so a retry after a failure here completes it.
pub(super) async fn store_photos(
    s: &CasesState,
    actor: Actor<'_>,
    case_id: Uuid,
    district: &str,
    photos: &[Vec<u8>],
) -> Result<(), AppError> {
    for bytes in photos {
        attachments::add(&s.db, &s.data_dir, actor, case_id, district, bytes).await?;
    }
    Ok(())
}

#[derive(Template, WebTemplate)]
#[template(path = "case_new.html")]
struct NewPage {
    chrome: Chrome,
    buildings: Vec<(String, String)>,
    key: String,
    /// The active 小类 under their 大类; `category` is the one picked.
    groups: Vec<ChoiceGroup>,
    category: String,
    max_photos: usize,
    description: String,
    grid: String,
    lat: String,
    lng: String,
    error: Option<String>,
    /// The field the error is about (`field_of`).
    error_field: &'static str,
    /// Each category's extra questions, shown when it is picked: (code, picked, fields).
    field_sets: Vec<(String, bool, Vec<FieldView>)>,
}

/// One extra question on the report form. Inputs are named `attr.{category}.{code}` (and
/// `….{choice}` for multiple choice), so only the picked category's answers are read.
pub struct FieldView {
    pub(super) name: String,
    pub(super) label: String,
    /// number, text, textarea, datetime, select, checks
    pub(super) kind: &'static str,
    pub(super) required: bool,
    pub(super) value: String,
    pub(super) choices: Vec<(String, String, bool)>,
}

pub(super) fn field_views(
    cat: &str,
    fields: &[crate::cases::attributes::Field],
    given: &std::collections::BTreeMap<String, String>,
) -> Vec<FieldView> {
    use crate::cases::attributes::Datatype;
    fields
        .iter()
        .map(|f| {
            let name = format!("attr.{cat}.{}", f.code);
            let value = given.get(&name).cloned().unwrap_or_default();
            FieldView {
                kind: match f.datatype {
                    Datatype::Number => "number",
                    Datatype::String => "text",
                    Datatype::Text => "textarea",
                    Datatype::Datetime => "datetime",
                    Datatype::Singlevaluelist => "select",
                    Datatype::Multivaluelist => "checks",
                },
                label: f.description.clone(),
                required: f.required,
                choices: f
                    .values
                    .iter()
                    .map(|c| {
                        let picked = value == c.key || given.contains_key(&format!("{name}.{}", c.key));
                        (c.key.clone(), c.name.clone(), picked)
                    })
                    .collect(),
                name,
                value,
            }
        })
        .collect()
}

/// The picked category's answers from the form's `attr.…` fields.
pub(super) fn form_answers(
    cat: &str,
    extra: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, AttributeAnswer> {
    let prefix = format!("attr.{cat}.");
    let mut out: std::collections::BTreeMap<String, AttributeAnswer> = std::collections::BTreeMap::new();
    for (k, v) in extra {
        let Some(rest) = k.strip_prefix(&prefix) else { continue };
        match rest.split_once('.') {
            None if !v.trim().is_empty() => {
                out.insert(rest.to_string(), AttributeAnswer::One(v.clone()));
            }
            None => {}
            Some((code, choice)) => {
                if let AttributeAnswer::Many(list) = out.entry(code.to_string()).or_insert_with(|| AttributeAnswer::Many(Vec::new())) {
                    list.push(choice.to_string());
                }
            }
        }
    }
    out
}

async fn render_new(s: &CasesState, c: &Console, form: Option<(NewCaseForm, AppError)>) -> PageResult {
    let cats = categories::list(&s.db, &c.principal.district).await?;
    let error_field = form.as_ref().map_or("", |(_, e)| field_of(e.code));
    let (f, error) = match form {
        Some((f, e)) => (f, Some(e.message)),
        None => {
            // A building officer reports in their own building by default.
            let grid = c
                .principal
                .posts
                .iter()
                .find_map(|p| p.grid_code.clone().filter(|g| g.len() >= 15))
                .unwrap_or_default();
            (
                NewCaseForm {
                    key: crate::db::new_id().to_string(),
                    grid,
                    ..Default::default()
                },
                None,
            )
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // The buildings (and compounds) under the reporter's smallest post, to pick from.
    let mut buildings = Vec::new();
    if let Some(root) = c.principal.posts.iter().filter_map(|p| p.grid_code.clone()).max_by_key(|g| g.len()) {
        let rows: Vec<(String, String, String)> = crate::on_pool!(&s.db, |p| sqlx::query_as(
            "SELECT g.code, g.name, COALESCE(pa.name, '') FROM grids g LEFT JOIN grids pa ON pa.code = g.parent_code \
             WHERE g.code >= $1 AND g.code < $2 AND g.level >= 4 ORDER BY g.code LIMIT 500"
        )
        .bind(&root)
        .bind(crate::grid::rules::subtree_upper(&root))
        .fetch_all(p)
        .await)?;
        buildings = rows
            .into_iter()
            .map(|(code, name, parent)| (code, format!("{parent} {name}")))
            .collect();
    }
    let field_sets = cats
        .iter()
        .filter(|x| x.is_leaf() && !x.fields().is_empty())
        .map(|x| (x.code.clone(), x.code == f.category, field_views(&x.code, &x.fields(), &f.extra)))
        .collect();
    let html = NewPage {
        chrome: Chrome::new(c, "上报问题", "cases"),
        buildings,
        field_sets,
        groups: categories::choice_groups(&cats, |_| true),
        category: f.category,
        max_photos: MAX_PHOTOS,
        key: f.key,
        description: f.description,
        grid: f.grid,
        lat: f.lat,
        lng: f.lng,
        error,
        error_field,
    };
    Ok((status, html).into_response())
}

pub(super) async fn new_form(State(s): State<CasesState>, c: Console) -> PageResult {
    render_new(&s, &c, None).await
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct NewCaseForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lng: String,
    /// 不公开: a checkbox, present only when ticked.
    private: Option<String>,
    /// The category's extra questions, `attr.{category}.{code}[.{choice}]`.
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, String>,
}

/// The report, its photos in the same POST: the photos are checked before the case is made and
/// stored right after it, under the form's key, so a retried form completes one case.
pub(super) async fn new_submit(State(s): State<CasesState>, c: Console, req: Request) -> PageResult {
    // A form too large to read is shown again with the reason (that changes nothing).
    let mut body = match read_report(req).await {
        Ok(b) => b,
        Err(e) => {
            let f = NewCaseForm {
                key: crate::db::new_id().to_string(),
                ..Default::default()
            };
            return render_new(&s, &c, Some((f, e))).await;
        }
    };
    check_csrf(&c, &body.take("csrf"))?;
    let fields = serde_json::to_value(std::mem::take(&mut body.fields)).unwrap_or_default();
    let Ok(f) = serde_json::from_value::<NewCaseForm>(fields) else {
        return Err(form_unreadable().into());
    };
    if let Some(e) = body.refused {
        return render_new(&s, &c, Some((f, e))).await;
    }
    let location = match parse_location(&f.lat, &f.lng) {
        Ok(l) => l,
        Err(e) => return render_new(&s, &c, Some((f, e))).await,
    };
    let input = NewCase {
        category: f.category.clone(),
        description: f.description.clone(),
        lat: location.map(|l| l.0),
        lng: location.map(|l| l.1),
        grid: Some(f.grid.trim().to_string()).filter(|g| !g.is_empty() && location.is_none()),
        source: None,
        reported_at: None,
        attributes: Some(form_answers(&f.category, &f.extra)),
        private: Some(f.private.is_some()),
    };
    // The form's key makes a double-tapped or retried submit land once.
    match submit(
        &s,
        Reporter::User(&c.principal),
        &input,
        Some(&f.key).filter(|k| !k.is_empty() && k.len() <= 64).map(String::as_str),
    )
    .await
    {
        Ok((row, _)) => {
            store_photos(&s, c.principal.actor(), row.id, &row.district, &body.photos).await?;
            Ok(Redirect::to(&format!("/console/cases/{}?created=1", row.id)).into_response())
        }
        Err(e) if e.status.is_client_error() => render_new(&s, &c, Some((f, e))).await,
        Err(e) => Err(PageError(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_both_numbers_in_range_or_nothing() {
        assert_eq!(parse_location("", " ").unwrap(), None);
        assert_eq!(parse_location(" 33.62 ", "114.65").unwrap(), Some((33.62, 114.65)));
        assert_eq!(parse_location("-90", "180").unwrap(), Some((-90.0, 180.0)));
        for (lat, lng) in [
            ("33.6", ""),
            ("", "114.6"),
            ("90.01", "114"),
            ("33", "-180.5"),
            ("NaN", "114"),
            ("33", "inf"),
            ("北纬33", "114"),
            ("1e400", "114"),
            ("33.000000000000000000000000000001", "114"),
        ] {
            let e = parse_location(lat, lng).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_location"),
                "{lat:?}, {lng:?}"
            );
        }
    }
}
