//! Test support: spawn the app on a fresh database of each engine, sign in, call the API.

use std::net::SocketAddr;

use gongzhi::db::Db;
use gongzhi::demo::{self, Scale};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

pub struct App {
    pub engine: &'static str,
    pub base: String,
    pub db: Db,
    pub url: String,
    pub client: Client,
    _server: tokio::task::JoinHandle<()>,
}

/// Database URLs to run each test on: a temp SQLite file, and PostgreSQL when configured.
pub async fn fresh_databases() -> Vec<(&'static str, String, Db)> {
    gongzhi::sealed::install_for_tests();
    let mut out = Vec::new();
    let dir = std::env::temp_dir().join("gongzhi-tests");
    std::fs::create_dir_all(&dir).unwrap();
    sweep_old_files(&dir);
    let file = dir.join(format!("{}.db", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}", file.display());
    out.push(("sqlite", url.clone(), Db::connect(&url).await.expect("sqlite")));
    if let Ok(pg) = std::env::var("GONGZHI_TEST_DATABASE_URL")
        && !pg.is_empty()
    {
        let admin = Db::connect_with(&pg, None).await.expect("postgres");
        sweep_old_schemas(&admin).await;
        admin.close().await;
        let (db, schema) = Db::connect_new_schema(&pg, "t").await.expect("postgres schema");
        let sep = if pg.contains('?') { '&' } else { '?' };
        out.push(("postgres", format!("{pg}{sep}options=-c%20search_path%3D{schema}"), db));
    } else if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI is set but GONGZHI_TEST_DATABASE_URL is not: the PostgreSQL half of every test would be skipped");
    } else {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            eprintln!(
                "note: GONGZHI_TEST_DATABASE_URL is not set, so these tests run on SQLite only \
                 (e.g. GONGZHI_TEST_DATABASE_URL=postgres://postgres@127.0.0.1/test cargo test)"
            )
        });
    }
    out
}

/// Remove databases and photo folders that earlier runs left more than an hour ago.
fn sweep_old_files(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

/// Drop test schemas left by runs more than an hour old (their names carry a UUIDv7 timestamp).
async fn sweep_old_schemas(admin: &Db) {
    let names: Vec<String> = gongzhi::on_pool!(admin, |p| sqlx::query_scalar::<_, String>(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'"
    )
    .fetch_all(p)
    .await)
    .unwrap_or_default();
    let hour_ago = gongzhi::db::now_ms() - 3_600_000;
    for n in names {
        let Ok(id) = uuid::Uuid::parse_str(&n[2..]) else { continue };
        let Some(ts) = id.get_timestamp() else { continue };
        let (secs, nanos) = ts.to_unix();
        if (secs as i64) * 1000 + i64::from(nanos / 1_000_000) < hour_ago {
            let sql = format!("DROP SCHEMA IF EXISTS {n} CASCADE");
            let _ = gongzhi::on_pool!(admin, |p| sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await.map(|_| ()));
        }
    }
}

/// One app per engine, each with the small demo district loaded.
pub async fn apps() -> Vec<App> {
    let mut apps = Vec::new();
    for (engine, url, db) in fresh_databases().await {
        demo::load(&db, Scale::Small, 7, false).await.expect("demo load");
        apps.push(start(engine, url, db).await);
    }
    apps
}

pub async fn start(engine: &'static str, url: String, db: Db) -> App {
    let files = std::env::temp_dir()
        .join("gongzhi-tests")
        .join(format!("files-{}", uuid::Uuid::now_v7()));
    start_state(engine, url, gongzhi::app::AppState::new(db).with_data_dir(files)).await
}

/// Serve a given application state (a test that also runs something beside the server, such as
/// the MQTT subscriber, shares the state with it).
pub async fn start_state(engine: &'static str, url: String, state: gongzhi::app::AppState) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let db = state.db.clone();
    let router = gongzhi::app::router(state);
    // The production serving path: connection info (client addresses), header and idle timeouts.
    let server = tokio::spawn(async move {
        gongzhi::web::serve::serve(listener, router, Default::default(), std::future::pending())
            .await
            .unwrap();
    });
    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    App {
        engine,
        base: format!("http://{addr}"),
        db,
        url,
        client,
        _server: server,
    }
}

impl App {
    pub async fn token(&self, username: &str) -> String {
        self.token_pw(username, demo::DEMO_PASSWORD).await
    }

    pub async fn token_pw(&self, username: &str, password: &str) -> String {
        let r = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "[{}] login {username}", self.engine);
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    /// Call the API; returns status and JSON body (Null when empty or not JSON).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        gongzhi::on_pool!(&self.db, |p| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await)
        .unwrap()
    }
}

/// The error code of an API error body.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// A valid ID number for a birth date and sequence.
pub fn id_number(region: &str, birth: &str, seq: u32) -> String {
    let first17 = format!("{region}{birth}{seq:03}");
    format!("{first17}{}", gongzhi::identity::id_check_char(first17.as_bytes()))
}

/// Sign in to the console; the session cookie (`name=value`).
pub async fn sign_in_pw(app: &App, user: &str, password: &str) -> String {
    let r = app
        .client
        .post(format!("{}/login", app.base))
        .form(&[("username", user), ("password", password), ("next", "/console")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "[{}] sign in {user}", app.engine);
    r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string()
}

/// Sign in a demo account (the shared demo password).
pub async fn sign_in(app: &App, user: &str) -> String {
    sign_in_pw(app, user, demo::DEMO_PASSWORD).await
}

/// GET a console page with a session cookie: status and HTML.
pub async fn page(app: &App, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = app
        .client
        .get(format!("{}{}", app.base, path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// POST a console form: status, HTML and the redirect target if any.
pub async fn post(app: &App, cookie: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
    let r = app
        .client
        .post(format!("{}{}", app.base, path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (r.status(), r.text().await.unwrap(), loc)
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..at + 64].to_string()
}

/// A resident of `grid` who does not volunteer yet (the demo has volunteers everywhere), with the
/// full ID number revealed by the admin: (resident as the API lists it, ID number).
pub async fn non_volunteer_resident(app: &App, grid: &str) -> (Value, String) {
    let admin = app.token("admin").await;
    let (st, list) = app.get(&format!("/api/v1/residents?grid={grid}&per_page=50"), &admin).await;
    assert_eq!(st, StatusCode::OK);
    let mut found = None;
    for x in list["items"].as_array().unwrap() {
        let id: uuid::Uuid = x["id"].as_str().unwrap().parse().unwrap();
        if gongzhi::volunteers::store::volunteer_of_resident(&app.db, "411602", id)
            .await
            .unwrap()
            .is_none()
        {
            found = Some(x.clone());
            break;
        }
    }
    let r = found.expect("a resident who does not volunteer yet");
    let (st, full) = app
        .post(
            &format!("/api/v1/residents/{}/reveal", r["id"].as_str().unwrap()),
            &admin,
            serde_json::json!({"reason": "志愿者登记核对"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{full}");
    let id_number = full["id_number"].as_str().unwrap().to_string();
    (r, id_number)
}

/// SHA-256 in lowercase hex, computed here rather than by the code under test.
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every `src`, `href`, `action`, `poster` and CSS `url()` in `text` that a browser would fetch or
/// follow stays on this server: a same-site path, a fragment or query, `tel:`/`mailto:`, or inline
/// `data:`. Returns the offending references (empty when all stay local).
pub fn outside_references(text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=", "href=", "action=", "poster=", "srcset="] {
        for (i, _) in text.match_indices(attr) {
            // `xlink:href` and `data-href` count too; `xmlns=` is a name, not a fetch.
            let rest = &text[i + attr.len()..];
            let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let end = rest[1..].find(q).map(|e| e + 1).unwrap_or(rest.len());
            refs.push(rest[1..end].to_string());
        }
    }
    for (i, _) in text.match_indices("url(") {
        let rest = &text[i + 4..];
        let end = rest.find(')').unwrap_or(rest.len());
        refs.push(rest[..end].trim_matches(|c| c == '"' || c == '\'' || c == ' ').to_string());
    }
    refs.into_iter()
        .filter(|r| {
            let r = r.trim();
            let local = (r.starts_with('/') && !r.starts_with("//"))
                || r.starts_with('#')
                || r.starts_with('?')
                || r.is_empty()
                || r.starts_with("tel:")
                || r.starts_with("mailto:")
                || r.starts_with("data:");
            !local
        })
        .collect()
}

#[test]
fn outside_references_finds_what_a_browser_would_fetch() {
    let page = r#"<svg xmlns="http://www.w3.org/2000/svg"></svg><a href="/console">x</a><a href="tel:138">t</a>
        <script src="https://cdn.example/x.js"></script><img src='//evil/p.png'><style>b{background:url("http://x/y.png")}</style>"#;
    assert_eq!(
        outside_references(page),
        vec![
            "https://cdn.example/x.js".to_string(),
            "//evil/p.png".to_string(),
            "http://x/y.png".to_string()
        ]
    );
}
