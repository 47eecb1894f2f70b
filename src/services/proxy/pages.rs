//! Red proxy service pages (红色代办): the agent's list, the community's watch list (overdue,
//! documents still held), registering a matter, and a matter's page with its document receipts.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::api::{self, Document, Kind, Matter, MatterDetail};
use super::rules;
use super::service::{self, Confirm, NewDocument, NewMatter, NewStep, Rating, Return};
use super::store::{self, Which};
use crate::auth::Capability;
use crate::db::now_ms;
use crate::error::AppError;
use crate::services::ServicesState;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/console/services/proxy", get(hub).post(create))
        .route("/console/services/proxy/{id}", get(matter_page))
        .route("/console/services/proxy/{id}/act", post(act))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "services_proxy.html")]
struct HubPage {
    chrome: Chrome,
    notice: String,
    error: String,
    mine: Vec<Matter>,
    watch: Vec<Matter>,
    open: Vec<Matter>,
    /// Registering: the kinds, and the people of the caller's area who may need the service.
    can_register: bool,
    /// Staff of a subtree: the ledger of all its matters (代办台账).
    can_export: bool,
    kinds: Vec<Kind>,
    people: Vec<(Uuid, String, String)>,
    via: Vec<(&'static str, &'static str)>,
}

async fn hub(State(s): State<ServicesState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let now = now_ms();
    let mine: Vec<Matter> = store::matters(&s.db, &p.district, Which::Agent(p.user_id), 200)
        .await?
        .into_iter()
        .map(|m| api::matter_view(m, true, now))
        .collect();
    let (mut watch, mut open, mut people) = (Vec::new(), Vec::new(), Vec::new());
    if p.has(Capability::ReadRegistry) {
        let root = service::list_root(p, None)?;
        watch = store::matters(&s.db, &p.district, Which::Watch { root: &root, now }, 200)
            .await?
            .into_iter()
            .map(|m| api::matter_view(m, false, now))
            .collect();
        open = store::matters(
            &s.db,
            &p.district,
            Which::Under {
                root: &root,
                status: Some("open"),
            },
            200,
        )
        .await?
        .into_iter()
        .map(|m| api::matter_view(m, false, now))
        .collect();
    } else if mine.is_empty() {
        return Err(AppError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", "您的岗位不使用红色代办").into());
    }
    let can_register = p.has(Capability::WriteRegistry);
    if let Some(root) = p.roots(Capability::WriteRegistry).first() {
        people = store::cared_for(&s.db, &p.district, root, 200).await?;
    }
    let kinds = store::kinds(&s.db, &p.district)
        .await?
        .into_iter()
        .filter(|k| k.active)
        .map(|k| Kind {
            id: k.id,
            name: k.name,
            documents: k.documents,
            limit_days: k.limit_days,
            active: k.active,
        })
        .collect();
    Ok(HubPage {
        chrome: Chrome::new(&c, "红色代办", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        mine,
        watch,
        open,
        can_register,
        can_export: p.has(Capability::ReadRegistry),
        kinds,
        people,
        via: rules::VIA.to_vec(),
    }
    .into_response())
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: String,
    resident: Uuid,
    kind: Uuid,
    via: String,
    #[serde(default)]
    note: String,
}

async fn create(State(s): State<ServicesState>, c: Console, Form(f): Form<CreateForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let n = NewMatter {
        resident: f.resident,
        kind: f.kind,
        via: f.via,
        note: f.note,
    };
    match service::create(&s.db, &s.cases.calendar, &c.principal, &n).await {
        Ok((m, code)) => {
            let msg = format!("已登记。回执确认码：{code}（请写在回执上交给居民本人保管，交接材料时由居民提供）");
            back_to(&format!("/console/services/proxy/{}", m.id), Ok(&msg))
        }
        Err(e) => back_to("/console/services/proxy", Err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "services_proxy_matter.html")]
struct MatterPage {
    chrome: Chrome,
    notice: String,
    error: String,
    d: MatterDetail,
    documents: Vec<Document>,
    is_agent: bool,
    can_take: bool,
    can_rate: bool,
}

async fn matter_page(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let m = service::matter_for(&s.db, p, id).await?;
    let is_agent = m.agent_id == Some(p.user_id);
    let can_take = m.status == "open" && p.can(Capability::WriteRegistry, &m.grid_code);
    let can_rate = m.status == "done" && m.rating.is_none() && (is_agent || p.can(Capability::WriteRegistry, &m.grid_code));
    let mut d = api::detail(&s, m).await?;
    let documents = std::mem::take(&mut d.documents);
    Ok(MatterPage {
        chrome: Chrome::new(&c, "代办事项", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        d,
        documents,
        is_agent,
        can_take,
        can_rate,
    }
    .into_response())
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    /// take, step, hand, confirm, return, done, rate
    what: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    doc: Option<Uuid>,
    stars: Option<i64>,
}

async fn act(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let p = &c.principal;
    let db = &s.db;
    let code = Some(f.code.clone()).filter(|x| !x.trim().is_empty());
    let doc = || f.doc.ok_or_else(|| AppError::invalid("document_required", "请选择材料"));
    let r: Result<&str, AppError> = match f.what.as_str() {
        "take" => service::take(db, p, id).await.map(|_| "已领办"),
        "step" => service::add_step(db, p, id, &NewStep { note: f.note.clone() })
            .await
            .map(|_| "已记录进展"),
        "hand" => service::hand_over(
            db,
            p,
            id,
            &NewDocument {
                name: f.name.clone(),
                code,
            },
        )
        .await
        .map(|d| {
            if d.state == "held" {
                "已登记材料交接（居民已确认）"
            } else {
                "已登记材料交接，待居民确认"
            }
        }),
        "confirm" => match doc() {
            Ok(d) => service::confirm(db, p, d, &Confirm { code: f.code.clone() })
                .await
                .map(|_| "居民已确认"),
            Err(e) => Err(e),
        },
        "return" => match doc() {
            Ok(d) => service::give_back(db, p, d, &Return { code }).await.map(|d| {
                if d.state == "returned" {
                    "材料已归还，居民已确认"
                } else {
                    "已登记归还，待居民确认"
                }
            }),
            Err(e) => Err(e),
        },
        "done" => service::finish(db, p, id).await.map(|_| "事项已办结"),
        "rate" => service::rate(
            db,
            p,
            id,
            &Rating {
                stars: f.stars.unwrap_or(0),
                code: f.code.clone(),
            },
        )
        .await
        .map(|_| "已记录居民评价"),
        _ => Err(AppError::invalid("unknown_action", "未知操作")),
    };
    back_to(&format!("/console/services/proxy/{id}"), r)
}
