//! Renovation consultations (老旧小区改造) on both engines: creating a project and who may, the
//! phase machine through the API, plan versions and publishing, rounds, recording and changing a
//! household's view (audited), tallies by SQL against the pure function, problems reported as
//! cases, scope (a community sees its projects, another community 404, a resident 403), the pages.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};
use gongzhi::renovation::service;

const COMPOUND: &str = "411602001001001";
const BUILDING: &str = "411602001001001001";
const OTHER_COMPOUND: &str = "411602001002001";

/// Households of a building (id), in order.
async fn households(app: &App, building: &str) -> Vec<Uuid> {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, Uuid>(
        "SELECT id FROM households WHERE grid_code = $1 ORDER BY unit_no, room"
    )
    .bind(building)
    .fetch_all(p)
    .await)
    .unwrap()
}

/// A second community's staff account (金桂社区).
async fn other_community(app: &App) -> String {
    let admin = app.token("admin").await;
    let password = "Renovation-Other-9";
    let body = json!({"username": "rvother", "password": password, "role": "community_staff", "grid": "411602001002"});
    let (st, v) = app.post("/api/v1/users", &admin, body).await;
    assert_eq!(st, StatusCode::CREATED, "[{}] {v}", app.engine);
    app.token_pw("rvother", password).await
}

async fn create(app: &App, token: &str, compounds: &[&str]) -> (StatusCode, Value) {
    app.post(
        "/api/v1/renovation/projects",
        token,
        json!({"title": "阳光小区改造", "summary": "雨污分流、加装电梯", "compounds": compounds}),
    )
    .await
}

fn path(id: &str, tail: &str) -> String {
    format!("/api/v1/renovation/projects/{id}{tail}")
}

async fn audits(app: &App, action: &str) -> i64 {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1"
    )
    .bind(action)
    .fetch_one(p)
    .await)
    .unwrap()
}

#[tokio::test]
async fn a_project_walks_its_phases_with_plans_rounds_views_and_problems() {
    for app in apps().await {
        let e = app.engine;
        let (street, community, compound, building, resident) = (
            app.token("street").await,
            app.token("community").await,
            app.token("compound").await,
            app.token("building").await,
            app.token("resident").await,
        );
        // Who may create: community and street staff over the compound; not a compound leader or
        // a resident; not over another community's compound.
        assert_eq!(create(&app, &compound, &[COMPOUND]).await.0, StatusCode::FORBIDDEN, "[{e}]");
        assert_eq!(create(&app, &resident, &[COMPOUND]).await.0, StatusCode::FORBIDDEN, "[{e}]");
        assert_eq!(create(&app, &community, &[OTHER_COMPOUND]).await.0, StatusCode::NOT_FOUND, "[{e}]");
        let (st, v) = create(&app, &community, &[BUILDING]).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "not_a_compound"), "[{e}] {v}");
        let (st, v) = app
            .post(
                "/api/v1/renovation/projects",
                &community,
                json!({"title": "", "compounds": [COMPOUND]}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_title"), "[{e}] {v}");
        let (st, v) = create(&app, &community, &[COMPOUND]).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let id = v["id"].as_str().unwrap().to_string();

        // A project spanning two communities is a street's.
        let (st, v) = create(&app, &street, &[COMPOUND, OTHER_COMPOUND]).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let wide = v["id"].as_str().unwrap().to_string();
        let (_, d) = app.get(&path(&wide, ""), &community).await;
        assert_eq!(
            (d["grid"].as_str(), d["manages"].as_bool()),
            (Some("411602001"), Some(false)),
            "[{e}] {d}"
        );

        // Listed for the community with its phase; the detail starts in 规划.
        let (st, list) = app.get("/api/v1/renovation/projects?grid=411602001001", &community).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {list}");
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .expect("listed")
            .clone();
        assert_eq!(item["phase"], "planning");
        assert_eq!(item["compounds"], json!([COMPOUND]));
        let (_, d) = app.get(&path(&id, ""), &building).await;
        assert_eq!(
            (d["phase"].as_str(), d["manages"].as_bool()),
            (Some("planning"), Some(false)),
            "[{e}] {d}"
        );

        // No skipping; a building officer moves nothing.
        let (st, v) = app.post(&path(&id, "/phase"), &community, json!({"to": "construction"})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "not_next_phase"), "[{e}] {v}");
        assert_eq!(
            app.post(&path(&id, "/phase"), &building, json!({"to": "consultation"})).await.0,
            StatusCode::FORBIDDEN
        );

        // Plans: v1, v2; publish v2 (then v1 replaces it).
        let (st, v) = app
            .post(&path(&id, "/plans"), &community, json!({"text": "方案一：雨污分流"}))
            .await;
        assert_eq!((st, v["version"].as_i64()), (StatusCode::CREATED, Some(1)), "[{e}] {v}");
        let (_, v) = app
            .post(&path(&id, "/plans"), &community, json!({"text": "方案二：雨污分流＋加装电梯"}))
            .await;
        assert_eq!(v["version"], 2);
        // Files on a version: a PDF by the community; not by the building officer, nor a text file.
        let pdf = b"%PDF-1.4\n% 2 design drawing\n".to_vec();
        let up = |token: &str, bytes: Vec<u8>, version: &str| {
            let req = app
                .client
                .post(format!(
                    "{}{}",
                    app.base,
                    path(&id, &format!("/plans/{version}/files?name=总平面图.pdf"))
                ))
                .bearer_auth(token.to_string())
                .body(bytes);
            async move {
                let r = req.send().await.unwrap();
                (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (st, f) = up(&community, pdf.clone(), "2").await;
        assert_eq!(
            (st, f["mime"].as_str(), f["name"].as_str()),
            (StatusCode::CREATED, Some("application/pdf"), Some("总平面图.pdf")),
            "[{e}] {f}"
        );
        assert_eq!(up(&building, pdf.clone(), "2").await.0, StatusCode::FORBIDDEN, "[{e}]");
        assert_eq!(
            up(&community, b"plain text".to_vec(), "2").await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "[{e}]"
        );
        assert_eq!(up(&community, pdf.clone(), "7").await.0, StatusCode::NOT_FOUND, "[{e}]");
        let r = app
            .client
            .get(format!("{}{}", app.base, f["url"].as_str().unwrap()))
            .bearer_auth(&building)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "[{e}]");
        assert_eq!(r.bytes().await.unwrap().to_vec(), pdf, "[{e}]");
        let (_, d) = app.get(&path(&id, ""), &building).await;
        assert_eq!(d["plans"][1]["files"][0]["sha256"], f["sha256"], "[{e}] {d}");
        assert_eq!(d["plans"][0]["files"], json!([]), "[{e}]");

        // Opening a round before the consultation phase is refused.
        let (st, v) = app.post(&path(&id, "/rounds"), &community, json!({})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "not_in_consultation"), "[{e}] {v}");
        let (st, v) = app.post(&path(&id, "/plans/２/publish"), &community, json!({})).await;
        assert_eq!((st, v["changed"].as_bool()), (StatusCode::OK, Some(true)), "[{e}] {v}");
        let (_, v) = app.post(&path(&id, "/plans/2/publish"), &community, json!({})).await;
        assert_eq!(v["changed"], false);
        assert_eq!(
            app.post(&path(&id, "/plans/9/publish"), &community, json!({})).await.0,
            StatusCode::NOT_FOUND
        );

        let (st, v) = app.post(&path(&id, "/phase"), &community, json!({"to": "consultation"})).await;
        assert_eq!((st, v["phase"].as_str()), (StatusCode::OK, Some("consultation")), "[{e}] {v}");
        let (st, v) = app.post(&path(&id, "/rounds"), &community, json!({})).await;
        assert_eq!((st, v["number"].as_i64()), (StatusCode::CREATED, Some(1)), "[{e}] {v}");
        let (st, v) = app.post(&path(&id, "/rounds"), &community, json!({})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "round_open"), "[{e}] {v}");

        // Views: the building officer records the building's households; changing one replaces it.
        let hh = households(&app, BUILDING).await;
        assert!(hh.len() >= 4, "[{e}] households {}", hh.len());
        let views = ["agree", "disagree", "suggestion", "agree"];
        for (h, v) in hh.iter().zip(views) {
            let note = if v == "suggestion" { "希望保留绿地" } else { "" };
            let (st, r) = app
                .post(&path(&id, "/views"), &building, json!({"household": h, "view": v, "note": note}))
                .await;
            assert_eq!((st, r["first"].as_bool()), (StatusCode::OK, Some(true)), "[{e}] {r}");
        }
        let (st, r) = app
            .post(&path(&id, "/views"), &building, json!({"household": hh[1], "view": "agree"}))
            .await;
        assert_eq!((st, r["first"].as_bool()), (StatusCode::OK, Some(false)), "[{e}] {r}");
        let (st, r) = app
            .post(&path(&id, "/views"), &building, json!({"household": hh[0], "view": "suggestion"}))
            .await;
        assert_eq!((st, code(&r)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_note"), "[{e}] {r}");
        let (st, r) = app
            .post(&path(&id, "/views"), &building, json!({"household": hh[0], "view": "maybe"}))
            .await;
        assert_eq!((st, code(&r)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_view"), "[{e}] {r}");
        // A household outside the project is not found.
        let far = households(&app, "411602001002001001").await;
        if let Some(f) = far.first() {
            let (st, _) = app
                .post(&path(&id, "/views"), &community, json!({"household": f, "view": "agree"}))
                .await;
            assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        }
        assert_eq!(audits(&app, "renovation.view").await, 5, "[{e}]");
        let rows: i64 = app.count("renovation_views").await;
        assert!(rows >= 4, "[{e}]");

        // The tally: per building and overall, SQL against the pure function.
        let (_, d) = app.get(&path(&id, ""), &community).await;
        let b1 = d["buildings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["building"] == BUILDING)
            .unwrap()
            .clone();
        assert_eq!(
            (
                b1["answered"].as_i64(),
                b1["agree"].as_i64(),
                b1["disagree"].as_i64(),
                b1["suggestions"].as_i64()
            ),
            (Some(4), Some(3), Some(0), Some(1)),
            "[{e}] {b1}"
        );
        assert_eq!(b1["households"].as_i64(), Some(hh.len() as i64));
        let pid: Uuid = id.parse().unwrap();
        let sql = service::current_tally(&app.db, pid).await.unwrap();
        let (pure_b, pure_all) = service::pure_tally(&app.db, pid, sql.round.as_ref().unwrap().id).await.unwrap();
        assert_eq!(sql.buildings, pure_b, "[{e}]");
        assert_eq!(sql.overall, pure_all, "[{e}]");
        assert_eq!(d["tally"]["answered"], 4);
        let rate = d["tally"]["rate"].as_f64().unwrap();
        assert!((rate - 4.0 / d["tally"]["households"].as_f64().unwrap()).abs() < 1e-9, "[{e}] {d}");

        // Only a street starts the construction; leaving 征求意见 closes the round.
        let (st, v) = app.post(&path(&id, "/phase"), &community, json!({"to": "construction"})).await;
        assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "phase_needs_street"), "[{e}] {v}");
        let (st, _) = app.post(&path(&id, "/phase"), &street, json!({"to": "construction"})).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        let (_, d) = app.get(&path(&id, ""), &community).await;
        assert!(d["rounds"][0]["closed_at"].is_string(), "[{e}] {d}");
        let (st, v) = app
            .post(&path(&id, "/views"), &building, json!({"household": hh[0], "view": "agree"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "no_open_round"), "[{e}] {v}");

        // A problem in the work becomes a case linked to the project.
        let cases_before = app.count("cases").await;
        let (st, v) = app
            .post(
                &path(&id, "/problems"),
                &building,
                json!({"category": "SQ06", "description": "施工围挡内有住户圈地种菜", "grid": BUILDING}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        assert_eq!(app.count("cases").await, cases_before + 1);
        let case_id = v["id"].as_str().unwrap().to_string();
        let (_, c) = app.get(&format!("/api/v1/cases/{case_id}"), &community).await;
        assert_eq!(c["source"], "officer", "[{e}] {c}");
        let (_, d) = app.get(&path(&id, ""), &community).await;
        assert_eq!(d["cases"][0]["id"], case_id.as_str(), "[{e}] {d}");
        assert!(!d["cases"][0]["status"].as_str().unwrap().is_empty());
        let (st, v) = app
            .post(
                &path(&id, "/problems"),
                &building,
                json!({"category": "SQ06", "description": "", "grid": BUILDING}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{e}] {v}");
        assert_eq!(app.count("cases").await, cases_before + 1);

        // 施工 → 验收 (community) → 完成 (street); then nothing further, and the history has five dates.
        assert_eq!(
            app.post(&path(&id, "/phase"), &community, json!({"to": "acceptance"})).await.0,
            StatusCode::OK
        );
        assert_eq!(
            app.post(&path(&id, "/phase"), &community, json!({"to": "done"})).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.post(&path(&id, "/phase"), &street, json!({"to": "done"})).await.0,
            StatusCode::OK
        );
        let (st, v) = app.post(&path(&id, "/phase"), &street, json!({"to": "planning"})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "not_next_phase"), "[{e}] {v}");
        let (_, d) = app.get(&path(&id, ""), &community).await;
        assert_eq!(d["phases"].as_array().unwrap().len(), 5, "[{e}] {d}");
        assert_eq!(d["phase"], "done");
        assert_eq!(audits(&app, "renovation.advance").await, 4, "[{e}]");
    }
}

#[tokio::test]
async fn scope_a_community_sees_its_projects_another_gets_404_a_resident_403() {
    for app in apps().await {
        let e = app.engine;
        let community = app.token("community").await;
        let (_, v) = create(&app, &community, &[COMPOUND]).await;
        let id = v["id"].as_str().unwrap().to_string();
        let other = other_community(&app).await;
        let resident = app.token("resident").await;
        let department = app.token("department").await;
        assert_eq!(app.get(&path(&id, ""), &other).await.0, StatusCode::NOT_FOUND, "[{e}]");
        assert_eq!(
            app.post(&path(&id, "/plans"), &other, json!({"text": "越权方案"})).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get(&path(&id, ""), &resident).await.0, StatusCode::FORBIDDEN, "[{e}]");
        assert_eq!(app.get("/api/v1/renovation/projects", &resident).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&path(&id, ""), &department).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&path(&id, ""), &community).await.0, StatusCode::OK);
        // The other community's list does not carry it, and cannot be asked for ours.
        let (st, list) = app.get("/api/v1/renovation/projects", &other).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {list}");
        assert!(list["items"].as_array().unwrap().iter().all(|i| i["id"] != id.as_str()), "[{e}]");
        assert_eq!(
            app.get("/api/v1/renovation/projects?grid=411602001001", &other).await.0,
            StatusCode::NOT_FOUND
        );
        // A street sees every project of its communities, with phase and rate.
        let street = app.token("street").await;
        let (_, list) = app.get("/api/v1/renovation/projects?per_page=100", &street).await;
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id.as_str())
            .expect("street sees it")
            .clone();
        assert!(item["consultation_rate"].is_number() && item["phase"].is_string(), "[{e}] {item}");
        assert!(list["total"].as_i64().unwrap() >= 1);
    }
}

#[tokio::test]
async fn the_pages_list_create_and_record_a_view() {
    for app in apps().await {
        let e = app.engine;
        let cookie = sign_in(&app, "community").await;
        let (st, html) = page(&app, &cookie, "/console/renovation").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("新建改造项目"), "[{e}]");
        let csrf = csrf_of(&html);
        let (st, _, loc) = post(
            &app,
            &cookie,
            "/console/renovation",
            &[("csrf", &csrf), ("title", "页面改造项目"), ("summary", ""), ("compound", COMPOUND)],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        let loc = loc.unwrap();
        let id = loc
            .trim_start_matches("/console/renovation/")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let (_, html) = page(&app, &cookie, &loc).await;
        assert!(html.contains("页面改造项目") && html.contains("项目已创建"), "[{e}]");
        for (action, fields) in [
            ("plans", vec![("text", "页面方案")]),
            ("publish", vec![("version", "1")]),
            ("phase", vec![("to", "consultation")]),
            ("rounds", vec![]),
        ] {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend(fields);
            let (st, _, loc) = post(&app, &cookie, &format!("/console/renovation/{id}/{action}"), &form).await;
            assert_eq!(st, StatusCode::SEE_OTHER, "[{e}] {action}");
            assert!(loc.as_deref().unwrap_or("").contains("msg="), "[{e}] {action}: {loc:?}");
        }
        let bcookie = sign_in(&app, "building").await;
        let (st, html) = page(&app, &bcookie, &format!("/console/renovation/{id}?building={BUILDING}")).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("记录住户意见") && html.contains("id=\"household\""), "[{e}]");
        let bcsrf = csrf_of(&html);
        let hh = households(&app, BUILDING).await[0].to_string();
        let (st, _, loc) = post(
            &app,
            &bcookie,
            &format!("/console/renovation/{id}/views"),
            &[
                ("csrf", &bcsrf),
                ("household", &hh),
                ("view", "agree"),
                ("note", ""),
                ("building", BUILDING),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        let (_, html) = page(&app, &bcookie, &loc.unwrap()).await;
        assert!(html.contains("意见已记录"), "[{e}]");
        assert!(html.contains("（同意）"), "[{e}]");
        // A resident's console is refused.
        let rcookie = sign_in(&app, "resident").await;
        let (st, _) = page(&app, &rcookie, &format!("/console/renovation/{id}")).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
    }
}
