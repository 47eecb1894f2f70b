//! Five-star branches (五星支部创建), on both engines: the district list in the issue's shape and
//! scoped to the caller, a card walked from self-assessment through a send-back, review and rating
//! (a failing prerequisite forcing 共建共享 denied), evidence files, the configuration, who may do
//! what (a community its own card, a street its communities', only the district rates), and pages.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};

const SUNSHINE: &str = "411602001001";
const JINGUI: &str = "411602001002";
/// The flow is walked on a year the demo left empty.
const YEAR: i64 = 2025;
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D];

fn card(grid: &str) -> String {
    format!("/api/v1/stars/cards/{grid}/{YEAR}")
}

/// Every criterion of a card at `score`.
fn all_entries(detail: &Value, score: i64) -> Value {
    let mut out = Vec::new();
    for s in detail["stars"].as_array().unwrap() {
        for c in s["criteria"].as_array().unwrap() {
            out.push(json!({"star": s["code"], "criterion": c["code"], "score": score, "note": "自评说明"}));
        }
    }
    json!({ "entries": out })
}

fn verdicts(detail: &Value, back: Option<&str>) -> Value {
    let v: Vec<Value> = detail["stars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            if Some(s["code"].as_str().unwrap()) == back {
                json!({"star": s["code"], "verdict": "back", "comment": "请补充台账"})
            } else {
                json!({"star": s["code"], "verdict": "agree"})
            }
        })
        .collect();
    json!({ "verdicts": v })
}

fn ratings(detail: &Value, rating: &str, reason: &str) -> Value {
    let v: Vec<Value> = detail["stars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!({"star": s["code"], "rating": rating, "reason": reason}))
        .collect();
    json!({ "ratings": v })
}

async fn detail(app: &App, t: &str, grid: &str) -> Value {
    let (st, v) = app.get(&card(grid), t).await;
    assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
    v
}

#[tokio::test]
async fn the_list_has_the_issues_shape_and_follows_the_callers_scope() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let (st, v) = app.get("/api/v1/stars?year=2026", &admin).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let items = v["items"].as_array().unwrap();
        assert!(items.len() >= 2, "{v}");
        assert_eq!(v["total"].as_i64().unwrap() as usize, items.len());
        for i in items {
            assert!(i["grid"].is_string() && i["name"].is_string(), "{i}");
            let stars = i["stars"].as_array().unwrap();
            assert_eq!(stars.len(), 5, "{i}");
            for s in stars {
                let status = s["status"].as_str().unwrap();
                assert!(["awarded", "denied", "pending"].contains(&status), "{s}");
                assert!(s["code"].is_string() && s["name"].is_string() && s.get("reason").is_some(), "{s}");
                if status == "denied" {
                    assert!(!s["reason"].as_str().unwrap().is_empty(), "a denial says why: {s}");
                }
            }
        }
        // The demo rates the second community; its stars are settled, each with a reason if denied.
        let second = &items[1];
        assert!(
            second["stars"].as_array().unwrap().iter().all(|s| s["status"] != "pending"),
            "{second}"
        );
        let names: Vec<&str> = items[0]["stars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["支部过硬", "宜业兴业", "平安法治", "共建共享", "幸福和谐"]);
        // Full-width digits read as a year.
        let (st, v2) = app.get("/api/v1/stars?year=２０２６", &admin).await;
        assert_eq!((st, v2["total"].clone()), (StatusCode::OK, v["total"].clone()));
        let (st, e) = app.get("/api/v1/stars?year=1999", &admin).await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_year"));

        // The community sees itself only; another community's grid is hidden from it.
        let community = app.token("community").await;
        let (st, v) = app.get("/api/v1/stars?year=2026", &community).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["total"], 1, "{v}");
        assert_eq!(v["items"][0]["grid"], SUNSHINE);
        let (st, _) = app.get(&format!("/api/v1/stars?year=2026&grid={JINGUI}"), &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // The street sees all its communities; a department nothing.
        let street = app.token("street").await;
        let (_, v) = app.get("/api/v1/stars?year=2026&grid=411602001", &street).await;
        assert!(v["total"].as_i64().unwrap() >= 2, "{v}");
        let (st, _) = app.get("/api/v1/stars?year=2026", &app.token("department").await).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn a_card_goes_from_self_assessment_through_a_send_back_to_its_rating() {
    for app in apps().await {
        let (community, street, admin) = (app.token("community").await, app.token("street").await, app.token("admin").await);
        let d = detail(&app, &community, SUNSHINE).await;
        assert_eq!(d["status"], "draft");
        assert_eq!(d["kind"], "urban");
        assert!(d["figures"]["compounds"].as_i64().unwrap() >= 1, "{d}");
        let sharing = d["stars"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"] == "sharing")
            .unwrap()
            .clone();
        assert!(
            sharing["criteria"][0]["figure"].as_str().unwrap().contains("红色物业覆盖"),
            "{sharing}"
        );

        // Bad input changes nothing.
        let (audits, cards) = (app.count("audit_log").await, app.count("star_cards").await);
        let (st, e) = app
            .post(
                &format!("{}/assessment", card(SUNSHINE)),
                &community,
                json!({"entries": [{"star": "party", "criterion": "organisation", "score": 101}]}),
            )
            .await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_score"));
        let (st, e) = app
            .post(
                &format!("{}/assessment", card(SUNSHINE)),
                &community,
                json!({"entries": [{"star": "bogus", "criterion": "x", "score": 1}]}),
            )
            .await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_star"));
        let nil = uuid::Uuid::nil();
        let (st, e) = app
            .post(
                &format!("{}/assessment", card(SUNSHINE)),
                &community,
                json!({"entries": [{"star": "party", "criterion": "organisation", "score": 80, "links": [{"kind": "case", "id": nil}]}]}),
            )
            .await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_link"));
        assert_eq!(app.count("star_cards").await, cards);
        assert_eq!(app.count("audit_log").await, audits, "refusals write nothing");

        // Part of it, then submitting too early.
        let (st, v) = app
            .post(
                &format!("{}/assessment", card(SUNSHINE)),
                &community,
                json!({"entries": [{"star": "party", "criterion": "organisation", "score": 90}]}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["stars"][0]["criteria"][0]["score"], 90);
        assert!(!v["quarters"].as_array().unwrap().is_empty(), "a quarterly snapshot: {v}");
        let (st, e) = app.post(&format!("{}/submit", card(SUNSHINE)), &community, json!({})).await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "incomplete"));
        // The street cannot review a draft.
        let (st, e) = app.post(&format!("{}/review", card(SUNSHINE)), &street, verdicts(&d, None)).await;
        assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "wrong_state"));

        let (st, _) = app
            .post(&format!("{}/assessment", card(SUNSHINE)), &community, all_entries(&d, 85))
            .await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = app.post(&format!("{}/submit", card(SUNSHINE)), &community, json!({})).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        // Submitted: the community can no longer change it; the district cannot rate it yet.
        let (st, e) = app
            .post(&format!("{}/assessment", card(SUNSHINE)), &community, all_entries(&d, 99))
            .await;
        assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "wrong_state"));
        let (st, e) = app
            .post(&format!("{}/rating", card(SUNSHINE)), &admin, ratings(&d, "awarded", ""))
            .await;
        assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "wrong_state"));

        // Sending back needs a comment; with one the card returns to the community.
        let mut no_comment = verdicts(&d, Some("business"));
        no_comment["verdicts"][1]["comment"] = json!("");
        let (st, e) = app.post(&format!("{}/review", card(SUNSHINE)), &street, no_comment).await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "comment_required"));
        let (st, v) = app
            .post(&format!("{}/review", card(SUNSHINE)), &street, verdicts(&d, Some("business")))
            .await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("returned")), "{v}");
        let d2 = detail(&app, &community, SUNSHINE).await;
        assert_eq!(d2["stars"][1]["review"]["verdict"], "back");
        assert_eq!(d2["stars"][1]["review"]["comment"], "请补充台账");

        let (st, _) = app
            .post(&format!("{}/assessment", card(SUNSHINE)), &community, all_entries(&d, 88))
            .await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = app.post(&format!("{}/submit", card(SUNSHINE)), &community, json!({})).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (st, v) = app.post(&format!("{}/review", card(SUNSHINE)), &street, verdicts(&d, None)).await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("reviewed")));

        // Denying without a reason is refused; awarding everything lets the prerequisite decide 共建共享.
        let (st, e) = app
            .post(&format!("{}/rating", card(SUNSHINE)), &admin, ratings(&d, "denied", ""))
            .await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "reason_required"));
        let (st, v) = app
            .post(&format!("{}/rating", card(SUNSHINE)), &admin, ratings(&d, "awarded", ""))
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let figures = &d["figures"];
        let full = figures["covered"].as_i64() >= figures["compounds"].as_i64();
        let sharing = v["stars"].as_array().unwrap().iter().find(|s| s["code"] == "sharing").unwrap();
        if full {
            assert_eq!(sharing["status"], "awarded", "{v}");
        } else {
            assert_eq!(sharing["status"], "denied", "{v}");
            assert!(sharing["reason"].as_str().unwrap().contains("未实现红色物业全覆盖"), "{v}");
        }
        let others = v["stars"].as_array().unwrap().iter().filter(|s| s["code"] != "sharing");
        assert!(others.clone().all(|s| s["status"] == "awarded"), "{v}");

        // Rated is final, and the list shows the year's result.
        let (st, e) = app
            .post(&format!("{}/rating", card(SUNSHINE)), &admin, ratings(&d, "awarded", ""))
            .await;
        assert_eq!((st, code(&e)), (StatusCode::CONFLICT, "wrong_state"));
        let (_, list) = app.get(&format!("/api/v1/stars?year={YEAR}&grid={SUNSHINE}"), &admin).await;
        assert_eq!(list["total"], 1);
        let awarded = list["items"][0]["stars"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "awarded")
            .count();
        assert_eq!(awarded, if full { 5 } else { 4 }, "{list}");
        let d = detail(&app, &community, SUNSHINE).await;
        assert_eq!((d["status"].as_str(), d["awarded"].as_i64()), (Some("rated"), Some(awarded as i64)));
        // Every step was audited.
        let n: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'stars.%'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(n, 8, "[{}] assess×3, submit×2, review×2, rate×1", app.engine);
    }
}

#[tokio::test]
async fn each_level_acts_only_on_its_own_cards() {
    for app in apps().await {
        let t = |u: &'static str| app.token(u);
        let (community, street, admin, compound, department) = (
            t("community").await,
            t("street").await,
            t("admin").await,
            t("compound").await,
            t("department").await,
        );
        let d = detail(&app, &admin, SUNSHINE).await;
        let body = all_entries(&d, 70);
        let before = app.count("star_entries").await;
        // Another community's card is hidden from a community; nobody but the community assesses.
        let (st, _) = app.get(&card(JINGUI), &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = app.post(&format!("{}/assessment", card(JINGUI)), &community, body.clone()).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        for (who, tok) in [("street", &street), ("admin", &admin)] {
            let (st, e) = app.post(&format!("{}/assessment", card(SUNSHINE)), tok, body.clone()).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{who}: {e}");
            let (st, _) = app.post(&format!("{}/submit", card(SUNSHINE)), tok, json!({})).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{who}");
        }
        // A compound's post is below the community: its card is hidden; a department has no right.
        let (st, _) = app.get(&card(SUNSHINE), &compound).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = app.get(&card(SUNSHINE), &department).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert_eq!(app.count("star_entries").await, before);

        // Reviewing is the street's, rating the district's.
        let (st, _) = app.post(&format!("{}/assessment", card(SUNSHINE)), &community, body.clone()).await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = app.post(&format!("{}/submit", card(SUNSHINE)), &community, json!({})).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        for (who, tok) in [("community", &community), ("admin", &admin)] {
            let (st, _) = app.post(&format!("{}/review", card(SUNSHINE)), tok, verdicts(&d, None)).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{who} reviewing");
        }
        let (st, _) = app.post(&format!("{}/review", card(SUNSHINE)), &street, verdicts(&d, None)).await;
        assert_eq!(st, StatusCode::OK);
        for (who, tok) in [("community", &community), ("street", &street)] {
            let (st, _) = app
                .post(&format!("{}/rating", card(SUNSHINE)), tok, ratings(&d, "awarded", ""))
                .await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{who} rating");
        }
        // Configuration is the district's.
        let (_, cfg) = app.get(&format!("/api/v1/stars/config/{YEAR}"), &street).await;
        let (st, _) = app.post(&format!("/api/v1/stars/config/{YEAR}"), &street, cfg.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = app.post(&format!("/api/v1/stars/config/{YEAR}"), &community, cfg).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn evidence_files_are_kept_per_star_and_read_by_those_who_see_the_card() {
    for app in apps().await {
        let (community, street, admin) = (app.token("community").await, app.token("street").await, app.token("admin").await);
        let upload = |tok: String, star: &'static str, bytes: &'static [u8]| {
            let app = &app;
            async move {
                let r = app
                    .client
                    .post(format!("{}{}/files?star={star}&name=台账.png", app.base, card(SUNSHINE)))
                    .bearer_auth(tok)
                    .body(bytes.to_vec())
                    .send()
                    .await
                    .unwrap();
                let st = r.status();
                (st, r.json::<Value>().await.unwrap_or_default())
            }
        };
        let (st, f) = upload(community.clone(), "party", PNG).await;
        assert_eq!(st, StatusCode::CREATED, "{f}");
        assert_eq!(f["name"], "台账.png");
        let (st, e) = upload(community.clone(), "party", b"plain text").await;
        assert_eq!((st, code(&e)), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_file"));
        let (st, e) = upload(community.clone(), "bogus", PNG).await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_star"));
        let (st, _) = upload(street.clone(), "party", PNG).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let d = detail(&app, &community, SUNSHINE).await;
        assert_eq!(d["stars"][0]["files"].as_array().unwrap().len(), 1, "{d}");
        let url = d["stars"][0]["files"][0]["url"].as_str().unwrap().to_string();
        for tok in [&community, &street, &admin] {
            let r = app.client.get(format!("{}{url}", app.base)).bearer_auth(tok).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
        }
        let r = app
            .client
            .get(format!("{}{url}", app.base))
            .bearer_auth(app.token("compound").await)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_district_configures_a_year_and_cards_follow_it() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let (st, mut cfg) = app.get(&format!("/api/v1/stars/config/{YEAR}"), &admin).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(cfg["village"][2]["name"], "生态宜居");
        let mut bad = cfg.clone();
        bad["urban"][0]["criteria"][0]["weight"] = json!(99);
        let (st, e) = app.post(&format!("/api/v1/stars/config/{YEAR}"), &admin, bad).await;
        assert_eq!((st, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"));
        // 支部过硬 now needs at least 1,000 council meetings: no community has held them.
        cfg["urban"][0]["prerequisites"] = json!([{"rule": "min_meetings", "count": 1000}]);
        let (st, v) = app.post(&format!("/api/v1/stars/config/{YEAR}"), &admin, cfg.clone()).await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
        let (_, again) = app.get(&format!("/api/v1/stars/config/{YEAR}"), &admin).await;
        assert_eq!(again, cfg);
        // Another year keeps the defaults.
        let (_, other) = app.get("/api/v1/stars/config/2024", &admin).await;
        assert_eq!(other["urban"][0]["prerequisites"], json!([]));
        let d = detail(&app, &admin, SUNSHINE).await;
        let pre = &d["stars"][0]["prerequisites"][0];
        assert_eq!(pre["met"], false, "{d}");
        assert!(pre["reason"].as_str().unwrap().contains("少于 1000 次"), "{pre}");
    }
}

#[tokio::test]
async fn pages_show_the_district_list_and_let_the_community_assess_in_chinese() {
    for app in apps().await {
        let admin = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &admin, "/console/stars?year=2026").await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("各街道情况") && html.contains("data-grid=\"411602001001\"") && html.contains("共建共享 · "),
            "{html}"
        );
        let (st, html) = page(&app, &admin, "/console/stars/config?year=2026").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("修改标准") && html.contains("红色物业全覆盖"));

        let community = sign_in(&app, "community").await;
        let path = format!("/console/stars/{SUNSHINE}/{YEAR}");
        let (st, html) = page(&app, &community, &path).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("保存自评") && html.contains("系统预填数据"), "{html}");
        let csrf = csrf_of(&html);
        // Full-width digits are read; an out-of-range score comes back as a Chinese error.
        let (st, _, loc) = post(
            &app,
            &community,
            &format!("{path}/assessment"),
            &[("csrf", &csrf), ("score.party.organisation", "８０")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        assert!(loc.unwrap().contains("msg="));
        let (_, _, loc) = post(
            &app,
            &community,
            &format!("{path}/assessment"),
            &[("csrf", &csrf), ("score.party.organisation", "120")],
        )
        .await;
        assert!(loc.unwrap().contains("err="));
        let d = detail(&app, &app.token("admin").await, SUNSHINE).await;
        assert_eq!(d["stars"][0]["criteria"][0]["score"], 80);
        // Another community's card page is hidden.
        let (st, _) = page(&app, &community, &format!("/console/stars/{JINGUI}/{YEAR}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}
