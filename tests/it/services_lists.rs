//! The four lists (四张清单), on both engines: a need is met only once a project answering it
//! records its result; the page routes other parts post to (`/console/services/needs` with
//! `back`) and `add_need_in`; residents add needs for themselves only; the lists are read in
//! scope and paged; the demo's first street has its 110+ projects.

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};

const COMMUNITY: &str = "411602001001";
const OUTSIDE_COMMUNITY: &str = "411602001002";
const COMPOUND: &str = "411602001001001";
const BUILDING: &str = "411602001001001001";

async fn find(app: &App, token: &str, list: &str, pred: impl Fn(&Value) -> bool) -> Option<Value> {
    let (st, v) = app.get(&format!("/api/v1/{list}?grid={COMMUNITY}&per_page=100"), token).await;
    assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
    v["items"].as_array().unwrap().iter().find(|x| pred(x)).cloned()
}

fn query_of(loc: &Option<String>) -> String {
    loc.clone().unwrap_or_default()
}

#[tokio::test]
async fn a_need_is_met_only_once_a_project_answering_it_records_a_result() {
    for app in apps().await {
        let e = app.engine;
        let cookie = sign_in(&app, "community").await;
        let (_, html) = page(&app, &cookie, &format!("/console/services/lists?grid={COMMUNITY}")).await;
        assert!(html.contains("需求清单") && html.contains("资源清单 · 无人使用"), "[{e}] the board");
        let csrf = csrf_of(&html);
        // Another part's page posts a need and is sent back to itself.
        let form = [
            ("csrf", csrf.as_str()),
            ("grid", COMPOUND),
            ("resident", ""),
            ("kind", "助餐助浴"),
            ("urgency", "urgent"),
            ("description", "集成测试：独居老人需要助餐"),
            ("source", "visit"),
            ("back", "/console/services/care?visit=1"),
        ];
        let (st, _, loc) = post(&app, &cookie, "/console/services/needs", &form).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        assert!(query_of(&loc).starts_with("/console/services/care?visit=1&msg="), "[{e}] {loc:?}");
        // A bad one goes back with the error; a foreign `back` is not followed.
        let mut bad = form;
        bad[3] = ("kind", "跑腿");
        bad[7] = ("back", "https://evil.example/");
        let (_, _, loc) = post(&app, &cookie, "/console/services/needs", &bad).await;
        assert!(
            query_of(&loc).starts_with("/console/services/lists?grid=411602001001&err="),
            "[{e}] {loc:?}"
        );

        let token = app.token("community").await;
        let need = find(&app, &token, "needs", |n| n["description"] == "集成测试：独居老人需要助餐")
            .await
            .expect("the need");
        assert_eq!(need["kind"], "meals_bathing", "[{e}] a stable key");
        assert_eq!(need["kind_label"], "助餐助浴", "[{e}]");
        assert_eq!(need["status"], "waiting", "[{e}] {need}");
        let need_id = need["id"].as_str().unwrap().to_string();

        let form = [
            ("csrf", csrf.as_str()),
            ("grid", COMMUNITY),
            ("provider_kind", "merchant"),
            ("provider", "测试爱心餐厅"),
            ("kind", "meals_bathing"),
            ("capacity", "３０"),
            ("period", "每天中午"),
            ("description", ""),
        ];
        let (_, _, loc) = post(&app, &cookie, "/console/services/resources", &form).await;
        assert!(query_of(&loc).contains("msg="), "[{e}] {loc:?}");
        let res = find(&app, &token, "resources", |r| r["provider"] == "测试爱心餐厅")
            .await
            .expect("the resource");
        assert_eq!(res["capacity"], 30, "[{e}] full-width digits");
        assert_eq!(res["projects"].as_array().unwrap().len(), 0, "[{e}] no one uses it yet");
        let res_id = res["id"].as_str().unwrap().to_string();
        let (_, html) = page(&app, &cookie, &format!("/console/services/lists?grid={COMMUNITY}")).await;
        assert!(html.contains("测试爱心餐厅"), "[{e}] listed among unused");

        let form = [
            ("csrf", csrf.as_str()),
            ("grid", COMMUNITY),
            ("name", "测试助餐项目"),
            ("owner", "社区书记"),
            ("starts_on", "2026-01-01"),
            ("ends_on", "2026-12-31"),
            ("need", need_id.as_str()),
            ("resource", res_id.as_str()),
        ];
        let (_, _, loc) = post(&app, &cookie, "/console/services/projects", &form).await;
        assert!(query_of(&loc).contains("msg="), "[{e}] {loc:?}");
        let need = find(&app, &token, "needs", |n| n["id"] == need_id.as_str()).await.unwrap();
        assert_eq!(need["status"], "planned", "[{e}] a project is no result: {need}");
        let project = find(&app, &token, "projects", |j| j["name"] == "测试助餐项目").await.unwrap();
        assert_eq!(project["needs"][0]["id"], need_id.as_str(), "[{e}] {project}");
        assert_eq!(project["resources"][0]["id"], res_id.as_str(), "[{e}]");
        assert!(project["result"].is_null(), "[{e}]");
        let pid = project["id"].as_str().unwrap().to_string();

        // A result with a bad rating is refused and changes nothing.
        let path = format!("/console/services/projects/{pid}/result");
        let bad = [
            ("csrf", csrf.as_str()),
            ("grid", COMMUNITY),
            ("delivered", "送餐"),
            ("people", "12"),
            ("photos", "2"),
            ("rating", "9"),
        ];
        let (_, _, loc) = post(&app, &cookie, &path, &bad).await;
        assert!(query_of(&loc).contains("err="), "[{e}] {loc:?}");
        let need = find(&app, &token, "needs", |n| n["id"] == need_id.as_str()).await.unwrap();
        assert_eq!(need["status"], "planned", "[{e}]");
        let good = [
            ("csrf", csrf.as_str()),
            ("grid", COMMUNITY),
            ("delivered", "每天送餐上门"),
            ("people", "12"),
            ("photos", "2"),
            ("rating", "5"),
        ];
        let (_, _, loc) = post(&app, &cookie, &path, &good).await;
        assert!(query_of(&loc).contains("msg="), "[{e}] {loc:?}");
        let need = find(&app, &token, "needs", |n| n["id"] == need_id.as_str()).await.unwrap();
        assert_eq!(need["status"], "met", "[{e}] {need}");
        let project = find(&app, &token, "projects", |j| j["id"] == pid.as_str()).await.unwrap();
        assert_eq!(project["result"]["people"], 12, "[{e}] {project}");
        assert_eq!(project["needs"][0]["status"], "met", "[{e}]");
        let result = find(&app, &token, "results", |r| r["project"] == pid.as_str()).await.unwrap();
        assert_eq!(result["rating"], 5, "[{e}]");
        let (_, _, loc) = post(&app, &cookie, &path, &good).await;
        assert!(query_of(&loc).contains("err="), "[{e}] one result per project: {loc:?}");
        // A building officer may add a need but not a resource.
        let officer = sign_in(&app, "building").await;
        let (_, html) = page(&app, &officer, &format!("/console/services/lists?grid={BUILDING}")).await;
        let ocsrf = csrf_of(&html);
        let (st, _, _) = post(
            &app,
            &officer,
            "/console/services/resources",
            &[
                ("csrf", &ocsrf),
                ("grid", COMMUNITY),
                ("provider_kind", "unit"),
                ("provider", "x"),
                ("kind", "other"),
                ("capacity", "1"),
                ("period", "x"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
    }
}

#[tokio::test]
async fn residents_add_needs_for_themselves_only_and_add_need_in_keeps_the_contract() {
    for app in apps().await {
        let e = app.engine;
        let cookie = sign_in(&app, "resident").await;
        let (st, html) = page(&app, &cookie, "/console/services/lists").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("提出需求"), "[{e}] the resident's form");
        let csrf = csrf_of(&html);
        let home = html
            .split("name=\"grid\" value=\"")
            .nth(1)
            .map(|s| s[..s.find('"').unwrap()].to_string())
            .unwrap();
        let mine = [
            ("csrf", csrf.as_str()),
            ("grid", home.as_str()),
            ("kind", "repairs"),
            ("urgency", "normal"),
            ("description", "居民本人：家中水管漏水"),
            ("source", "resident"),
        ];
        let (_, _, loc) = post(&app, &cookie, "/console/services/needs", &mine).await;
        assert!(query_of(&loc).contains("msg="), "[{e}] {loc:?}");
        let (_, html) = page(&app, &cookie, "/console/services/lists").await;
        assert!(
            html.contains("居民本人：家中水管漏水") && html.contains("待对接资源"),
            "[{e}] listed as mine"
        );
        let other_resident: Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT r.id FROM residents r WHERE r.grid_code = $1 AND r.id NOT IN (SELECT resident_id FROM resident_accounts) LIMIT 1"
        )
        .bind(&home)
        .fetch_one(p)
        .await)
        .unwrap();
        let other = other_resident.to_string();
        for (k, v) in [("resident", other.as_str()), ("grid", "411602001002001001"), ("source", "officer")] {
            let mut f = mine.to_vec();
            f.retain(|x| x.0 != k);
            f.push((k, v));
            let (st, _, loc) = post(&app, &cookie, "/console/services/needs", &f).await;
            assert_eq!(st, StatusCode::SEE_OTHER, "[{e}] {k}");
            assert!(query_of(&loc).contains("err="), "[{e}] {k}: {loc:?}");
        }
        let n: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM service_needs WHERE description = '居民本人：家中水管漏水'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(n, 1, "[{e}] the refused ones wrote nothing");
        let (st, v) = app.get("/api/v1/needs", &app.token("resident").await).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "[{e}] residents do not read the lists"
        );

        // The contract other parts call: grid staff add a need for a resident of their grid.
        let staff_id: Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT id FROM users WHERE username = 'community'")
            .fetch_one(p)
            .await)
        .unwrap();
        let p = gongzhi::auth::Principal {
            user_id: staff_id,
            username: "community".into(),
            display_name: "社区工作者".into(),
            district: "411602".into(),
            posts: vec![gongzhi::auth::Post {
                role: gongzhi::auth::Role::CommunityStaff,
                grid_code: Some(COMMUNITY.into()),
                unit_id: None,
            }],
        };
        let need = gongzhi::services::lists::service::NewNeed {
            grid: BUILDING.into(),
            resident: Some(other_resident),
            kind: "心理慰藉".into(),
            urgency: "normal".into(),
            description: "走访发现：老人独居需要陪伴".into(),
            source: "visit".into(),
        };
        let mut tx = app.db.begin().await.unwrap();
        let id = gongzhi::services::lists::service::add_need_in(&mut tx, &p, need.clone())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let token = app.token("community").await;
        let found = find(&app, &token, "needs", |n| n["id"] == id.to_string().as_str()).await.unwrap();
        assert_eq!(found["resident"], other.as_str(), "[{e}]");
        assert!(found["resident_name"].as_str().unwrap().contains('*'), "[{e}] masked: {found}");
        let mut tx = app.db.begin().await.unwrap();
        let long = gongzhi::services::lists::service::NewNeed {
            description: "字".repeat(501),
            ..need.clone()
        };
        let err = gongzhi::services::lists::service::add_need_in(&mut tx, &p, long).await.unwrap_err();
        assert_eq!(err.code, "invalid_description", "[{e}]");
        let outside = gongzhi::services::lists::service::NewNeed {
            grid: "411602001002001001".into(),
            resident: None,
            ..need
        };
        let err = gongzhi::services::lists::service::add_need_in(&mut tx, &p, outside)
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND, "[{e}]");
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn the_lists_are_read_in_scope_and_paged_and_the_first_street_has_its_projects() {
    for app in apps().await {
        let e = app.engine;
        let admin = app.token("admin").await;
        let (st, v) = app.get("/api/v1/projects?grid=411602001&per_page=5", &admin).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert!(v["total"].as_i64().unwrap() >= 110, "[{e}] the pilot figure: {}", v["total"]);
        assert_eq!(v["items"].as_array().unwrap().len(), 5, "[{e}]");
        for list in ["needs", "resources", "projects", "results"] {
            let (st, v) = app.get(&format!("/api/v1/{list}?grid={COMMUNITY}&per_page=3"), &admin).await;
            assert_eq!(st, StatusCode::OK, "[{e}] {list}");
            assert!(
                v["total"].as_i64().unwrap() > 3 && v["items"].as_array().unwrap().len() == 3,
                "[{e}] {list}: {v}"
            );
        }
        let community = app.token("community").await;
        let (st, _) = app.get(&format!("/api/v1/needs?grid={OUTSIDE_COMMUNITY}"), &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        let (st, v) = app.get("/api/v1/needs?per_page=0", &community).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{e}] {v}");
        // The demo board shows needs waiting and resources unused.
        let cookie = sign_in(&app, "community").await;
        let (_, html) = page(&app, &cookie, &format!("/console/services/lists?grid={COMMUNITY}")).await;
        let waiting = html.split("id=\"needs-waiting\"").nth(1).unwrap().split("</ul>").next().unwrap();
        assert!(waiting.contains("待对接资源"), "[{e}] some needs wait");
        let unused = html.split("id=\"resources-unused\"").nth(1).unwrap().split("</ul>").next().unwrap();
        assert!(unused.contains("未使用"), "[{e}] some resources are unused");
    }
}
