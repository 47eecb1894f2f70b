//! Routing free text (智能分派), on both engines: `routing train` stores a model; the suggest API's
//! shape, bounds and who may call it; a report without a category dispatched by itself at or above
//! the district's threshold (and said so in the timeline), and only filed below it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code, page, sign_in};

const DISTRICT: &str = "411602";
/// Building 1 of the first compound (the `building` account's).
const BUILDING: &str = "411602001001001001";
/// A report no one could file under anything but 飞线充电.
const CHARGING: &str = "楼道里电动车飞线充电，从窗户私拉电线给电动车充电，电线横穿过道";

async fn train(app: &App) {
    let before = app.count("routing_models").await;
    let t = gongzhi::routing::service::train(&app.db, DISTRICT)
        .await
        .expect("train")
        .expect("closed cases");
    assert!(t.examples > 100 && t.categories >= 10, "[{}] {t:?}", app.engine);
    assert_eq!((before, app.count("routing_models").await), (0, 1), "[{}]", app.engine);
}

async fn suggest(app: &App, token: &str, text: &str) -> Value {
    let (st, v) = app
        .post("/api/v1/routing/suggest", token, json!({"text": text, "grid": BUILDING}))
        .await;
    assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
    v
}

async fn report(app: &App, token: &str, text: &str) -> Value {
    let (st, c) = app
        .post(
            "/api/v1/cases",
            token,
            json!({"category": "", "description": text, "grid": BUILDING}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "[{}] {c}", app.engine);
    let (st, c) = app.get(&format!("/api/v1/cases/{}", c["id"].as_str().unwrap()), token).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c
}

fn timeline(c: &Value) -> String {
    c["timeline"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|e| e["note"].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn suggestions_are_ranked_named_bounded_and_for_the_signed_in_only() {
    for app in apps().await {
        let building = app.token("building").await;
        // No model yet: nothing to suggest, and a report without a category must name one.
        assert_eq!(suggest(&app, &building, CHARGING).await["suggestions"], json!([]));
        let (st, v) = app
            .post(
                "/api/v1/cases",
                &building,
                json!({"category": "", "description": CHARGING, "grid": BUILDING}),
            )
            .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "category_required"),
            "[{}] {v}",
            app.engine
        );
        train(&app).await;
        let v = suggest(&app, &building, CHARGING).await;
        let s = v["suggestions"].as_array().unwrap();
        assert!(!s.is_empty() && s.len() <= 3, "{v}");
        assert_eq!(s[0]["category"]["code"], "SQ03", "[{}] {v}", app.engine);
        assert_eq!(s[0]["category"]["name"], "飞线充电");
        assert!(
            s[0]["unit"]["id"].is_string() && !s[0]["unit"]["name"].as_str().unwrap().is_empty(),
            "{v}"
        );
        let cat: Vec<f64> = s.iter().map(|x| x["category_confidence"].as_f64().unwrap()).collect();
        assert!(cat.windows(2).all(|w| w[0] >= w[1]), "best first: {v}");
        assert!(cat.iter().sum::<f64>() <= 1.0 + 1e-9, "{v}");
        for x in s {
            let c = x["confidence"].as_f64().unwrap();
            assert!(
                (0.0..=1.0).contains(&c) && c <= x["category_confidence"].as_f64().unwrap() + 1e-9,
                "{x}"
            );
        }
        // Full-width text reads as half-width; a resident may ask too (the report page).
        let resident = app.token("resident").await;
        let v = suggest(&app, &resident, "３号楼下垃圾桶满溢未及时清运，臭得很").await;
        assert_eq!(v["suggestions"][0]["category"]["code"], "SQ01", "[{}] {v}", app.engine);
        // Bounds and sign-in.
        for (text, grid) in [
            ("", BUILDING),
            ("好", BUILDING),
            (&*"很".repeat(2001), BUILDING),
            ("路灯不亮", "41160x"),
        ] {
            let (st, v) = app
                .post("/api/v1/routing/suggest", &building, json!({"text": text, "grid": grid}))
                .await;
            assert_eq!(
                st,
                StatusCode::UNPROCESSABLE_ENTITY,
                "[{}] {} chars: {v}",
                app.engine,
                text.chars().count()
            );
        }
        let (st, _) = app
            .call(
                reqwest::Method::POST,
                "/api/v1/routing/suggest",
                None,
                Some(json!({"text": CHARGING})),
            )
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_report_without_a_category_is_dispatched_by_itself_only_above_the_threshold() {
    for app in apps().await {
        let (admin, building, resident) = (app.token("admin").await, app.token("building").await, app.token("resident").await);
        train(&app).await;
        let best = suggest(&app, &building, CHARGING).await["suggestions"][0].clone();
        let confidence = best["confidence"].as_f64().unwrap();
        assert!(confidence >= 0.5, "[{}] the demo should make this one sure: {best}", app.engine);
        // The default: on, at 90 %.
        let (st, v) = app.get("/api/v1/routing/settings", &building).await;
        assert_eq!(
            (st, v["auto_dispatch"].clone(), v["threshold"].clone()),
            (StatusCode::OK, json!(true), json!(0.9)),
            "{v}"
        );
        assert!(v["trained_at"].is_string() && v["examples"].as_i64().unwrap() > 100, "{v}");
        // Only the district sets it, within bounds.
        let (st, _) = app.get("/api/v1/routing/settings", &resident).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = app
            .call(
                reqwest::Method::PUT,
                "/api/v1/routing/settings",
                Some(&building),
                Some(json!({"auto_dispatch": true, "threshold": 0.5})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        for bad in [0.3, 1.2] {
            let (st, v) = app
                .call(
                    reqwest::Method::PUT,
                    "/api/v1/routing/settings",
                    Some(&admin),
                    Some(json!({"auto_dispatch": true, "threshold": bad})),
                )
                .await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_threshold"), "{v}");
        }
        // At or above the threshold: filed, dispatched to the suggested unit, and the timeline says so.
        let at = ((confidence * 100.0).floor() / 100.0).max(0.5);
        let (st, v) = app
            .call(
                reqwest::Method::PUT,
                "/api/v1/routing/settings",
                Some(&admin),
                Some(json!({"auto_dispatch": true, "threshold": at})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let c = report(&app, &building, CHARGING).await;
        assert_eq!(c["category"]["code"], "SQ03", "[{}] {c}", app.engine);
        assert_eq!(c["status"], "dispatched", "[{}] {c}", app.engine);
        assert_eq!(c["unit"]["id"], best["unit"]["id"], "{c}");
        let said = timeline(&c);
        let pct = format!("置信度 {}%", (confidence * 100.0).floor());
        assert!(
            said.contains("系统按智能分派建议归类为「飞线充电」并派往")
                && said.contains(best["unit"]["name"].as_str().unwrap())
                && said.contains(&pct),
            "[{}] {said}",
            app.engine
        );
        // Below the threshold (or with auto-dispatch off): filed by the suggestion, left for a person.
        let (st, _) = app
            .call(
                reqwest::Method::PUT,
                "/api/v1/routing/settings",
                Some(&admin),
                Some(json!({"auto_dispatch": false, "threshold": 0.5})),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let c = report(&app, &building, CHARGING).await;
        assert_eq!(
            (c["category"]["code"].clone(), c["status"].clone(), c["unit"].clone()),
            (json!("SQ03"), json!("reported"), Value::Null),
            "{c}"
        );
        assert!(timeline(&c).contains("待人工派遣"), "{}", timeline(&c));
        // Its dispatch form asks for the unit suggestions (static/app.js fills them in).
        let id = c["id"].as_str().unwrap();
        let community = app.token("community").await;
        let (st, v) = app
            .post(&format!("/api/v1/cases/{id}/actions"), &community, json!({"action": "accept"}))
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let cookie = sign_in(&app, "community").await;
        let (st, html) = page(&app, &cookie, &format!("/console/cases/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("data-routing-suggest data-mode=\"unit\"") && html.contains(&format!("data-grid=\"{BUILDING}\"")),
            "[{}] no unit suggestions on the dispatch form",
            app.engine
        );
        if confidence < 0.99 {
            let above = ((confidence * 100.0).floor() + 1.0) / 100.0;
            let (st, _) = app
                .call(
                    reqwest::Method::PUT,
                    "/api/v1/routing/settings",
                    Some(&admin),
                    Some(json!({"auto_dispatch": true, "threshold": above})),
                )
                .await;
            assert_eq!(st, StatusCode::OK);
            let c = report(&app, &building, CHARGING).await;
            assert_eq!(
                (c["status"].clone(), c["unit"].clone()),
                (json!("reported"), Value::Null),
                "[{}] {c}",
                app.engine
            );
        }
        // A report that names its category is not routed.
        let (st, c) = app
            .post(
                "/api/v1/cases",
                &building,
                json!({"category": "SQ01", "description": CHARGING, "grid": BUILDING}),
            )
            .await;
        assert_eq!(
            (st, c["category"]["code"].clone(), c["status"].clone()),
            (StatusCode::CREATED, json!("SQ01"), json!("reported")),
            "{c}"
        );
    }
}
