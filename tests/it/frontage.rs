//! Frontage responsibility (门前三包), on both engines: an agreement signed by community staff,
//! checks by a patrol — a fail needs a photo, the month's third failure brings a notice and the
//! next a case in the shop's grid — compliance equal to a recount, the phone masked, the street's
//! public list without personal data, the pages; and the scope walk: a patrol checks only its
//! street's frontages.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code, page, sign_in};

const COMMUNITY: &str = "411602001001";
const STREET: &str = "411602001";

fn photo() -> String {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(b"not really a picture, but it starts like one");
    base64::engine::general_purpose::STANDARD.encode(v)
}

pub async fn sign(app: &App, token: &str, grid: &str, name: &str) -> Value {
    let (st, v) = app
        .post(
            "/api/v1/frontage/agreements",
            token,
            json!({"grid": grid, "shop_name": name, "address": "交通路18号", "signer_name": "欧阳测签",
                   "signer_phone": "13912345678", "segment": "交通路18号门前至路沿石", "duties": ["包卫生", "orderliness"],
                   "signed_on": "2026-01-05", "term_months": 12}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "[{}] {v}", app.engine);
    v
}

#[tokio::test]
async fn a_months_failures_bring_a_notice_then_a_case() {
    for app in apps().await {
        let e = app.engine;
        let community = app.token("community").await;
        let building = app.token("building").await;
        let a = sign(&app, &community, COMMUNITY, "测试烩面馆").await;
        let id = a["id"].as_str().unwrap().to_string();
        assert_eq!(a["signer_phone"], "139****5678", "[{e}] masked");
        assert_eq!(a["duties_label"], "包卫生、包秩序");
        assert_eq!(a["ends_on"], "2027-01-04");
        let url = format!("/api/v1/frontage/agreements/{id}/checks");
        // A fail needs a photo; a duty not agreed is refused; every agreed duty must be checked.
        let (st, v) = app.post(&url, &building, json!({"sanitation": false, "orderliness": true})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "photo_required"), "[{e}]");
        let (st, v) = app
            .post(&url, &building, json!({"sanitation": true, "orderliness": true, "greenery": true}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "duty_not_agreed"), "[{e}]");
        let (st, v) = app.post(&url, &building, json!({"sanitation": true})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "duty_missing"), "[{e}]");
        // A pass, then four fails.
        let (st, v) = app.post(&url, &building, json!({"sanitation": true, "orderliness": true})).await;
        assert_eq!((st, v["step"].as_str()), (StatusCode::CREATED, Some("none")), "[{e}] {v}");
        let cases_before = app.count("cases").await;
        let mut steps = Vec::new();
        for _ in 0..4 {
            let (st, v) = app
                .post(
                    &url,
                    &building,
                    json!({"sanitation": false, "orderliness": true, "note": "门前有垃圾", "photo_base64": photo(), "lat": 33.62, "lng": 114.65}),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
            steps.push(v["step"].as_str().unwrap().to_string());
            if v["step"] == "case" {
                let case = v["case"].as_str().unwrap();
                let (st, c) = app.get(&format!("/api/v1/cases/{case}"), &community).await;
                assert_eq!(st, StatusCode::OK, "[{e}] {c}");
                assert!(c["grid"]["code"].as_str().unwrap_or_default().starts_with(COMMUNITY), "[{e}] {c}");
                assert!(c["description"].as_str().unwrap().contains("门前三包"), "[{e}] {c}");
            }
        }
        assert_eq!(steps, ["none", "none", "notice", "case"], "[{e}]");
        assert_eq!(app.count("cases").await, cases_before + 1, "[{e}] one case");
        // A fifth failure files nothing more this month.
        let (_, v) = app
            .post(
                &url,
                &building,
                json!({"sanitation": false, "orderliness": false, "photo_base64": photo()}),
            )
            .await;
        assert_eq!(v["step"], "none", "[{e}] {v}");
        assert_eq!(app.count("cases").await, cases_before + 1, "[{e}]");
        let (st, d) = app.get(&format!("/api/v1/frontage/agreements/{id}"), &community).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(d["checks"].as_array().unwrap().len(), 6, "[{e}]");
        let kinds: Vec<&str> = d["notices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"notice") && kinds.contains(&"case"), "[{e}] {kinds:?}");
        // Compliance equals a recount from the checks.
        let (st, c) = app.get(&format!("/api/v1/frontage/compliance?grid={COMMUNITY}"), &community).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {c}");
        let shop = c["shops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"] == id.as_str())
            .unwrap()
            .clone();
        assert_eq!(
            (shop["checks"].as_i64(), shop["passed"].as_i64()),
            (Some(6), Some(1)),
            "[{e}] {shop}"
        );
        let (checks, passed): (i64, i64) = gongzhi::on_pool!(&app.db, |p| {
            sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN passed THEN 1 ELSE 0 END), 0) FROM frontage_checks WHERE grid_code >= $1 AND grid_code < $2 AND checked_at >= $3"
        )
        .bind(COMMUNITY)
        .bind(format!("{COMMUNITY}:"))
        .bind(gongzhi::frontage::rules::month_range(gongzhi::frontage::rules::parse_month(c["month"].as_str().unwrap()).unwrap()).0)
        .fetch_one(p)
        .await
        .unwrap()
        });
        assert_eq!((c["checks"].as_i64(), c["passed"].as_i64()), (Some(checks), Some(passed)), "[{e}]");
        let (st, v) = app.get("/api/v1/frontage/compliance?month=2026-13", &community).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_month"));
        // Roles without the registry are refused.
        for user in ["resident", "department"] {
            let t = app.token(user).await;
            let (st, _) = app.get("/api/v1/frontage/agreements", &t).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] {user}");
            let (st, _) = app.post(&url, &t, json!({"sanitation": true, "orderliness": true})).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] {user}");
        }
        // A building officer does not sign agreements.
        let (st, _) = app
            .post(
                "/api/v1/frontage/agreements",
                &building,
                json!({"grid": COMMUNITY, "shop_name": "x", "address": "x", "signer_name": "x", "segment": "x"}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
    }
}

/// A second street, copied from the first (the small demo has one).
pub async fn second_street(app: &App) -> String {
    let code = "411602002";
    let sql = "INSERT INTO grids (code, district, level, kind, name, parent_code, boundary, center_lat, center_lng, min_lat, min_lng, max_lat, max_lng, children, households, residents, created_at, updated_at) \
               SELECT '411602002', district, level, kind, '测试街道', parent_code, boundary, center_lat, center_lng, min_lat, min_lng, max_lat, max_lng, 0, 0, 0, created_at, updated_at FROM grids WHERE code = '411602001'";
    let mut tx = app.db.begin().await.unwrap();
    gongzhi::on_tx!(&mut tx, |c| sqlx::query(sql).execute(c).await.map(|_| ())).unwrap();
    tx.commit().await.unwrap();
    code.to_string()
}

#[tokio::test]
async fn a_patrol_checks_only_its_streets_frontages() {
    for app in apps().await {
        let e = app.engine;
        let admin = app.token("admin").await;
        let other = second_street(&app).await;
        let a = sign(&app, &admin, &other, "外街商店").await;
        let id = a["id"].as_str().unwrap();
        let inside = sign(&app, &admin, COMMUNITY, "本街商店").await;
        let body = json!({"sanitation": true, "orderliness": true});
        for user in ["street", "community", "compound", "building"] {
            let t = app.token(user).await;
            let (st, v) = app.get(&format!("/api/v1/frontage/agreements/{id}"), &t).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] {user} reads another street's: {v}");
            assert!(v.get("agreement").is_none());
            let (st, _) = app
                .post(&format!("/api/v1/frontage/agreements/{id}/checks"), &t, body.clone())
                .await;
            assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] {user} checks another street's");
            let (st, _) = app.get(&format!("/api/v1/frontage/agreements?grid={other}"), &t).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] {user} lists another street");
            let (st, _) = app.get(&format!("/api/v1/frontage/compliance?grid={other}"), &t).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] {user} reads another street's rate");
            let (_, list) = app.get("/api/v1/frontage/agreements?per_page=100", &t).await;
            assert!(
                list["items"].as_array().unwrap().iter().all(|x| x["street"] == STREET),
                "[{e}] {user} sees only its street"
            );
            // Its own street's frontage, even in another community: a patrol of the street.
            let (st, v) = app
                .post(
                    &format!("/api/v1/frontage/agreements/{}/checks", inside["id"].as_str().unwrap()),
                    &t,
                    body.clone(),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "[{e}] {user}: {v}");
        }
        let (st, _) = app.post(&format!("/api/v1/frontage/agreements/{id}/checks"), &admin, body).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] the district checks everywhere");
    }
}

#[tokio::test]
async fn the_pages_and_the_public_list() {
    for app in apps().await {
        let e = app.engine;
        let cookie = sign_in(&app, "community").await;
        let (st, html) = page(&app, &cookie, "/console/frontage").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(
            html.contains("门前三包") && html.contains("签订新责任书") && html.contains("导出Excel"),
            "[{e}]"
        );
        let community = app.token("community").await;
        let a = sign(&app, &community, COMMUNITY, "页面测试店").await;
        let id = a["id"].as_str().unwrap();
        for path in [
            format!("/console/frontage/{id}"),
            format!("/console/frontage/{id}/print"),
            format!("/console/frontage/{id}/check"),
            "/console/frontage/compliance".to_string(),
            format!("/console/frontage/compliance?grid={COMMUNITY}"),
        ] {
            let (st, html) = page(&app, &cookie, &path).await;
            assert_eq!(st, StatusCode::OK, "[{e}] {path}");
            assert!(!html.contains("13912345678"), "[{e}] {path} shows the phone in full");
        }
        let (_, print) = page(&app, &cookie, &format!("/console/frontage/{id}/print")).await;
        assert!(
            print.contains("门前三包责任书") && print.contains("甲方") && print.contains("乙方"),
            "[{e}]"
        );
        // The street's public page lists the agreements, no names or phones.
        let html = app
            .client
            .get(format!("{}/g/{STREET}", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("门前三包责任单位") && html.contains("页面测试店"), "[{e}]");
        assert!(
            !html.contains("欧阳测签") && !html.contains("13912345678"),
            "[{e}] no personal data"
        );
        // The ledger: an Excel file of the agreements in scope.
        let resp = app
            .client
            .get(format!("{}/api/v1/exports/frontage.xlsx?grid={COMMUNITY}", app.base))
            .bearer_auth(&community)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "[{e}] the ledger");
        let bytes = resp.bytes().await.unwrap();
        assert!(bytes.starts_with(b"PK"), "[{e}] an xlsx");
        // The demo's patrols: a month of checks with some notices.
        let (st, c) = app.get(&format!("/api/v1/frontage/compliance?grid={STREET}"), &community).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {c}");
        let notices = app.count("frontage_notices").await;
        assert!(notices >= 1, "[{e}] the demo has notices");
    }
}
