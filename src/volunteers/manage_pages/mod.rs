//! Console pages for organisers and the community: the routes and what they share; activities,
//! volunteers and points each in their file below.

mod organiser;
mod points;
mod volunteers;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::VolunteersState;
use crate::auth::{Capability, Principal};
use crate::error::AppError;

pub fn routes() -> Router<VolunteersState> {
    Router::new()
        .route("/console/activities", get(organiser::list_page).post(organiser::create))
        .route("/console/activities/theme", post(organiser::set_theme))
        .route("/console/activities/{id}", get(organiser::detail_page))
        .route("/console/activities/{id}/attendance", post(organiser::attendance))
        .route("/console/volunteers", get(volunteers::volunteers_page))
        .route("/console/volunteers/{id}", get(volunteers::volunteer_page))
        .route("/console/volunteers/{id}/link", post(volunteers::decide_link))
        .route("/console/volunteers/{id}/certificate", get(volunteers::certificate))
        .route("/console/points", get(points::points_page))
}

fn in_place(e: &AppError) -> bool {
    e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT
}

/// Links between the community's volunteer pages.
pub struct SubNav {
    pub on: &'static str,
    pub volunteers: bool,
    pub activities: bool,
}

fn subnav(p: &Principal, on: &'static str) -> SubNav {
    SubNav {
        on,
        volunteers: p.has(Capability::ReadVolunteers),
        activities: p.has(Capability::ManageVolunteers),
    }
}
