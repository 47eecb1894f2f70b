//! Permission: every endpoint needs a login; out-of-scope calls get 403/404 and never data.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{App, apps, code};

/// Every operation in the OpenAPI document, with sample path values.
async fn operations(app: &App) -> Vec<(Method, String)> {
    let (st, doc) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path = path
            .replace("{code}", "411602001")
            .replace("{id}", "0190c0de-0000-7000-8000-000000000000")
            .replace("{sha256}", &"a".repeat(64));
        for (m, _) in item.as_object().unwrap() {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            ops.push((method, path.clone()));
        }
    }
    assert!(ops.len() >= 20, "the document lists the API");
    ops
}

#[tokio::test]
async fn every_endpoint_requires_login() {
    for app in apps().await {
        for (method, path) in operations(&app).await {
            if path == "/api/v1/auth/login" {
                continue;
            }
            let (st, body) = app.call(method.clone(), &path, None, Some(json!({}))).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "[{}] {method} {path}", app.engine);
            // Gateways' device calls take an API key, never a session, and say which they lack.
            let want = if path.starts_with("/api/v1/devices/") {
                "api_key_required"
            } else {
                "unauthorized"
            };
            assert_eq!(code(&body), want, "[{}] {method} {path}", app.engine);
            // A made-up token is no better than none.
            let (st, _) = app.call(method.clone(), &path, Some("not-a-token"), Some(json!({}))).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "[{}] {method} {path} with a bad token", app.engine);
        }
    }
}

async fn first_resident_in(app: &App, admin: &str, grid: &str) -> Value {
    let (st, v) = app.get(&format!("/api/v1/residents?grid={grid}&per_page=1"), admin).await;
    assert_eq!(st, StatusCode::OK);
    v["items"][0].clone()
}

#[tokio::test]
async fn out_of_scope_is_not_found_and_never_data() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let community = app.token("community").await; // community_staff at 411602001001
        let other = "411602001002";
        let outsider = first_resident_in(&app, &admin, other).await;
        let rid = outsider["id"].as_str().unwrap().to_string();
        let hid = outsider["household_id"].as_str().unwrap().to_string();
        let building = outsider["grid"].as_str().unwrap().to_string();
        let calls: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/grids/{other}"), None),
            (Method::GET, format!("/api/v1/grids/{other}/children"), None),
            (Method::GET, "/api/v1/grids/411602".into(), None),
            (Method::GET, format!("/api/v1/residents?grid={other}"), None),
            (Method::GET, format!("/api/v1/residents/{rid}"), None),
            (
                Method::POST,
                format!("/api/v1/residents/{rid}/reveal"),
                Some(json!({"reason": "核实信息"})),
            ),
            (
                Method::PUT,
                format!("/api/v1/residents/{rid}/tags"),
                Some(json!({"tags": ["党员"]})),
            ),
            (Method::GET, format!("/api/v1/households/{hid}"), None),
            (Method::GET, format!("/api/v1/households?grid={building}"), None),
            (
                Method::POST,
                "/api/v1/households".into(),
                Some(json!({"grid": building, "unit_no": 9, "room": "999"})),
            ),
            (Method::PATCH, format!("/api/v1/grids/{other}"), Some(json!({"name": "改名"}))),
            (Method::GET, format!("/api/v1/places?grid={other}"), None),
            (Method::GET, format!("/api/v1/devices?grid={other}"), None),
        ];
        let before = app.count("audit_log").await;
        for (m, path, body) in calls {
            let (st, v) = app.call(m.clone(), &path, Some(&community), body).await;
            assert!(
                st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN,
                "[{}] {m} {path}: {st}",
                app.engine
            );
            assert!(
                v.get("items").is_none() && v.get("id").is_none() && v.get("code").is_none(),
                "[{}] {m} {path} leaked {v}",
                app.engine
            );
            assert!(
                !v.to_string().contains(outsider["name"].as_str().unwrap()),
                "[{}] {m} {path} leaked a name",
                app.engine
            );
        }
        assert_eq!(app.count("audit_log").await, before, "refused calls write nothing");
        // In scope, the same calls work.
        let (st, _) = app.get("/api/v1/grids/411602001001", &community).await;
        assert_eq!(st, StatusCode::OK);
    }
}

#[tokio::test]
async fn roles_without_registry_rights_are_forbidden() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let some = first_resident_in(&app, &admin, "411602001001").await;
        let rid = some["id"].as_str().unwrap();
        for user in ["department", "property", "resident"] {
            let t = app.token(user).await;
            let (st, v) = app.get("/api/v1/residents", &t).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "[{}] {user} lists residents", app.engine);
            assert_eq!(code(&v), "forbidden");
            let (st, _) = app.get(&format!("/api/v1/residents/{rid}"), &t).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "[{}] {user} reads a resident", app.engine);
            let (st, _) = app
                .post(&format!("/api/v1/residents/{rid}/reveal"), &t, json!({"reason": "想看看"}))
                .await;
            assert_eq!(st, StatusCode::FORBIDDEN);
            let (st, _) = app
                .post(
                    "/api/v1/users",
                    &t,
                    json!({"username": "x1234", "password": "abcdefgh", "role": "resident", "grid": "411602001001001001001"}),
                )
                .await;
            assert_eq!(st, StatusCode::FORBIDDEN);
        }
        // Departments and property staff read the district's grid (they must find places); residents only their own building.
        let dept = app.token("department").await;
        assert_eq!(app.get("/api/v1/grids/411602", &dept).await.0, StatusCode::OK);
        assert_eq!(app.get("/api/v1/units?kind=department", &dept).await.0, StatusCode::OK);
        let resident = app.token("resident").await;
        let (_, me) = app.get("/api/v1/me", &resident).await;
        let home = me["posts"][0]["grid_code"].as_str().unwrap().to_string();
        assert_eq!(app.get(&format!("/api/v1/grids/{home}"), &resident).await.0, StatusCode::OK);
        assert_eq!(app.get("/api/v1/grids/411602001", &resident).await.0, StatusCode::NOT_FOUND);
        // A building officer reads residents of the building, masked, but may not reveal.
        let officer = app.token("building").await;
        let (st, v) = app.get("/api/v1/residents", &officer).await;
        assert_eq!(st, StatusCode::OK);
        let first = &v["items"][0];
        assert!(first["grid"].as_str().unwrap().starts_with(&home[..15]));
        let (st, _) = app
            .post(
                &format!("/api/v1/residents/{}/reveal", first["id"].as_str().unwrap()),
                &officer,
                json!({"reason": "核对"}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_header() {
    for app in apps().await {
        let r = app
            .client
            .post(format!("{}/login", app.base))
            .form(&[("username", "admin"), ("password", "gongzhi-demo")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        assert!(r.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly"));
        assert!(r.headers()["set-cookie"].to_str().unwrap().contains("SameSite=Strict"));
        // Reads with the cookie work; a write without the CSRF header is refused.
        let r = app
            .client
            .get(format!("{}/api/v1/me", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .client
            .post(format!("{}/api/v1/households", app.base))
            .header("cookie", &cookie)
            .json(&json!({"grid": "411602001001001001", "unit_no": 1, "room": "9901"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(code(&r.json::<Value>().await.unwrap()), "csrf");
    }
}

/// Every `.route("path", get(..).post(..))` the sources declare, as (method, path): the router's
/// own list, so a route left out of the OpenAPI document cannot escape the checks above.
fn declared_routes() -> Vec<(Method, String)> {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut paths);
    let mut routes = Vec::new();
    for file in paths {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(\"") {
            let rest = &text[at + ".route(".len()..];
            // The call's arguments, to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let call = &rest[..end];
            let path = call[1..].split('"').next().unwrap().to_string();
            for m in ["get", "post", "put", "patch", "delete"] {
                let called = call.match_indices(&format!("{m}(")).any(|(i, _)| {
                    let before = call[..i].chars().next_back();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if called {
                    routes.push((Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(), path.clone()));
                }
            }
        }
    }
    assert!(routes.len() > 50, "the scan finds the routes: {}", routes.len());
    routes
}

#[tokio::test]
async fn every_api_route_is_documented_and_every_console_route_needs_a_session() {
    let app = apps().await.remove(0);
    let (_, doc) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    let documented = |m: &Method, path: &str| {
        doc["paths"][path]
            .as_object()
            .is_some_and(|ops| ops.contains_key(&m.as_str().to_lowercase()))
    };
    let sample = |path: &str| {
        path.replace("{code}", "411602001")
            .replace("{id}", "0190c0de-0000-7000-8000-000000000000")
            .replace("{sha256}", &"a".repeat(64))
            .replace("{file}", "x")
    };
    let mut undocumented = Vec::new();
    for (m, path) in declared_routes() {
        if path.starts_with("/api/") && path != "/api/v1/openapi.json" && !documented(&m, &path) {
            undocumented.push(format!("{m} {path}"));
        }
        if path.starts_with("/console") {
            let r = app
                .client
                .request(m.clone(), format!("{}{}", app.base, sample(&path)))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{m} {path} without a session");
            assert!(r.headers()["location"].to_str().unwrap().starts_with("/login?next="), "{m} {path}");
        }
    }
    assert!(
        undocumented.is_empty(),
        "API routes missing from the OpenAPI document: {undocumented:?}"
    );
}

/// 门前三包: a patrol (the street, community, compound and building accounts) reaches the
/// frontages of its own street only; another street's agreement is hidden on every endpoint and
/// nothing of it leaks.
#[tokio::test]
async fn frontage_patrols_stay_in_their_street() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let other = crate::frontage::second_street(&app).await;
        let a = crate::frontage::sign(&app, &admin, &other, "外街门店").await;
        let id = a["id"].as_str().unwrap().to_string();
        let calls: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/frontage/agreements/{id}"), None),
            (
                Method::POST,
                format!("/api/v1/frontage/agreements/{id}/checks"),
                Some(json!({"sanitation": true, "orderliness": true})),
            ),
            (Method::GET, format!("/api/v1/frontage/agreements?grid={other}"), None),
            (Method::GET, format!("/api/v1/frontage/compliance?grid={other}"), None),
        ];
        let before = app.count("frontage_checks").await;
        for user in ["street", "community", "compound", "building"] {
            let t = app.token(user).await;
            for (m, path, body) in &calls {
                let (st, v) = app.call(m.clone(), path, Some(&t), body.clone()).await;
                assert_eq!(st, StatusCode::NOT_FOUND, "[{}] {user} {m} {path}", app.engine);
                assert!(!v.to_string().contains("外街门店"), "[{}] {user} {m} {path} leaked {v}", app.engine);
            }
        }
        assert_eq!(app.count("frontage_checks").await, before, "refused checks write nothing");
    }
}
