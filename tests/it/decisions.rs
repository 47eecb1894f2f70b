//! Owners' decisions (业主共同决定, art. 278) on both engines: the 表决试算 preview's shape and its
//! refusals, the property register, a decision from draft to open with online and paper ballots
//! (one per owner, changes kept as one ballot and audited each), who may do what, and 500 owners
//! voting at once.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};

const COMPOUND: &str = "411602001001001";
const OTHER_COMPOUND: &str = "411602001002001";

fn hours(h: i64) -> String {
    gongzhi::time::rfc3339_ms(gongzhi::db::now_ms() + h * 3_600_000)
}

async fn exec(app: &App, sql: &str) {
    let mut tx = app.db.begin().await.unwrap();
    gongzhi::on_tx!(&mut tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *c)
        .await
        .map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
}

async fn scalar(app: &App, sql: &str) -> i64 {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(p)
        .await)
    .unwrap()
}

#[tokio::test]
async fn preview_applies_the_rule_and_refuses_bad_input() {
    for app in apps().await {
        let e = app.engine;
        let t = app.token("community").await;
        // Six owners: the developer with two units, five residents; 4 of 6 owners take part.
        let body = json!({
            "matter": 7,
            "units": [
                {"unit": "1-1-101", "owner": "开发商", "area": "100.00"},
                {"unit": "1-1-102", "owner": "开发商", "area": "50.5"},
                {"unit": "1-1-201", "owner": "张", "area": "89.50"},
                {"unit": "1-1-202", "owner": "李", "area": "89.50"},
                {"unit": "1-1-301", "owner": "王", "area": "120"},
                {"unit": "1-1-302", "owner": "赵", "area": "60.25"}
            ],
            "ballots": {"开发商": "yes", "张": "yes", "李": "yes", "王": "no"}
        });
        let (st, v) = app.post("/api/v1/decisions/preview", &t, body).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert_eq!(
            v,
            json!({
                "participation": {"area": {"value": "449.50", "total": "509.75", "met": true}, "owners": {"value": 4, "total": 5, "met": true}},
                "approval": {"area": {"value": "329.50", "of": "449.50", "met": false}, "owners": {"value": 3, "of": 4, "met": true}},
                "rule": "three_quarters",
                "passed": false
            }),
            "[{e}]"
        );
        // Matter 4: more than half of both.
        let (st, v) = app
            .post(
                "/api/v1/decisions/preview",
                &t,
                json!({"matter": 4, "units": [{"unit": "a", "owner": "x", "area": "1"}, {"unit": "b", "owner": "y", "area": "1"}, {"unit": "c", "owner": "z", "area": "1"}],
                       "ballots": {"x": "yes", "y": "abstain"}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["rule"], "majority");
        assert_eq!(v["participation"]["owners"]["met"], true, "2 of 3 is two thirds");
        assert_eq!(v["approval"]["owners"]["met"], false, "1 of 2 is half, not more");
        assert_eq!(v["passed"], false);

        let unit = |area: &str| json!({"matter": 1, "units": [{"unit": "a", "owner": "x", "area": area}]});
        for (body, want) in [
            (unit("-3"), "negative_area"),
            (unit("abc"), "invalid_area"),
            (unit("1.234"), "area_precision"),
            (unit("0"), "area_out_of_range"),
            (
                json!({"matter": 10, "units": [{"unit": "a", "owner": "x", "area": "1"}]}),
                "invalid_matter",
            ),
            (
                json!({"matter": 0, "units": [{"unit": "a", "owner": "x", "area": "1"}]}),
                "invalid_matter",
            ),
            (
                json!({"matter": 1, "units": [{"unit": "a", "owner": "x", "area": "1"}], "ballots": {"y": "yes"}}),
                "unknown_owner",
            ),
            (
                json!({"matter": 1, "units": [{"unit": "a", "owner": "x", "area": "1"}], "ballots": {"x": "maybe"}}),
                "invalid_choice",
            ),
            (json!({"matter": 1, "units": []}), "no_units"),
        ] {
            let (st, v) = app.post("/api/v1/decisions/preview", &t, body.clone()).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{e}] {body} → {v}");
            assert_eq!(code(&v), want, "[{e}] {body}");
        }
        let many: Vec<Value> = (0..20_001)
            .map(|i| json!({"unit": format!("u{i}"), "owner": format!("o{i}"), "area": "50"}))
            .collect();
        let (st, v) = app.post("/api/v1/decisions/preview", &t, json!({"matter": 1, "units": many})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "too_many_units"), "[{e}]");
        let (st, _) = app.call(Method::POST, "/api/v1/decisions/preview", None, Some(unit("1"))).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_decision_from_draft_to_votes_with_its_scope() {
    for app in apps().await {
        let e = app.engine;
        let community = app.token("community").await;
        let compound = app.token("compound").await;
        let owner = app.token("owner").await;
        let department = app.token("department").await;

        // The demo register of the first compound.
        let (st, reg) = app.get(&format!("/api/v1/grids/{COMPOUND}/property"), &community).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {reg}");
        let n_units = reg["units"].as_array().unwrap().len();
        assert!(n_units > 10, "[{e}] the first compound has a register");
        assert!(
            reg["units"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["area"].as_str().unwrap().split('.').nth(1).unwrap().len() == 2)
        );
        let (st, _) = app.get(&format!("/api/v1/grids/{OTHER_COMPOUND}/property"), &compound).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] another community's compound is hidden");
        let (st, _) = app.get(&format!("/api/v1/grids/{COMPOUND}/property"), &department).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] a department has no registry");

        // Adding units: one the developer's.
        let building = format!("{COMPOUND}001");
        let (st, v) = app
            .post(
                &format!("/api/v1/grids/{COMPOUND}/property"),
                &compound,
                json!({"units": [{"building": building, "unit": "9-9-901", "area": "88.80", "owner_name": "川汇置业有限公司", "developer": true}]}),
            )
            .await;
        assert_eq!((st, &v["added"]), (StatusCode::CREATED, &json!(1)), "[{e}] {v}");
        let (st, v) = app
            .post(
                &format!("/api/v1/grids/{COMPOUND}/property"),
                &compound,
                json!({"units": [{"building": building, "unit": "9-9-901", "area": "88.80", "owner_name": "某人"}]}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "unit_exists"), "[{e}]");
        let (st, v) = app
            .post(
                &format!("/api/v1/grids/{COMPOUND}/property"),
                &compound,
                json!({"units": [{"building": building, "unit": "9-9-902", "area": "88.888", "owner_name": "某人"}]}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "area_precision"), "[{e}]");

        // A decision: created as a draft by the compound leader, opened, voted on.
        let (st, v) = app
            .post(
                "/api/v1/decisions",
                &compound,
                json!({"compound": COMPOUND, "matter": 5, "title": "使用维修资金更换水泵", "body": "二次供水水泵老化，拟使用维修资金更换。", "opens_at": hours(-1), "closes_at": hours(72)}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (st, _) = app
            .post(&format!("/api/v1/decisions/{id}/vote"), &owner, json!({"choice": "yes"}))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] an owner does not see a draft");
        let (st, _) = app
            .call(Method::POST, &format!("/api/v1/decisions/{id}/open"), Some(&compound), None)
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT, "[{e}]");
        let (st, v) = app
            .call(Method::POST, &format!("/api/v1/decisions/{id}/close"), Some(&compound), None)
            .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::CONFLICT, "window_open"),
            "[{e}] not before the window ends"
        );

        let (st, v) = app
            .post(&format!("/api/v1/decisions/{id}/vote"), &owner, json!({"choice": "yes"}))
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        assert_eq!(v["previous"], Value::Null);
        let (st, v) = app
            .post(&format!("/api/v1/decisions/{id}/vote"), &owner, json!({"choice": "no"}))
            .await;
        assert_eq!((st, &v["previous"]), (StatusCode::OK, &json!("yes")), "[{e}] a change of vote");
        let (st, v) = app
            .post(&format!("/api/v1/decisions/{id}/vote"), &owner, json!({"choice": "perhaps"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_choice"));
        let (st, _) = app
            .post(&format!("/api/v1/decisions/{id}/vote"), &community, json!({"choice": "yes"}))
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] staff are not owners");
        let did = Uuid::parse_str(&id).unwrap();
        let ballots = scalar(
            &app,
            &format!("SELECT COUNT(*) FROM decision_ballots WHERE decision_id = {}", lit(&app, did)),
        )
        .await;
        assert_eq!(ballots, 1, "[{e}] one ballot per owner");
        let audited = scalar(
            &app,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'decision.vote' AND target_id = '{id}'"),
        )
        .await;
        assert_eq!(audited, 2, "[{e}] each vote audited");

        // The owner sees it, with their units and vote.
        let (st, d) = app.get(&format!("/api/v1/decisions/{id}"), &owner).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {d}");
        assert_eq!(d["my_vote"], "no");
        assert!(!d["my_units"].as_array().unwrap().is_empty());
        assert_eq!(d["tally"]["participation"]["owners"]["value"], 1);
        assert_eq!(d["tally"]["rule"], "majority");
        assert_eq!(d["votes"], json!({"yes": 0, "no": 1, "abstain": 0}));

        // A paper ballot for the developer's unit, with its photo; a ballot without a photo is refused.
        let png = tiny_png();
        let url = format!("{}/api/v1/decisions/{id}/paper?unit=9-9-901&choice=yes", app.base);
        let r = app.client.post(&url).bearer_auth(&compound).body(png.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "[{e}] {}", r.text().await.unwrap());
        let r = app
            .client
            .post(&url)
            .bearer_auth(&compound)
            .body(Vec::<u8>::new())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "[{e}]");
        let r = app
            .client
            .post(format!("{}/api/v1/decisions/{id}/paper?unit=nope&choice=yes", app.base))
            .bearer_auth(&compound)
            .body(png.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "[{e}]");
        let (st, d) = app.get(&format!("/api/v1/decisions/{id}"), &community).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(d["votes"], json!({"yes": 1, "no": 1, "abstain": 0}), "[{e}]");
        let sha = gongzhi_sha(&png);
        let r = app
            .client
            .get(format!("{}/api/v1/decisions/{id}/ballots/{sha}", app.base))
            .bearer_auth(&community)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "[{e}] the photo is kept");

        // Lists: the community's subtree; the owner their compound; the department nothing.
        let (st, l) = app.get(&format!("/api/v1/decisions?grid={COMPOUND}"), &community).await;
        assert_eq!(st, StatusCode::OK);
        assert!(l["items"].as_array().unwrap().iter().any(|x| x["id"] == json!(id)));
        assert!(l["items"][0]["tally"]["participation"]["area"]["total"].is_string());
        let (st, l) = app.get(&format!("/api/v1/decisions?grid={COMPOUND}"), &owner).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {l}");
        assert!(l["items"].as_array().unwrap().iter().all(|x| x["status"] != "draft"));
        let (st, _) = app.get(&format!("/api/v1/decisions?grid={OTHER_COMPOUND}"), &owner).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] an owner has no registry anywhere else");
        let (st, _) = app.get(&format!("/api/v1/decisions?grid={OTHER_COMPOUND}"), &compound).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");

        // The demo's decisions of the compound: stored results agree with the tally.
        let (_, l) = app
            .get(&format!("/api/v1/decisions?grid={COMPOUND}&per_page=100"), &community)
            .await;
        for x in l["items"].as_array().unwrap() {
            if x["status"] == "closed" {
                assert_eq!(x["passed"], x["tally"]["passed"], "[{e}] {x}");
            }
        }
        // An owner of another compound's decision: hidden.
        let (st, other) = app
            .post(
                "/api/v1/decisions",
                &app.token("street").await,
                json!({"compound": OTHER_COMPOUND, "matter": 1, "title": "t", "body": "b", "opens_at": hours(-1), "closes_at": hours(5)}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let oid = other["id"].as_str().unwrap();
        app.call(
            Method::POST,
            &format!("/api/v1/decisions/{oid}/open"),
            Some(&app.token("street").await),
            None,
        )
        .await;
        let (st, _) = app
            .post(&format!("/api/v1/decisions/{oid}/vote"), &owner, json!({"choice": "yes"}))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] not their compound");
        let (st, _) = app.get(&format!("/api/v1/decisions/{oid}"), &owner).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
    }
}

fn lit(app: &App, id: Uuid) -> String {
    if app.engine == "postgres" {
        format!("'{id}'")
    } else {
        format!("X'{}'", id.simple())
    }
}

fn tiny_png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(b"not really a picture, but it starts like one");
    v
}

fn gongzhi_sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// 500 owners (accounts linked to residents, one flat each) vote at once, then 100 of them change
/// their vote at once: one ballot per owner, and the tally equals a recount from the ballots.
#[tokio::test]
async fn five_hundred_owners_vote_at_once() {
    const N: usize = 500;
    for app in apps().await {
        let e = app.engine;
        let street = app.token("street").await;
        let compound = "411602001001002";
        exec(&app, &format!("DELETE FROM property_units WHERE compound_code = '{compound}'")).await;
        let building = format!("{compound}001");
        // 500 residents without an account, and an account for each (sessions made directly).
        let residents: Vec<Uuid> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, Uuid>(
            "SELECT id FROM residents WHERE id NOT IN (SELECT resident_id FROM resident_accounts) ORDER BY id LIMIT 500"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert_eq!(residents.len(), N);
        let mut tokens = Vec::with_capacity(N);
        {
            let mut tx = app.db.begin().await.unwrap();
            let mut users = Vec::new();
            for (i, r) in residents.iter().enumerate() {
                let uid = gongzhi::auth::store::insert_user(&mut tx, "411602", &format!("own{i:03}"), "业主", "x")
                    .await
                    .unwrap();
                gongzhi::auth::store::insert_post(&mut tx, "411602", uid, gongzhi::auth::Role::Resident, Some(&building), None)
                    .await
                    .unwrap();
                gongzhi::on_tx!(&mut tx, |c| sqlx::query(
                    "INSERT INTO resident_accounts (user_id, resident_id, district, created_at) VALUES ($1, $2, '411602', 0)"
                )
                .bind(uid)
                .bind(*r)
                .execute(&mut *c)
                .await
                .map(|_| ()))
                .unwrap();
                users.push(uid);
            }
            tx.commit().await.unwrap();
            for uid in users {
                let (t, _) = gongzhi::auth::store::create_session(&app.db, uid, "bearer", Default::default())
                    .await
                    .unwrap();
                tokens.push(t);
            }
        }
        let units: Vec<Value> = residents
            .iter()
            .enumerate()
            .map(|(i, r)| json!({"building": building, "unit": format!("1-1-{i}"), "area": format!("{}.{:02}", 45 + i % 100, i % 100), "resident": r}))
            .collect();
        let (st, v) = app
            .post(&format!("/api/v1/grids/{compound}/property"), &street, json!({"units": units}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let (_, v) = app
            .post(
                "/api/v1/decisions",
                &street,
                json!({"compound": compound, "matter": 7, "title": "加装电梯", "body": "拟加装电梯。", "opens_at": hours(-1), "closes_at": hours(24)}),
            )
            .await;
        let id = v["id"].as_str().unwrap().to_string();
        let (st, _) = app
            .call(Method::POST, &format!("/api/v1/decisions/{id}/open"), Some(&street), None)
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT);

        let app = Arc::new(app);
        let vote = |i: usize, choice: &'static str| {
            let (app, t, id) = (app.clone(), tokens[i].clone(), id.clone());
            tokio::spawn(async move {
                app.post(&format!("/api/v1/decisions/{id}/vote"), &t, json!({"choice": choice}))
                    .await
            })
        };
        let first: Vec<_> = (0..N).map(|i| vote(i, ["yes", "yes", "yes", "no", "abstain"][i % 5])).collect();
        for h in first {
            let (st, v) = h.await.unwrap();
            assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        }
        let changes: Vec<_> = (0..100).map(|i| vote(i * 5 + 3, "yes")).collect();
        for h in changes {
            let (st, v) = h.await.unwrap();
            assert_eq!((st, &v["previous"]), (StatusCode::OK, &json!("no")), "[{e}]");
        }
        let did = Uuid::parse_str(&id).unwrap();
        let ballots = scalar(
            &app,
            &format!("SELECT COUNT(*) FROM decision_ballots WHERE decision_id = {}", lit(&app, did)),
        )
        .await;
        assert_eq!(ballots, N as i64, "[{e}] one ballot per owner");
        let audited = scalar(
            &app,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'decision.vote' AND target_id = '{id}'"),
        )
        .await;
        assert_eq!(audited, (N + 100) as i64, "[{e}] every vote audited");
        // The recount, in SQL, from the ballots and the register.
        let part_area = scalar(
            &app,
            &format!(
                "SELECT CAST(SUM(u.area_centi) AS BIGINT) FROM property_units u JOIN decision_ballots b ON b.owner_key = u.owner_key \
                 WHERE u.compound_code = '{compound}' AND b.decision_id = {}",
                lit(&app, did)
            ),
        )
        .await;
        let yes_area = scalar(
            &app,
            &format!(
                "SELECT CAST(SUM(u.area_centi) AS BIGINT) FROM property_units u JOIN decision_ballots b ON b.owner_key = u.owner_key \
                 WHERE u.compound_code = '{compound}' AND b.decision_id = {} AND b.choice = 'yes'",
                lit(&app, did)
            ),
        )
        .await;
        let yes = scalar(
            &app,
            &format!(
                "SELECT COUNT(*) FROM decision_ballots WHERE decision_id = {} AND choice = 'yes'",
                lit(&app, did)
            ),
        )
        .await;
        assert_eq!(yes, 400, "[{e}] 300 yes and 100 changed to yes");
        let (_, d) = app.get(&format!("/api/v1/decisions/{id}"), &street).await;
        let t = &d["tally"];
        assert_eq!(
            t["participation"]["owners"],
            json!({"value": 500, "total": 500, "met": true}),
            "[{e}]"
        );
        assert_eq!(
            t["participation"]["area"]["value"],
            json!(gongzhi::decisions::rules::format_area(part_area))
        );
        assert_eq!(
            t["approval"]["area"]["value"],
            json!(gongzhi::decisions::rules::format_area(yes_area))
        );
        assert_eq!(t["approval"]["owners"], json!({"value": 400, "of": 500, "met": true}));
        assert_eq!(t["rule"], "three_quarters");
    }
}

/// The pages: an owner's list and ballot page (vote, change the vote), the committee's paper
/// entry, and the public result with no names.
#[tokio::test]
async fn pages_for_owners_the_committee_and_the_public() {
    for app in apps().await {
        let e = app.engine;
        let owner = sign_in(&app, "owner").await;
        let (st, html) = page(&app, &owner, "/console/decisions").await;
        assert_eq!(st, StatusCode::OK, "[{e}] {html}");
        assert!(html.contains("我的房屋") && html.contains("表决中"), "[{e}]");
        // The demo's open decision in the first compound.
        let t = app.token("community").await;
        let (_, l) = app.get(&format!("/api/v1/decisions?grid={COMPOUND}&per_page=100"), &t).await;
        let open = l["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["status"] == "open")
            .expect("an open decision")
            .clone();
        let id = open["id"].as_str().unwrap();
        let (st, html) = page(&app, &owner, &format!("/console/decisions/{id}")).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("我的表决") && html.contains("需三分之二以上"), "[{e}]");
        let csrf = csrf_of(&html);
        let (st, _, loc) = post(
            &app,
            &owner,
            &format!("/console/decisions/{id}/vote"),
            &[("csrf", &csrf), ("choice", "yes")],
        )
        .await;
        assert_eq!(
            (st, loc.as_deref()),
            (StatusCode::SEE_OTHER, Some(format!("/console/decisions/{id}?msg=voted").as_str())),
            "[{e}]"
        );
        let (_, html) = page(&app, &owner, &format!("/console/decisions/{id}")).await;
        assert!(
            html.contains("<b id=\"my-choice\">同意</b>") && html.contains("更改我的意见"),
            "[{e}]"
        );
        post(
            &app,
            &owner,
            &format!("/console/decisions/{id}/vote"),
            &[("csrf", &csrf), ("choice", "abstain")],
        )
        .await;
        let (_, html) = page(&app, &owner, &format!("/console/decisions/{id}")).await;
        assert!(html.contains("<b id=\"my-choice\">弃权</b>"), "[{e}]");

        let compound = sign_in(&app, "compound").await;
        let (st, html) = page(&app, &compound, &format!("/console/decisions/{id}/paper")).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("表决票照片"), "[{e}]");
        let (st, _) = page(&app, &sign_in(&app, "department").await, &format!("/console/decisions/{id}/paper")).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");

        let r = app
            .client
            .get(format!("{}/g/{COMPOUND}/decisions/{id}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "[{e}] public, no sign-in");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("参与表决的业主人数") && !html.contains(&open["title"].as_str().unwrap().repeat(2)),
            "[{e}]"
        );
        let (_, me) = app.get("/api/v1/me", &app.token("owner").await).await;
        let name = me["display_name"].as_str().unwrap_or("业主");
        assert!(!html.contains(name), "[{e}] no owner's name on the public page");
        let r = app
            .client
            .get(format!("{}/g/{OTHER_COMPOUND}/decisions/{id}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "[{e}] only under its own compound");
    }
}
