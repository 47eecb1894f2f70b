//! Sign-in, accounts (API and CLI, the CLI while a server runs), OpenAPI, health and metrics.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{apps, code, sha256_hex};

#[tokio::test]
async fn login_and_logout() {
    for app in apps().await {
        let (st, v) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "admin", "password": "wrong-password"})),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "bad_credentials"));
        let (st, v2) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "nobody", "password": "wrong-password"})),
            )
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"], v2["error"], "unknown user and wrong password look the same");
        let t = app.token("admin").await;
        let (st, me) = app.get("/api/v1/me", &t).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(me["posts"][0]["role"], "district_admin");
        assert_eq!(me["posts"][0]["grid_code"], "411602");
        // Stored sessions hold only a hash of the secret: checked while the session exists.
        let stored: Vec<String> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, String>("SELECT token_hash FROM sessions")
            .fetch_all(p)
            .await)
        .unwrap();
        assert!(
            stored.contains(&sha256_hex(&t)),
            "the session is stored as the SHA-256 of its token"
        );
        assert!(stored.iter().all(|h| !h.contains(&t)), "the token itself is never stored");
        let (st, _) = app.call(Method::POST, "/api/v1/auth/logout", Some(&t), None).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (st, _) = app.get("/api/v1/me", &t).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "the token is gone");
        let left: Vec<String> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, String>("SELECT token_hash FROM sessions")
            .fetch_all(p)
            .await)
        .unwrap();
        assert!(!left.contains(&sha256_hex(&t)), "logout deletes the session");
    }
}

#[tokio::test]
async fn users_via_api() {
    for app in apps().await {
        let t = app.token("admin").await;
        let body = json!({"username": "wang.fang", "password": "river-lamp-72", "role": "community_staff", "grid": "411602001002", "display_name": "王芳"});
        let (st, v) = app.post("/api/v1/users", &t, body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {v}", app.engine);
        let (st, v) = app.post("/api/v1/users", &t, body).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "duplicate_username"));
        assert!(v["error"]["message"].as_str().unwrap().contains("已被使用"));
        let bad = [
            (
                json!({"username": "Bad Name", "password": "river-lamp-72", "role": "resident", "grid": "411602001001001001"}),
                "invalid_username",
            ),
            (
                json!({"username": "shorty", "password": "short", "role": "resident", "grid": "411602001001001001"}),
                "invalid_password",
            ),
            (
                json!({"username": "someone", "password": "river-lamp-72", "role": "king", "grid": "411602"}),
                "invalid_role",
            ),
            (
                json!({"username": "someone", "password": "river-lamp-72", "role": "street_staff", "grid": "411602001001"}),
                "wrong_grid_level",
            ),
            (
                json!({"username": "someone", "password": "river-lamp-72", "role": "department_handler"}),
                "unit_required",
            ),
        ];
        // Weak passwords are refused (demo passwords are for the demo): too short, one kind of
        // character, common, containing the username.
        for pw in [
            "short-1",
            "onlyletterslong",
            "1234567890123",
            "woaini1314",
            "Password123",
            "wang.li-2025!",
        ] {
            let (st, v) = app
                .post(
                    "/api/v1/users",
                    &t,
                    json!({"username": "wang.li", "password": pw, "role": "resident", "grid": "411602001001001001"}),
                )
                .await;
            assert_eq!(
                (st, code(&v)),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_password"),
                "[{}] {pw}",
                app.engine
            );
        }
        let users = app.count("users").await;
        for (b, want) in bad {
            let (st, v) = app.post("/api/v1/users", &t, b).await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{}]", app.engine);
        }
        assert_eq!(app.count("users").await, users);
        assert_eq!(app.count("posts").await, users, "one post each, none orphaned");
        // A unit of another district is "not found" to this district's admin, and no account is
        // left behind by the refusal.
        let other_unit = uuid::Uuid::now_v7();
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO districts (code, name, created_at) VALUES ('411603', '淮阳区', 0)"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO units (id, district, kind, name, created_at) VALUES ($1, '411603', 'department', '淮阳区城管局', 0)"
        )
        .bind(other_unit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
        let (st, v) = app
            .post(
                "/api/v1/users",
                &t,
                json!({"username": "elsewhere", "password": "river-lamp-72", "role": "department_handler", "unit": other_unit}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "[{}] {v}", app.engine);
        assert_eq!(
            app.count("users").await,
            users,
            "[{}] the refused account was not created",
            app.engine
        );
        let wang = app.token_pw("wang.fang", "river-lamp-72").await;
        let (st, _) = app.get("/api/v1/grids/411602001002", &wang).await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = app.get("/api/v1/grids/411602001001", &wang).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn cli_adds_users_while_the_server_runs() {
    for app in apps().await {
        let bin = env!("CARGO_BIN_EXE_gongzhi");
        // Keep the server busy with reads while the CLI writes.
        let reader = {
            let (client, base, t) = (app.client.clone(), app.base.clone(), app.token("admin").await);
            tokio::spawn(async move {
                for _ in 0..30 {
                    let r = client
                        .get(format!("{base}/api/v1/residents?q=王"))
                        .bearer_auth(&t)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                }
            })
        };
        let run = |args: Vec<String>| {
            let url = app.url.clone();
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(bin)
                    .arg("user")
                    .arg("add")
                    .arg("--database-url")
                    .arg(url)
                    .args(args)
                    .output()
                    .unwrap()
            })
        };
        let args = |name: &str| -> Vec<String> {
            [
                "--username",
                name,
                "--password",
                "cli-lamp-2025",
                "--role",
                "compound_leader",
                "--grid",
                "411602001001002",
                "--display-name",
                "赵磊",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        };
        let out = run(args("cli.user")).await.unwrap();
        assert!(out.status.success(), "[{}] {}", app.engine, String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("added user cli.user"));
        let dup = run(args("cli.user")).await.unwrap();
        assert!(!dup.status.success());
        assert!(String::from_utf8_lossy(&dup.stderr).contains("duplicate_username"));
        let bad = run(vec![
            "--username".into(),
            "cli.two".into(),
            "--password".into(),
            "cli-lamp-2025".into(),
            "--role".into(),
            "street_staff".into(),
            "--grid".into(),
            "411602999".into(),
        ])
        .await
        .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown_grid"));
        // The CLI refuses weak passwords too.
        for weak in ["short-1", "1234567890123", "qwertyuiop", "cli.three-2025"] {
            let out = run(vec![
                "--username".into(),
                "cli.three".into(),
                "--password".into(),
                weak.into(),
                "--role".into(),
                "compound_leader".into(),
                "--grid".into(),
                "411602001001002".into(),
            ])
            .await
            .unwrap();
            assert!(!out.status.success(), "[{}] {weak} accepted", app.engine);
            assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_password"), "{weak}");
        }
        reader.await.unwrap();
        // The running server sees the new account at once.
        let t = app.token_pw("cli.user", "cli-lamp-2025").await;
        let (_, me) = app.get("/api/v1/me", &t).await;
        assert_eq!(me["display_name"], "赵磊");
        assert_eq!(me["posts"][0]["role"], "compound_leader");
    }
}

#[tokio::test]
async fn openapi_health_and_metrics() {
    for app in apps().await {
        let (st, doc) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(st, StatusCode::OK);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for p in [
            "/api/v1/grids/{code}",
            "/api/v1/grids/{code}/children",
            "/api/v1/residents",
            "/api/v1/units",
            "/api/v1/auth/login",
        ] {
            assert!(doc["paths"].get(p).is_some(), "{p} documented");
        }
        assert!(doc["components"]["schemas"].get("Grid").is_some());
        let (st, h) = app.call(Method::GET, "/healthz", None, None).await;
        assert_eq!((st, h["status"].as_str()), (StatusCode::OK, Some("ok")));
        let _ = app.get("/api/v1/me", &app.token("admin").await).await;
        let m = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            m.contains("gongzhi_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 1"),
            "{m}"
        );
        assert!(m.contains("gongzhi_http_request_duration_seconds_bucket"));
        let (st, v) = app.call(Method::GET, "/api/v1/nothing-here", None, None).await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "no_such_endpoint"));
    }
}

#[tokio::test]
async fn malformed_requests_get_the_error_shape() {
    for app in apps().await {
        let t = app.token("admin").await;
        let r = app
            .client
            .post(format!("{}/api/v1/households", app.base))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(code(&r.json().await.unwrap()), "bad_request");
        let (st, v) = app.post("/api/v1/households", &t, json!({"grid": "411602001001001001"})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));
        let r = app
            .client
            .post(format!("{}/api/v1/households", app.base))
            .bearer_auth(&t)
            .body("grid=1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(code(&r.json().await.unwrap()), "unsupported_media_type");
        let (st, v) = app.get("/api/v1/residents?page=abc", &t).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query_string"));
        let (st, v) = app.get("/api/v1/residents/not-a-uuid", &t).await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    }
}
