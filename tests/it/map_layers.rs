//! Base layers (底图): `map import` checks a GeoJSON file whole, stores it in one transaction with
//! its audit row last, replaces on request; the grid page draws a labelled map over them.

use gongzhi::audit::Actor;
use gongzhi::grid::{service, store};
use serde_json::{Value, json};

use crate::support::{self, apps, fresh_databases, sign_in};

fn fc(features: Vec<Value>) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn road(name: &str, lat: f64) -> Value {
    json!({"type": "Feature", "properties": {"name": name}, "geometry": {"type": "LineString", "coordinates": [[114.60, lat], [114.70, lat + 0.001]]}})
}

async fn last_action(db: &gongzhi::db::Db) -> String {
    gongzhi::on_pool!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1"
    )
    .fetch_one(p)
    .await)
    .unwrap()
}

async fn count(db: &gongzhi::db::Db, kind: &str) -> i64 {
    store::layer_counts(db, "411602")
        .await
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == kind)
        .map_or(0, |(_, n)| n)
}

#[tokio::test]
async fn import_checks_stores_audits_and_replaces() {
    for app in apps().await {
        let db = &app.db;
        let e = app.engine;
        // The demo brought its own roads, through the same path.
        let demo_roads = count(db, "road").await;
        assert!(demo_roads >= 2, "[{e}] demo roads: {demo_roads}");
        let cli = Actor::System("cli");
        let r = service::import_layers(
            db,
            cli,
            None,
            "road",
            fc(vec![road("测试一路", 33.60), road("测试二路", 33.61)]),
            None,
            false,
        )
        .await
        .unwrap();
        assert_eq!((r.district.as_str(), r.imported, r.replaced), ("411602", 2, 0), "[{e}]");
        assert_eq!(count(db, "road").await, demo_roads + 2, "[{e}]");
        assert_eq!(last_action(db).await, "map.import", "[{e}] the audit row is written");
        // A bad file is refused whole: the good feature before the bad one is not stored either.
        let bad = fc(vec![
            road("好路", 33.60),
            json!({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [114.65, 33.62]}}),
        ]);
        let err = service::import_layers(db, cli, None, "road", bad, None, false).await.unwrap_err();
        assert_eq!(err.code, "invalid_geojson", "[{e}]");
        assert!(
            err.message.contains("第2个要素") && err.message.contains("Point"),
            "[{e}] {}",
            err.message
        );
        let far = fc(vec![road("远方路", 39.90)]);
        let err = service::import_layers(db, cli, None, "road", far, None, false).await.unwrap_err();
        assert!(err.message.contains("本区范围之外"), "[{e}] {}", err.message);
        assert_eq!(count(db, "road").await, demo_roads + 2, "[{e}] nothing stored from refused files");
        let err = service::import_layers(db, cli, Some("110101"), "road", fc(vec![road("x", 33.6)]), None, false)
            .await
            .unwrap_err();
        assert_eq!(err.status, 404, "[{e}]");
        // --replace: only this file's roads remain; other kinds are untouched.
        let rivers = count(db, "river").await;
        let r = service::import_layers(db, cli, None, "road", fc(vec![road("唯一路", 33.62)]), None, true)
            .await
            .unwrap();
        assert_eq!((r.imported, r.replaced), (1, demo_roads as u64 + 2), "[{e}]");
        assert_eq!(count(db, "road").await, 1, "[{e}]");
        assert_eq!(count(db, "river").await, rivers, "[{e}]");
        // The window query finds the road where it is, and not elsewhere.
        let hit = store::layers_in(db, "411602", (33.61, 114.64, 33.63, 114.66)).await.unwrap();
        assert!(hit.iter().any(|f| f.name == "唯一路"), "[{e}]");
        let miss = store::layers_in(db, "411602", (33.0, 114.0, 33.1, 114.1)).await.unwrap();
        assert!(miss.is_empty(), "[{e}] {miss:?}");
    }
}

#[tokio::test]
async fn import_needs_a_district_and_names_one_when_several() {
    for (engine, _url, db) in fresh_databases().await {
        let err = service::import_layers(&db, Actor::System("cli"), None, "road", fc(vec![road("x", 33.6)]), None, false)
            .await
            .unwrap_err();
        assert_eq!(err.code, "no_district", "[{engine}]");
    }
}

#[tokio::test]
async fn the_grid_page_draws_a_labelled_map_over_the_base_layers() {
    for app in apps().await {
        let cookie = sign_in(&app, "admin").await;
        let (status, html) = support::page(&app, &cookie, "/console/grids/411602001").await;
        assert_eq!(status, 200, "[{}]", app.engine);
        let svg = &html[html.find("<svg class=\"map area-map\"").expect("the area map")..];
        let svg = &svg[..svg.find("</svg>").unwrap()];
        assert!(svg.contains("role=\"group\""), "[{}]", app.engine);
        let communities = store::children(&app.db, "411602001", 100, 0).await.unwrap();
        assert!(!communities.is_empty());
        let labels = &svg[svg.find("<g class=\"labels\"").unwrap()..];
        for c in &communities {
            assert!(
                svg.contains(&format!("href=\"/console/grids/{}\"", c.code)),
                "[{}] link to {}",
                app.engine,
                c.code
            );
            assert!(svg.contains(&format!("aria-label=\"{}\"", c.name)), "[{}] {}", app.engine, c.name);
            let short = c.name.strip_suffix("社区").unwrap_or(&c.name);
            assert!(labels.contains(&format!(">{short}")), "[{}] label of {}", app.engine, c.name);
        }
        // The demo's base layers lie under the grid.
        let base = svg.find("<g class=\"base\"").expect("base layers drawn");
        assert!(base < svg.find("class=\"kid").unwrap(), "[{}]", app.engine);
        assert!(
            svg.contains("class=\"river\"") && svg.contains("class=\"road\""),
            "[{}]",
            app.engine
        );
    }
}

#[tokio::test]
async fn the_api_gives_the_layers_under_a_nodes_map() {
    for app in apps().await {
        let t = app.token("admin").await;
        let (st, v) = app.get("/api/v1/grids/411602/layers", &t).await;
        assert_eq!(st, 200, "[{}] {v}", app.engine);
        assert_eq!(v["type"], "FeatureCollection");
        let features = v["features"].as_array().unwrap();
        let names: Vec<&str> = features.iter().map(|f| f["properties"]["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"沙颍河") && names.contains(&"区政府"), "[{}] {names:?}", app.engine);
        let river = features.iter().find(|f| f["properties"]["name"] == "沙颍河").unwrap();
        assert_eq!(
            (river["properties"]["kind"].as_str(), river["geometry"]["type"].as_str()),
            (Some("river"), Some("LineString"))
        );
        // A building's map window is small: fewer features than the district's.
        let (st, b) = app.get("/api/v1/grids/411602001001001001/layers", &t).await;
        assert_eq!(st, 200);
        assert!(b["features"].as_array().unwrap().len() < features.len(), "[{}]", app.engine);
    }
}
