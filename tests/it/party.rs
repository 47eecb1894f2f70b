//! Party building (党建), on both engines: the demo's organisations and members (tag and member row
//! agree), scope (a unit sees its own members only, a community not its neighbour's, a resident
//! only their own page), report-in, posts with consent on the public page, service records with
//! bounded input, the model household review flow, and the pages.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};

const COMPOUND: &str = "411602001001001";
const COMMUNITY: &str = "411602001001";
const OTHER_COMMUNITY: &str = "411602001002";

async fn unit_of(app: &App, token: &str) -> String {
    let (_, me) = app.get("/api/v1/me", token).await;
    me["posts"][0]["unit_id"].as_str().unwrap().to_string()
}

async fn items(app: &App, path: &str, token: &str) -> Vec<Value> {
    let (st, v) = app.get(path, token).await;
    assert_eq!(st, StatusCode::OK, "[{}] {path}: {v}", app.engine);
    v["items"].as_array().unwrap().clone()
}

/// A resident of the first compound who is no party member yet.
async fn non_member(app: &App, token: &str) -> Value {
    items(app, &format!("/api/v1/residents?grid={COMPOUND}&per_page=100"), token)
        .await
        .into_iter()
        .find(|r| !r["tags"].as_array().unwrap().iter().any(|t| t == "党员"))
        .expect("a resident who is no member")
}

async fn scalar(app: &App, sql: &str) -> i64 {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(p)
        .await)
    .unwrap()
}

#[tokio::test]
async fn the_demo_has_organisations_members_and_consistent_tags() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    for app in apps().await {
        let admin = app.token("admin").await;
        let orgs = items(&app, "/api/v1/party/orgs?grid=411602&per_page=100", &admin).await;
        for kind in ["district_committee", "working_committee", "branch"] {
            assert!(orgs.iter().any(|o| o["kind"] == kind), "[{}] a {kind}", app.engine);
        }
        let branch = items(&app, &format!("/api/v1/party/orgs?grid={COMPOUND}&kind=branch"), &admin).await;
        let branch = branch.iter().find(|o| o["grid"] == COMPOUND).expect("the first compound's branch");
        assert!(
            !branch["secretary"].as_str().unwrap().is_empty(),
            "the `party` account is its secretary"
        );
        // Every resident member is tagged 党员, and every resident tagged 党员 is a member.
        let untagged = scalar(
            &app,
            "SELECT COUNT(*) FROM party_members m JOIN residents r ON r.id = m.resident_id WHERE r.tags NOT LIKE '%党员%'",
        )
        .await;
        let unregistered = scalar(
            &app,
            "SELECT COUNT(*) FROM residents r WHERE r.tags LIKE '%党员%' AND NOT EXISTS (SELECT 1 FROM party_members m WHERE m.resident_id = r.id)",
        )
        .await;
        assert_eq!((untagged, unregistered), (0, 0), "[{}]", app.engine);
        assert!(scalar(&app, "SELECT COUNT(*) FROM party_members WHERE cadre = TRUE").await >= 60);
        assert!(scalar(&app, "SELECT COUNT(*) FROM party_service").await > 100);
        // Property companies' branches sit at their unit; the compound branch's detail lists its work.
        assert!(scalar(&app, "SELECT COUNT(*) FROM party_orgs WHERE unit_id IS NOT NULL").await >= 12);
        let (st, d) = app
            .get(&format!("/api/v1/party/orgs/{}", branch["id"].as_str().unwrap()), &admin)
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            !d["members_list"].as_array().unwrap().is_empty() && !d["posts"].as_array().unwrap().is_empty(),
            "{d}"
        );
    }
}

#[tokio::test]
async fn a_unit_sees_its_own_members_and_records_their_report_in() {
    for app in apps().await {
        let dept = app.token("department").await;
        let unit = unit_of(&app, &dept).await;
        let mine = items(&app, &format!("/api/v1/party/members?unit={unit}&per_page=100"), &dept).await;
        assert!(!mine.is_empty(), "[{}] the unit has cadres", app.engine);
        assert!(mine.iter().all(|m| m["unit"] == unit.as_str()));
        assert!(mine.iter().all(|m| m["phone"].as_str().unwrap().contains("****")), "phones masked");
        // Another unit's members, and the grid's: not theirs.
        let admin = app.token("admin").await;
        let other = items(&app, "/api/v1/party/members?grid=411602&per_page=100", &admin)
            .await
            .into_iter()
            .find(|m| m["kind"] == "in_service" && m["unit"] != unit.as_str())
            .expect("another unit's member");
        let (st, v) = app
            .get(&format!("/api/v1/party/members?unit={}", other["unit"].as_str().unwrap()), &dept)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
        let (st, _) = app
            .get(&format!("/api/v1/party/members/{}", other["id"].as_str().unwrap()), &dept)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, v) = app.get(&format!("/api/v1/party/members?grid={COMMUNITY}"), &dept).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
        // A new in-service member: due until they report, then reported to the community.
        let (st, m) = app
            .post(
                "/api/v1/party/members",
                &dept,
                json!({"unit": unit, "name": "测试党员", "phone": "１３８１２３４５６７８"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
        assert_eq!(
            (m["report_status"].as_str(), m["phone"].as_str()),
            (Some("due"), Some("138****5678"))
        );
        let id = m["id"].as_str().unwrap();
        let unreported = items(
            &app,
            &format!("/api/v1/party/members?unit={unit}&status=unreported&per_page=100"),
            &dept,
        )
        .await;
        assert!(unreported.iter().any(|x| x["id"] == id));
        let (st, v) = app
            .post(
                &format!("/api/v1/party/members/{id}/report"),
                &dept,
                json!({"grid": "411602001001001001"}),
            )
            .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_grid"),
            "a building is no place to report to"
        );
        let (st, v) = app
            .post(
                &format!("/api/v1/party/members/{id}/report"),
                &dept,
                json!({"grid": COMMUNITY, "date": "２０２６-０１-０５"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["report_status"].as_str(), v["reported_on"].as_str()),
            (Some("reported"), Some("2026-01-05"))
        );
        // The community now sees them; the neighbouring community does not; the unit still does.
        let community = app.token("community").await;
        let (st, _) = app.get(&format!("/api/v1/party/members/{id}"), &community).await;
        assert_eq!(st, StatusCode::OK);
        // Only the grid may assign (分包); the unit may not.
        let (st, _) = app
            .post(&format!("/api/v1/party/members/{id}/assign"), &dept, json!({"grid": COMPOUND}))
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = app
            .post(&format!("/api/v1/party/members/{id}/assign"), &community, json!({"grid": COMPOUND}))
            .await;
        assert_eq!(
            (st, v["assigned_grid"].as_str(), v["cadre"].as_bool()),
            (StatusCode::OK, Some(COMPOUND), Some(true)),
            "{v}"
        );
        let audits = scalar(
            &app,
            &format!("SELECT COUNT(*) FROM audit_log WHERE target_id = '{id}' AND action IN ('party.member_create', 'party.report', 'party.assign')"),
        )
        .await;
        assert_eq!(audits, 3, "[{}]", app.engine);
    }
}

#[tokio::test]
async fn a_community_sees_its_own_a_street_its_communities_a_resident_only_their_page() {
    for app in apps().await {
        let (admin, street, community) = (app.token("admin").await, app.token("street").await, app.token("community").await);
        let other = items(&app, &format!("/api/v1/party/orgs?grid={OTHER_COMMUNITY}"), &admin).await;
        let other_org = other[0]["id"].as_str().unwrap().to_string();
        let (st, _) = app.get(&format!("/api/v1/party/orgs?grid={OTHER_COMMUNITY}"), &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{}]", app.engine);
        let (st, _) = app.get(&format!("/api/v1/party/orgs/{other_org}"), &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = app.get(&format!("/api/v1/party/orgs/{other_org}"), &street).await;
        assert_eq!(st, StatusCode::OK);
        let own = items(&app, "/api/v1/party/members?per_page=100", &community).await;
        assert!(own.iter().all(|m| {
            [&m["grid"], &m["report_grid"], &m["assigned_grid"]]
                .iter()
                .any(|g| g.as_str().is_some_and(|g| g.starts_with(COMMUNITY)))
        }));
        // Residents: no lists; their own page only.
        let resident = app.token("resident").await;
        let (st, _) = app.get("/api/v1/party/orgs", &resident).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = app.get("/api/v1/party/me", &resident).await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "the `resident` is no member");
        let member = app.token("member").await;
        let (st, me) = app.get("/api/v1/party/me", &member).await;
        assert_eq!(st, StatusCode::OK, "{me}");
        assert!(me["grid"].as_str().unwrap().starts_with(COMPOUND));
        assert!(
            me["posts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["post"] == "building_center" && p["public"] == true),
            "{me}"
        );
        let someone = own.iter().find(|m| m["id"] != me["id"]).unwrap();
        let (st, _) = app
            .get(&format!("/api/v1/party/members/{}", someone["id"].as_str().unwrap()), &member)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = app.get("/api/v1/party/me", &admin).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn a_resident_member_gets_the_tag_and_a_post_shows_only_with_consent() {
    for app in apps().await {
        let community = app.token("community").await;
        let r = non_member(&app, &community).await;
        let (st, m) = app.post("/api/v1/party/members", &community, json!({"resident": r["id"]})).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {m}", app.engine);
        let (_, again) = app
            .get(&format!("/api/v1/residents/{}", r["id"].as_str().unwrap()), &community)
            .await;
        assert!(
            again["tags"].as_array().unwrap().iter().any(|t| t == "党员"),
            "tagged in the same transaction: {again}"
        );
        let (st, v) = app.post("/api/v1/party/members", &community, json!({"resident": r["id"]})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_member"));
        // A resident of the neighbouring community is not this community's to register.
        let admin = app.token("admin").await;
        let outside = items(&app, &format!("/api/v1/residents?grid={OTHER_COMMUNITY}&per_page=5"), &admin).await;
        let (st, _) = app
            .post("/api/v1/party/members", &community, json!({"resident": outside[0]["id"]}))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // A post without consent is not public; with consent it is.
        let id = m["id"].as_str().unwrap();
        let name = m["name"].as_str().unwrap();
        let (st, v) = app
            .post(
                &format!("/api/v1/party/members/{id}/posts"),
                &community,
                json!({"post": "mediation", "grid": "411602002001001", "consent": true}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "not a place of this community: {v}");
        let (st, v) = app
            .post(
                &format!("/api/v1/party/members/{id}/posts"),
                &community,
                json!({"post": "bogus", "grid": COMPOUND, "consent": true}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_post"));
        let (st, post_v) = app
            .post(
                &format!("/api/v1/party/members/{id}/posts"),
                &community,
                json!({"post": "mediation", "grid": COMPOUND, "consent": false}),
            )
            .await;
        assert_eq!((st, post_v["public"].as_bool()), (StatusCode::CREATED, Some(false)), "{post_v}");
        let public = |app: &App| {
            let url = format!("{}/g/{COMPOUND}", app.base);
            let client = app.client.clone();
            async move { client.get(url).send().await.unwrap().text().await.unwrap() }
        };
        let html = public(&app).await;
        assert!(
            html.contains("党员亮身份") && html.contains("楼栋党员中心户"),
            "the demo's consented posts show"
        );
        assert!(!html.contains(&format!("<b>矛盾调解岗</b>：{name}")), "no consent, not shown");
        let (st, v) = app
            .post(
                &format!("/api/v1/party/posts/{}/consent", post_v["id"].as_str().unwrap()),
                &community,
                json!({"consent": true}),
            )
            .await;
        assert_eq!((st, v["public"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
        assert!(public(&app).await.contains(&format!("<b>矛盾调解岗</b>：{name}")));
        // A resident may not change another member's consent.
        let member = app.token("member").await;
        let (st, _) = app
            .post(
                &format!("/api/v1/party/posts/{}/consent", post_v["id"].as_str().unwrap()),
                &member,
                json!({"consent": false}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn service_records_are_bounded_and_nothing_half_written() {
    for app in apps().await {
        let member = app.token("member").await;
        let (_, me) = app.get("/api/v1/party/me", &member).await;
        let id = me["id"].as_str().unwrap();
        let before = app.count("party_service").await;
        for (body, want) in [
            (json!({"served_on": "2026-01-02", "hours": 25, "what": "入户宣传"}), "invalid_hours"),
            (
                json!({"served_on": "2026-01-02", "hours": "1.2", "what": "入户宣传"}),
                "invalid_hours",
            ),
            (json!({"served_on": "2999-01-02", "hours": 1, "what": "入户宣传"}), "invalid_date"),
            (json!({"served_on": "2026-01-02", "hours": 1, "what": "x"}), "invalid_what"),
            (
                json!({"served_on": "2026-01-02", "hours": 1, "what": "入户宣传", "case": "00000000-0000-0000-0000-000000000000"}),
                "unknown_case",
            ),
        ] {
            let (st, v) = app.post(&format!("/api/v1/party/members/{id}/service"), &member, body).await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{}] {v}", app.engine);
        }
        assert_eq!(app.count("party_service").await, before);
        let (st, v) = app
            .post(
                &format!("/api/v1/party/members/{id}/service"),
                &member,
                json!({"served_on": "2026-01-02", "hours": "１.５", "what": "入户宣传垃圾分类"}),
            )
            .await;
        assert_eq!((st, v["hours"].as_f64()), (StatusCode::CREATED, Some(1.5)), "{v}");
        // Another member's service is not the member account's to record.
        let community = app.token("community").await;
        let other = items(&app, "/api/v1/party/members?per_page=100", &community)
            .await
            .into_iter()
            .find(|m| m["id"] != id)
            .unwrap();
        let (st, _) = app
            .post(
                &format!("/api/v1/party/members/{}/service", other["id"].as_str().unwrap()),
                &member,
                json!({"served_on": "2026-01-02", "hours": 1, "what": "入户宣传"}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(app.count("party_service").await, before + 1);
    }
}

#[tokio::test]
async fn model_households_are_nominated_reviewed_and_published() {
    for app in apps().await {
        let (community, compound) = (app.token("community").await, app.token("compound").await);
        let r = non_member(&app, &community).await;
        let hh = r["household_id"].as_str().unwrap().to_string();
        let (st, v) = app
            .post("/api/v1/party/model-households", &compound, json!({"household": hh, "year": 2026}))
            .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "no_party_member"),
            "[{}] {v}",
            app.engine
        );
        let (st, _) = app.post("/api/v1/party/members", &community, json!({"resident": r["id"]})).await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, v) = app
            .post("/api/v1/party/model-households", &compound, json!({"household": hh, "year": 1999}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_year"));
        let (st, x) = app
            .post("/api/v1/party/model-households", &compound, json!({"household": hh, "year": 2026}))
            .await;
        assert_eq!((st, x["status"].as_str()), (StatusCode::CREATED, Some("nominated")), "{x}");
        let (st, _) = app
            .post("/api/v1/party/model-households", &compound, json!({"household": hh, "year": 2026}))
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "once a year");
        let id = x["id"].as_str().unwrap();
        let review = format!("/api/v1/party/model-households/{id}/review");
        let (st, _) = app.post(&review, &compound, json!({"decision": "approve"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "a compound leader nominates, the community reviews");
        let (st, v) = app.post(&review, &community, json!({"decision": "refuse", "reason": " "})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "reason_required"));
        let (st, v) = app.post(&review, &community, json!({"decision": "approve"})).await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("approved")));
        let (st, v) = app
            .post(&review, &community, json!({"decision": "refuse", "reason": "重复审核"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_reviewed"));
        let street = app.token("street").await;
        let (st, _) = app
            .post(
                "/api/v1/party/model-households/publish",
                &community,
                json!({"year": 2026, "grid": OTHER_COMMUNITY}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, v) = app
            .post(
                "/api/v1/party/model-households/publish",
                &street,
                json!({"year": 2026, "grid": COMMUNITY}),
            )
            .await;
        assert_eq!((st, v["published"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
        let list = items(
            &app,
            &format!("/api/v1/party/model-households?year=2026&grid={COMMUNITY}&status=published&per_page=100"),
            &community,
        )
        .await;
        assert!(list.iter().any(|x| x["id"] == id));
        let html = app
            .client
            .get(format!("{}/g/{}", app.base, r["grid"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("党员示范户"), "published on the public page");
        let full = x["address"].as_str().unwrap();
        assert!(full.ends_with('室') && !html.contains(full), "no door numbers in public: {full}");
    }
}

#[tokio::test]
async fn the_pages_walk() {
    for app in apps().await {
        let member = sign_in(&app, "member").await;
        let (st, html) = page(&app, &member, "/console/party/me").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("楼栋党员中心户") && html.contains("记录一次服务"), "[{}]", app.engine);
        let csrf = csrf_of(&html);
        let (st, _, to) = post(
            &app,
            &member,
            "/console/party/me/service",
            &[("csrf", &csrf), ("served_on", "2026-01-03"), ("hours", "99"), ("what", "入户走访")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        assert!(to.unwrap().contains("err="), "bad hours come back with the message");
        let (_, _, to) = post(
            &app,
            &member,
            "/console/party/me/service",
            &[
                ("csrf", &csrf),
                ("served_on", "2026-01-03"),
                ("hours", "2"),
                ("what", "入户走访独居老人"),
            ],
        )
        .await;
        assert!(to.unwrap().contains("msg="));
        let (_, html) = page(&app, &member, "/console/party/me").await;
        assert!(html.contains("入户走访独居老人"));
        // The secretary reaches the branch page from their own.
        let party = sign_in(&app, "party").await;
        let (_, html) = page(&app, &party, "/console/party/me").await;
        let at = html.find("/console/party/orgs/").expect("a link to the branch");
        let href = &html[at..at + "/console/party/orgs/".len() + 36];
        let (st, html) = page(&app, &party, href).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("党员") && html.contains("岗位") && html.contains("工作记录"));
        let resident = sign_in(&app, "resident").await;
        let (st, _) = page(&app, &resident, href).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "a resident who is no member reads no branch");
        // A department sees its members' report-in; the community the area, with 五星支部 beside.
        let dept = sign_in(&app, "department").await;
        let (st, html) = page(&app, &dept, "/console/party").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("在职党员报到情况"));
        let community = sign_in(&app, "community").await;
        let (_, html) = page(&app, &community, "/console/party?status=unreported").await;
        assert!(html.contains("/console/stars") && html.contains("待审核"));
    }
}
