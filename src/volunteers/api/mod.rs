//! Volunteer and points API (`/api/v1/volunteers`, teams, activities, points, shops,
//! redemptions): routes here, handlers by sub-area below.

pub mod activities;
pub mod points;
pub mod shops;
pub mod volunteers;

use axum::Router;
use axum::routing::{get, post, put};

use super::VolunteersState;
use crate::error::AppResult;
use crate::web::api::PageQuery;

pub fn routes() -> Router<VolunteersState> {
    Router::new()
        .route(
            "/api/v1/volunteers",
            get(volunteers::list_volunteers).post(volunteers::register_volunteer),
        )
        .route("/api/v1/volunteers/me", get(volunteers::get_my_volunteer))
        .route("/api/v1/volunteers/{id}", get(volunteers::get_volunteer))
        .route("/api/v1/volunteers/{id}/link", post(volunteers::decide_link))
        .route("/api/v1/volunteer-teams", get(volunteers::list_teams).post(volunteers::create_team))
        .route("/api/v1/volunteer-teams/{id}/members", post(volunteers::add_member))
        .route(
            "/api/v1/activities",
            get(activities::list_activities).post(activities::create_activity),
        )
        .route("/api/v1/activities/{id}", get(activities::get_activity))
        .route("/api/v1/activities/{id}/signup", post(activities::sign_up))
        .route("/api/v1/activities/{id}/check-in", post(activities::check_in))
        .route("/api/v1/activities/{id}/check-out", post(activities::check_out))
        .route("/api/v1/activities/{id}/attendance", post(activities::mark_attendance))
        .route("/api/v1/activity-themes", get(activities::list_themes).post(activities::set_theme))
        .route("/api/v1/points/rules", get(points::list_rules))
        .route("/api/v1/points/rules/{code}", put(points::update_rule))
        .route("/api/v1/points/transactions", get(points::list_transactions))
        .route("/api/v1/points/corrections", post(points::correct))
        .route("/api/v1/points/audit", get(points::audit_ledger))
        .route("/api/v1/points/summary", get(points::summary))
        .route("/api/v1/shops", get(shops::list_shops).post(shops::create_shop))
        .route("/api/v1/shops/{id}/items", get(shops::list_items).post(shops::create_item))
        .route("/api/v1/shop-items/{id}", axum::routing::patch(shops::update_item))
        .route("/api/v1/redemption-codes", post(shops::new_code))
        .route("/api/v1/redemptions", post(shops::redeem))
}

fn page(page: Option<i64>, per_page: Option<i64>) -> AppResult<(i64, i64)> {
    PageQuery { page, per_page }.limits()
}
