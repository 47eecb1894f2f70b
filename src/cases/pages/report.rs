//! The officer's report form (上报问题), with the picked category's extra questions.

use crate::cases::CasesState;
use crate::cases::categories;
use crate::cases::service::{AttributeAnswer, NewCase, Reporter, submit};
use crate::web::pages::{Chrome, PageError, PageResult};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "case_new.html")]
struct NewPage {
    chrome: Chrome,
    buildings: Vec<(String, String)>,
    key: String,
    categories: Vec<(String, String, bool)>,
    description: String,
    grid: String,
    lat: String,
    lng: String,
    error: Option<String>,
    /// Each category's extra questions, shown when it is picked: (code, picked, fields).
    field_sets: Vec<(String, bool, Vec<FieldView>)>,
}

/// One extra question on the report form. Inputs are named `attr.{category}.{code}` (and
/// `….{choice}` for multiple choice), so only the picked category's answers are read.
pub struct FieldView {
    name: String,
    label: String,
    /// number, text, textarea, datetime, select, checks
    kind: &'static str,
    required: bool,
    value: String,
    choices: Vec<(String, String, bool)>,
}

fn field_views(
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
fn form_answers(cat: &str, extra: &std::collections::BTreeMap<String, String>) -> std::collections::BTreeMap<String, AttributeAnswer> {
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

async fn render_new(s: &CasesState, c: &Console, form: Option<(NewCaseForm, String)>) -> PageResult {
    let cats = categories::list(&s.db, &c.principal.district).await?;
    let (f, error) = match form {
        Some((f, e)) => (f, Some(e)),
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
        categories: cats
            .into_iter()
            .filter(|x| x.is_leaf())
            .map(|x| (x.code.clone(), x.name, x.code == f.category))
            .collect(),
        key: f.key,
        description: f.description,
        grid: f.grid,
        lat: f.lat,
        lng: f.lng,
        error,
    };
    Ok((status, html).into_response())
}

pub(super) async fn new_form(State(s): State<CasesState>, c: Console) -> PageResult {
    render_new(&s, &c, None).await
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct NewCaseForm {
    #[serde(default)]
    csrf: String,
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

pub(super) async fn new_submit(State(s): State<CasesState>, c: Console, Form(f): Form<NewCaseForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let (lat, lng) = (f.lat.trim().parse::<f64>().ok(), f.lng.trim().parse::<f64>().ok());
    let input = NewCase {
        category: f.category.clone(),
        description: f.description.clone(),
        lat,
        lng,
        grid: Some(f.grid.trim().to_string()).filter(|g| !g.is_empty() && lat.is_none()),
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
        Some(&f.key).filter(|k| !k.is_empty()).map(String::as_str),
    )
    .await
    {
        Ok((row, _)) => Ok(Redirect::to(&format!("/console/cases/{}?created=1", row.id)).into_response()),
        Err(e) if e.status.is_client_error() => render_new(&s, &c, Some((f, e.message))).await,
        Err(e) => Err(PageError(e)),
    }
}
