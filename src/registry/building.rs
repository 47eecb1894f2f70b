//! A building's households on its grid page (楼栋住户): the panel the registry adds to the grid's
//! console page, and its 登记新住户 form.

use std::future::Future;
use std::pin::Pin;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::RegistryState;
use super::residents::{self, HouseholdRow, NewHousehold};
use crate::auth::Capability;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::grid::pages::{FormBack, render_grid};
use crate::grid::{GridPanel, GridRow};
use crate::web::extract::Path;
use crate::web::pages::{PageError, PageResult, pager};
use crate::web::session::{Console, check_csrf};

const KEY: &str = "households";

#[derive(Template)]
#[template(path = "grid_households.html")]
struct HouseholdsPanel<'a> {
    g: &'a GridRow,
    csrf: &'a str,
    households: Vec<HouseholdRow>,
    households_total: i64,
    households_pager: String,
    can_write: bool,
    form_error: Option<&'a str>,
}

/// The households of a building (level 5) for those who may read the registry there.
pub struct Households;

impl GridPanel for Households {
    fn key(&self) -> &'static str {
        KEY
    }

    fn render<'a>(
        &'a self,
        db: &'a Db,
        c: &'a Console,
        g: &'a GridRow,
        page: i64,
        error: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>> {
        Box::pin(async move {
            let p = &c.principal;
            if g.level != 5 || !p.can(Capability::ReadRegistry, &g.code) {
                return Ok(None);
            }
            // A building has no child grids, so its page number pages the households instead.
            let per = 30;
            let (households, households_total) = residents::households_in(db, &g.code, per, (page - 1) * per).await?;
            let panel = HouseholdsPanel {
                g,
                csrf: &c.csrf,
                households,
                households_total,
                households_pager: pager(&format!("/console/grids/{}", g.code), page, per, households_total),
                can_write: p.can(Capability::WriteRegistry, &g.code),
                form_error: error,
            };
            Ok(Some(panel.render().map_err(|e| AppError::from(anyhow::Error::from(e)))?))
        })
    }
}

fn back(message: String) -> FormBack {
    FormBack::panel(KEY, message)
}

#[derive(Deserialize)]
pub struct HouseholdForm {
    csrf: String,
    unit_no: String,
    room: String,
}

pub async fn add_household(
    State(s): State<RegistryState>,
    c: Console,
    Path(code): Path<String>,
    Form(f): Form<HouseholdForm>,
) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let g = crate::grid::service::load(&s.db, &c.principal, &code, Capability::WriteRegistry).await?;
    let Ok(unit_no) = f.unit_no.trim().parse::<i64>() else {
        return render_grid(&s.grid, &c, &code, 1, back("单元号应为1至99之间的数字".into())).await;
    };
    match residents::create_household(
        &s.db,
        c.principal.actor(),
        &g,
        &NewHousehold {
            grid: code.clone(),
            unit_no,
            room: f.room,
        },
    )
    .await
    {
        Ok(h) => Ok(Redirect::to(&format!("/console/households/{}?created=1", h.id)).into_response()),
        Err(e) if e.status.is_client_error() => render_grid(&s.grid, &c, &code, 1, back(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}
