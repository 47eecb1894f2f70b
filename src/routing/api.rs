//! Routing API (智能分派): suggestions for a text, and the district's auto-dispatch setting.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::RoutingState;
use super::service;
use super::store;
use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::extract::Json;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SuggestRequest {
    /// The report as written, 2 to 2,000 characters (read after NFKC).
    pub text: String,
    /// The report's grid code (building or compound), for the unit: the unit that most often
    /// handled the category there. Without it, the district's most frequent unit.
    pub grid: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoryRef {
    pub code: String,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnitRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SuggestionView {
    pub category: CategoryRef,
    /// The unit that most often handled the category near the grid; null when none has.
    pub unit: Option<UnitRef>,
    /// The chance the category and the unit are both right (0 to 1).
    pub confidence: f64,
    /// The chance the category is right (0 to 1); the three sum to at most 1.
    pub category_confidence: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    /// Best first, at most three; empty when the district has no model yet.
    pub suggestions: Vec<SuggestionView>,
}

/// The text as the model reads it, bounded: NFKC first, then 2 to 2,000 characters.
pub fn checked_text(text: &str) -> AppResult<String> {
    use unicode_normalization::UnicodeNormalization;
    if text.len() > 8 * super::model::MAX_CHARS {
        return Err(AppError::invalid("invalid_text", "问题描述应为2至2000字"));
    }
    let t: String = text.nfkc().collect();
    let n = t.trim().chars().count();
    if !(2..=super::model::MAX_CHARS).contains(&n) {
        return Err(AppError::invalid("invalid_text", "问题描述应为2至2000字"));
    }
    Ok(t.trim().to_string())
}

/// A grid code as the unit statistics read it: digits only, at most a building's length.
pub fn checked_grid(grid: Option<&str>) -> AppResult<String> {
    use unicode_normalization::UnicodeNormalization;
    let g: String = grid.unwrap_or_default().nfkc().collect::<String>().trim().to_string();
    if g.len() > crate::grid::rules::code_len(5) || !g.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("invalid_grid", "网格编码应为数字"));
    }
    Ok(g)
}

pub fn view(s: service::Shown) -> SuggestionView {
    SuggestionView {
        category: CategoryRef {
            code: s.category,
            name: s.category_name,
        },
        unit: s.unit.map(|(id, name)| UnitRef { id, name }),
        confidence: s.confidence,
        category_confidence: s.category_confidence,
    }
}

#[utoipa::path(post, path = "/api/v1/routing/suggest", tag = "routing", request_body = SuggestRequest,
    responses((status = 200, body = Suggestions), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn suggest(State(s): State<RoutingState>, p: Principal, Json(r): Json<SuggestRequest>) -> AppResult<Json<Suggestions>> {
    let text = checked_text(&r.text)?;
    let grid = checked_grid(r.grid.as_deref())?;
    let found = service::suggest(&s.models, &s.db, &p.district, &grid, &text).await?;
    Ok(Json(Suggestions {
        suggestions: found.into_iter().map(view).collect(),
    }))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingSettings {
    /// Reports without a category go to the suggested unit by themselves at or above the threshold.
    pub auto_dispatch: bool,
    /// 0.5 to 1.0 (whole percent).
    pub threshold: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RoutingStatus {
    pub auto_dispatch: bool,
    pub threshold: f64,
    /// When the district's model was trained (none yet: null).
    pub trained_at: Option<String>,
    /// Closed cases it learnt from.
    pub examples: i64,
}

fn staff(p: &Principal) -> AppResult<()> {
    if p.posts.iter().all(|x| x.role == Role::Resident) {
        return Err(AppError::forbidden());
    }
    Ok(())
}

async fn status(s: &RoutingState, district: &str) -> AppResult<RoutingStatus> {
    let set = store::settings(&s.db, district).await?;
    let model = store::trained_at(&s.db, district).await?;
    Ok(RoutingStatus {
        auto_dispatch: set.auto_dispatch,
        threshold: set.threshold_pct as f64 / 100.0,
        trained_at: model.map(|m| rfc3339_ms(m.0)),
        examples: model.map_or(0, |m| m.1),
    })
}

#[utoipa::path(get, path = "/api/v1/routing/settings", tag = "routing",
    responses((status = 200, body = RoutingStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_settings(State(s): State<RoutingState>, p: Principal) -> AppResult<Json<RoutingStatus>> {
    staff(&p)?;
    Ok(Json(status(&s, &p.district).await?))
}

#[utoipa::path(put, path = "/api/v1/routing/settings", tag = "routing", request_body = RoutingSettings,
    responses((status = 200, body = RoutingStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_settings(State(s): State<RoutingState>, p: Principal, Json(r): Json<RoutingSettings>) -> AppResult<Json<RoutingStatus>> {
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden());
    }
    if !r.threshold.is_finite() || !(0.5..=1.0).contains(&r.threshold) {
        return Err(AppError::invalid("invalid_threshold", "自动派遣的置信度门槛应在50%至100%之间"));
    }
    let set = store::Settings {
        auto_dispatch: r.auto_dispatch,
        threshold_pct: (r.threshold * 100.0).round() as i64,
    };
    store::save_settings(&s.db, p.actor(), &p.district, set).await?;
    Ok(Json(status(&s, &p.district).await?))
}
