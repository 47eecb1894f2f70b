//! Red property (红色物业), on both engines: coverage and the 三无 list with steps until managed,
//! evaluators who score only what they are asked to and once per quarter (a second submit edits),
//! the published red and black list with corrections and the removal flag, fee rates entered by
//! the company for its own compounds only, and who is refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{App, apps, code, page, sign_in};

const COMMUNITY: &str = "411602001001";
const OUTSIDE_COMMUNITY: &str = "411602001002";
const COMPOUND: &str = "411602001001001";
/// In 金桂社区, served by another company than the `property` account's.
const OUTSIDE_COMPOUND: &str = "411602001002001";

async fn user_id(app: &App, username: &str) -> Uuid {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, Uuid>(
        "SELECT id FROM users WHERE username = $1"
    )
    .bind(username)
    .fetch_one(p)
    .await)
    .unwrap()
}

/// A compound party branch (小区党支部) at `compound`, led by `secretary`: what the party feature
/// records (its demo is not part of this feature's).
async fn branch(app: &App, compound: &str, secretary: Option<Uuid>) {
    let mut tx = app.db.begin().await.unwrap();
    gongzhi::on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO party_orgs (id, district, kind, name, grid_code, secretary_user_id, created_at) VALUES ($1, '411602', 'branch', $2, $3, $4, 0)"
    )
    .bind(Uuid::now_v7())
    .bind(format!("{compound}党支部"))
    .bind(compound)
    .bind(secretary)
    .execute(c)
    .await
    .map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
}

fn current() -> String {
    gongzhi::property::rules::Quarter::of_ms(gongzhi::db::now_ms()).to_string()
}

fn last() -> String {
    gongzhi::property::rules::Quarter::of_ms(gongzhi::db::now_ms())
        .previous()
        .to_string()
}

fn sheet(compound: &str, evaluator: &str, v: i64) -> Value {
    json!({"compound": compound, "evaluator": evaluator, "cleaning": v, "security": v, "repairs": v, "greening": v, "response": v})
}

#[tokio::test]
async fn coverage_follows_service_committee_and_branch_and_a_street_sees_only_its_own() {
    for app in apps().await {
        let e = app.engine;
        let community = app.token("community").await;
        let (st, v) = app
            .get(&format!("/api/v1/property/coverage?grid={COMMUNITY}&per_page=2"), &community)
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        let total = v["total"].as_i64().unwrap();
        assert!(total >= 3, "[{e}] {v}");
        assert_eq!(v["items"].as_array().unwrap().len(), 2, "[{e}] paged");
        assert_eq!(v["summary"]["compounds"], total, "[{e}]");
        let first = &v["items"][0];
        for k in [
            "compound",
            "name",
            "property_company",
            "owners_committee",
            "party_branch",
            "three_nos",
            "covered",
        ] {
            assert!(first.get(k).is_some(), "[{e}] {k} in {first}");
        }
        assert_eq!(first["compound"], COMPOUND);
        // A compound with a company and a committee but no party branch yet is not covered; a
        // branch covers it.
        let (_, all) = app.get(&format!("/api/v1/property/coverage?grid={COMMUNITY}"), &community).await;
        let gap = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["party_branch"] == false && x["owners_committee"] == true && x["service"] == "company")
            .cloned()
            .unwrap_or_else(|| panic!("[{e}] the demo leaves a managed compound without a branch: {all}"));
        assert_eq!(gap["covered"], false, "[{e}] {gap}");
        let gap_code = gap["compound"].as_str().unwrap().to_string();
        let before = gongzhi::property::service::coverage_summary(&app.db, "411602", COMMUNITY)
            .await
            .unwrap();
        branch(&app, &gap_code, None).await;
        let (_, v) = app.get(&format!("/api/v1/property/coverage?grid={COMMUNITY}"), &community).await;
        let now = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["compound"] == gap_code.as_str())
            .unwrap();
        assert_eq!(now["party_branch"], true, "[{e}]");
        assert_eq!(now["covered"], true, "[{e}]");
        let after = gongzhi::property::service::coverage_summary(&app.db, "411602", COMMUNITY)
            .await
            .unwrap();
        assert_eq!(after.covered, before.covered + 1, "[{e}] the five-star feature's figure follows");
        assert_eq!(after.compounds, before.compounds);
        // A lapsed owners' committee (业委会失效) counts as none.
        let (st, v) = app
            .call(
                Method::PUT,
                &format!("/api/v1/property/compounds/{COMPOUND}"),
                Some(&community),
                Some(json!({"service": "none", "committee_lapsed": true})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert_eq!(
            (v["owners_committee"].as_bool(), v["covered"].as_bool()),
            (Some(false), Some(false)),
            "[{e}] {v}"
        );
        assert_eq!(v["three_nos"], false, "[{e}] it has a company");
        // Scope: a community is refused another community; the street sees both; a resident nothing.
        let (st, v) = app
            .get(&format!("/api/v1/property/coverage?grid={OUTSIDE_COMMUNITY}"), &community)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] {v}");
        let street = app.token("street").await;
        let (st, v) = app
            .get(&format!("/api/v1/property/coverage?grid={OUTSIDE_COMMUNITY}"), &street)
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["compound"].as_str().unwrap().starts_with(OUTSIDE_COMMUNITY))
        );
        let (st, v) = app.get("/api/v1/property/coverage?grid=411602002", &street).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] another street: {v}");
        let resident = app.token("resident").await;
        let (st, v) = app.get("/api/v1/property/coverage", &resident).await;
        assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "[{e}]");
    }
}

#[tokio::test]
async fn a_three_nos_compound_stays_listed_with_its_steps_until_managed() {
    for app in apps().await {
        let e = app.engine;
        let street = app.token("street").await;
        let (st, list) = app.get("/api/v1/property/three-nos?grid=411602001", &street).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {list}");
        let bad = list
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["three_nos"] == true)
            .unwrap_or_else(|| panic!("[{e}] the demo has a 三无 compound: {list}"))
            .clone();
        assert!(!bad["steps"].as_array().unwrap().is_empty(), "[{e}] with its steps: {bad}");
        assert!(!bad["responsible"].as_str().unwrap().is_empty(), "[{e}] someone answers for it");
        let code_ = bad["compound"].as_str().unwrap().to_string();
        let steps = bad["steps"].as_array().unwrap().len();
        // A step: bad dates refused, a good one recorded.
        let path = format!("/api/v1/property/compounds/{code_}/steps");
        let (st, _) = app.post(&path, &street, json!({"date": "2999-01-01", "note": "未来的进展"})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{e}] no future step");
        let (st, v) = app
            .post(
                &path,
                &street,
                json!({"date": "２０２６-０８-０１", "note": "社区组织业主推选物管会成员"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        // A compound leader (no ManageGrid) may not.
        let leader = app.token("compound").await;
        let (st, _) = app.post(&path, &leader, json!({"date": "2026-08-01", "note": "x x"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
        // A 物管会 is formed: no longer 三无, still listed with its steps.
        let (st, v) = app
            .call(
                Method::PUT,
                &format!("/api/v1/property/compounds/{code_}"),
                Some(&street),
                Some(json!({"service": "management_committee", "responsible": "李建国（社区党委书记）"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert_eq!(
            (v["three_nos"].as_bool(), v["owners_committee"].as_bool()),
            (Some(false), Some(true)),
            "[{e}] {v}"
        );
        let (_, list) = app.get("/api/v1/property/three-nos?grid=411602001", &street).await;
        let now = list
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["compound"] == code_.as_str())
            .unwrap()
            .clone();
        assert_eq!(now["three_nos"], false, "[{e}]");
        assert_eq!(now["steps"].as_array().unwrap().len(), steps + 1, "[{e}] {now}");
        // Another community's staff cannot touch a compound outside it; an unknown service is refused.
        let community = app.token("community").await;
        let (st, _) = app
            .call(
                Method::PUT,
                &format!("/api/v1/property/compounds/{OUTSIDE_COMPOUND}"),
                Some(&community),
                Some(json!({"service": "self"})),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        let (st, v) = app
            .call(
                Method::PUT,
                &format!("/api/v1/property/compounds/{COMPOUND}"),
                Some(&community),
                Some(json!({"service": "bogus"})),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_service"), "[{e}]");
    }
}

#[tokio::test]
async fn an_evaluator_scores_only_its_own_and_once_per_quarter() {
    for app in apps().await {
        let e = app.engine;
        let community = app.token("community").await;
        let (st, t) = app.get("/api/v1/property/tasks", &community).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {t}");
        let items = t["items"].as_array().unwrap();
        assert!(
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i["evaluator"] == "community" && i["compound"].as_str().unwrap().starts_with(COMMUNITY)),
            "[{e}] {t}"
        );
        let before = app.count("property_scores").await;
        let (st, first) = app
            .post("/api/v1/property/scores", &community, sheet(COMPOUND, "community", 90))
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {first}");
        assert_eq!(first["period"], current().as_str());
        // A second submit edits the same sheet.
        let (st, second) = app
            .post("/api/v1/property/scores", &community, sheet(COMPOUND, "community", 70))
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {second}");
        assert_eq!(first["id"], second["id"], "[{e}] one sheet per evaluator per quarter");
        assert_eq!(second["score"], 70.0);
        assert_eq!(app.count("property_scores").await, before + 1, "[{e}]");
        // Not another kind, not another community's compound; bounded scores.
        let (st, _) = app.post("/api/v1/property/scores", &community, sheet(COMPOUND, "street", 80)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] not the street's sheet");
        let (st, _) = app
            .post("/api/v1/property/scores", &community, sheet(OUTSIDE_COMPOUND, "community", 80))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] not another community's compound");
        let (st, v) = app
            .post("/api/v1/property/scores", &community, sheet(COMPOUND, "community", 101))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_score"), "[{e}]");
        // The owners' committee: the `owner` account sits on the first compound's.
        let owner = app.token("owner").await;
        let (_, t) = app.get("/api/v1/property/tasks", &owner).await;
        assert_eq!(t["items"].as_array().unwrap().len(), 1, "[{e}] {t}");
        assert_eq!(t["items"][0]["evaluator"], "owners_committee");
        let (st, v) = app
            .post("/api/v1/property/scores", &owner, sheet(COMPOUND, "owners_committee", 60))
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        let (st, _) = app.post("/api/v1/property/scores", &owner, sheet(COMPOUND, "community", 60)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] a committee member is not the community");
        let (st, _) = app
            .post("/api/v1/property/scores", &owner, sheet("411602001001003", "owners_committee", 60))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] nor another compound's committee");
        // A branch secretary (the `resident` account, once the branch is theirs) scores as the branch.
        let resident = app.token("resident").await;
        let (st, _) = app
            .post("/api/v1/property/scores", &resident, sheet(COMPOUND, "party_branch", 80))
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] no branch yet");
        branch(&app, COMPOUND, Some(user_id(&app, "resident").await)).await;
        let (_, t) = app.get("/api/v1/property/tasks", &resident).await;
        assert_eq!(t["items"][0]["evaluator"], "party_branch", "[{e}] {t}");
        let (st, v) = app
            .post("/api/v1/property/scores", &resident, sheet(COMPOUND, "party_branch", 80))
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        // The live standing: the company's score re-weights over the three evaluators present.
        let admin = app.token("admin").await;
        let (st, ev) = app.get(&format!("/api/v1/property/evaluations?period={}", current()), &admin).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {ev}");
        assert_eq!(ev["published"], false);
        let property = app.token("property").await;
        let (_, me) = app.get("/api/v1/me", &property).await;
        let company = me["posts"][0]["unit_id"].as_str().unwrap().to_string();
        let mine = ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["company"] == company.as_str())
            .unwrap()
            .clone();
        assert_eq!(mine["score"], 70.0, "[{e}] (70 + 60 + 80) / 3: {mine}");
        // A quarter not over cannot be published; the last one is published already.
        let (st, v) = app
            .post(&format!("/api/v1/property/evaluations/{}/publish", current()), &admin, json!({}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "period_open"), "[{e}]");
        let (st, v) = app
            .post(&format!("/api/v1/property/evaluations/{}/publish", last()), &admin, json!({}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_published"), "[{e}]");
        // A published quarter takes no more sheets.
        let mut late = sheet(COMPOUND, "community", 80);
        late["period"] = json!(last());
        let (st, v) = app.post("/api/v1/property/scores", &community, late).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "period_closed"), "[{e}]");
    }
}

#[tokio::test]
async fn the_red_and_black_list_with_corrections_and_the_removal_flag() {
    for app in apps().await {
        let e = app.engine;
        let street = app.token("street").await;
        let (st, ev) = app.get(&format!("/api/v1/property/evaluations?period={}", last()), &street).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {ev}");
        assert_eq!(ev["published"], true);
        let items = ev["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "[{e}] the small demo's three companies: {ev}");
        assert!(items.windows(2).all(|w| w[0]["rank"].as_i64() <= w[1]["rank"].as_i64()));
        assert!(items.iter().any(|i| i["list"] == "red"), "[{e}] {ev}");
        let black = items.iter().find(|i| i["list"] == "black").expect("a black-listed company").clone();
        assert_eq!(black["flagged"], true, "[{e}] black two quarters running: {black}");
        // Its correction, tracked by the street.
        let (_, list) = app.get(&format!("/api/v1/property/corrections?period={}", last()), &street).await;
        let c = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["company"] == black["company"])
            .unwrap()
            .clone();
        assert_eq!(c["done"], false, "[{e}] {c}");
        let path = format!("/api/v1/property/corrections/{}/done", c["id"].as_str().unwrap());
        let community = app.token("community").await;
        let (st, _) = app.post(&path, &community, json!({"note": "已整改"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] the street tracks corrections");
        let (st, v) = app.post(&path, &street, json!({"note": "保洁和门岗整改到位，经复查合格"})).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert_eq!(v["done"], true);
        let (st, v) = app.post(&path, &street, json!({"note": "再次提交"})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_done"), "[{e}]");
        // Residents read the public page, not the API.
        let resident = app.token("resident").await;
        let (st, _) = app.get("/api/v1/property/evaluations", &resident).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
        let r = app.client.get(format!("{}/property/lists", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("红榜") && html.contains("黑榜") && html.contains(black["name"].as_str().unwrap()),
            "[{e}] public page"
        );
        assert!(html.contains("清退"), "[{e}] the removal flag is public");
        // Settings: the district's alone, bounded.
        let admin = app.token("admin").await;
        let body = json!({"w_street": 40, "w_community": 20, "w_committee": 20, "w_branch": 20, "red_n": 1, "black_n": 1, "floor_score": 60, "fee_threshold": 85});
        let (st, _) = app
            .call(Method::PUT, "/api/v1/property/settings", Some(&street), Some(body.clone()))
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
        let (st, v) = app.call(Method::PUT, "/api/v1/property/settings", Some(&admin), Some(body)).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        let (_, v) = app.get("/api/v1/property/settings", &street).await;
        assert_eq!(
            (v["w_street"].as_i64(), v["fee_threshold"].as_f64()),
            (Some(40), Some(85.0)),
            "[{e}] {v}"
        );
    }
}

#[tokio::test]
async fn a_company_enters_fee_rates_for_its_own_compounds_only() {
    for app in apps().await {
        let e = app.engine;
        let property = app.token("property").await;
        let month = gongzhi::time::month_ms(gongzhi::db::now_ms());
        let (st, v) = app
            .post(
                "/api/v1/property/fees",
                &property,
                json!({"compound": COMPOUND, "month": month, "rate": 42.5}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        let (st, v) = app
            .post(
                "/api/v1/property/fees",
                &property,
                json!({"compound": COMPOUND, "month": month, "rate": 100.5}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_rate"), "[{e}]");
        let (st, v) = app
            .post(
                "/api/v1/property/fees",
                &property,
                json!({"compound": COMPOUND, "month": "2999-01", "rate": 50}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_month"), "[{e}]");
        let (st, _) = app
            .post(
                "/api/v1/property/fees",
                &property,
                json!({"compound": OUTSIDE_COMPOUND, "month": month, "rate": 50}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] another company's compound");
        let community = app.token("community").await;
        let (st, _) = app
            .post(
                "/api/v1/property/fees",
                &community,
                json!({"compound": COMPOUND, "month": month, "rate": 50}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] companies enter fees");
        // The trend, oldest first, ending with this month.
        let (st, v) = app.get(&format!("/api/v1/property/fees?compound={COMPOUND}"), &property).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        let months = v["months"].as_array().unwrap();
        assert_eq!(months.len(), 12, "[{e}] twelve months");
        assert_eq!(months.last().unwrap()["month"], month.as_str());
        assert_eq!(months.last().unwrap()["rate"], 42.5);
        let (st, _) = app
            .get(&format!("/api/v1/property/fees?compound={OUTSIDE_COMPOUND}"), &property)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        // The street sees the compound below the threshold this month.
        let street = app.token("street").await;
        let (st, v) = app.get(&format!("/api/v1/property/fees/below?month={month}"), &street).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["compound"] == COMPOUND && i["rate"] == 42.5),
            "[{e}] {v}"
        );
        let (st, _) = app.get("/api/v1/property/fees/below?grid=411602001002", &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] a community sees its own");
    }
}

#[tokio::test]
async fn pages_for_each_role() {
    for app in apps().await {
        let e = app.engine;
        let cookie = sign_in(&app, "community").await;
        let (st, html) = page(&app, &cookie, "/console/property").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(
            html.contains("<svg") && html.contains("三无小区") && html.contains("红色物业覆盖"),
            "[{e}] coverage page"
        );
        let (st, html) = page(&app, &cookie, "/console/property/evaluate").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("提交评分") && html.contains("环境保洁"), "[{e}] the form");
        let (st, html) = page(&app, &cookie, &format!("/console/property/lists?period={}", last())).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("黑榜整改跟踪"), "[{e}]");
        let street = sign_in(&app, "street").await;
        let (_, html) = page(&app, &street, &format!("/console/property/lists?period={}", last())).await;
        assert!(html.contains("整改完成"), "[{e}] the street marks corrections done");
        let property = sign_in(&app, "property").await;
        let (st, html) = page(&app, &property, "/console/property/fees").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(
            html.contains("学院春天") || html.contains("收缴率"),
            "[{e}] the company's compounds"
        );
        let owner = sign_in(&app, "owner").await;
        let (st, html) = page(&app, &owner, "/console/property/evaluate").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("业委会（物管会）"), "[{e}] the committee's sheet");
        let keeper = sign_in(&app, "keeper").await;
        let (st, _) = page(&app, &keeper, "/console/property/fees").await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
    }
}
