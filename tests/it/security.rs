//! Issue 11 (logins, metrics, transport): sign-in throttling and its folded audit rows, session
//! idle and absolute expiry, a password change ending other sessions, who may read `/metrics`
//! and where, header-read and idle timeouts, the `Secure` cookie behind an HTTPS proxy, and 413
//! for an oversized body in the one error format.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gongzhi::accounts::service::LoginGuard;
use gongzhi::app::AppState;
use gongzhi::config::{FileSettings, WebSettings};
use gongzhi::db::Db;
use gongzhi::demo::{self, DEMO_PASSWORD, Scale};
use gongzhi::web::serve::ServeOptions;
use gongzhi::web::throttle::ManualClock;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{code, fresh_databases};

/// A server started the production way (`app::serve_on`), with its state configured by the test.
struct Server {
    engine: &'static str,
    base: String,
    /// `http://…` of the separate metrics address, when one was asked for.
    metrics_base: Option<String>,
    addr: std::net::SocketAddr,
    db: Db,
    client: Client,
    _task: tokio::task::JoinHandle<()>,
}

fn web(settings: &str) -> WebSettings {
    let file: FileSettings = toml::from_str(settings).unwrap();
    WebSettings::resolve(&file, |_| None).unwrap()
}

async fn start(engine: &'static str, db: Db, state: AppState, opts: ServeOptions, metrics_listener: bool) -> Server {
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = main.local_addr().unwrap();
    let metrics = if metrics_listener {
        Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
    } else {
        None
    };
    let metrics_base = metrics.as_ref().map(|l| format!("http://{}", l.local_addr().unwrap()));
    let task = tokio::spawn(async move {
        gongzhi::app::serve_on(state, main, metrics, opts, std::future::pending())
            .await
            .unwrap();
    });
    Server {
        engine,
        base: format!("http://{addr}"),
        metrics_base,
        addr,
        db,
        client: Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        _task: task,
    }
}

/// One server per engine, each with the small demo district, its state shaped by `configure`.
async fn servers(configure: impl Fn(AppState) -> AppState) -> Vec<Server> {
    let mut out = Vec::new();
    for (engine, _url, db) in fresh_databases().await {
        demo::load(&db, Scale::Small, 7, false).await.expect("demo load");
        let state = configure(AppState::new(db.clone()));
        out.push(start(engine, db, state, ServeOptions::default(), false).await);
    }
    out
}

impl Server {
    async fn login(&self, username: &str, password: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": password}));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password, &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "[{}] login {username}", self.engine);
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    async fn console_login(&self, username: &str, password: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req =
            self.client
                .post(format!("{}/login", self.base))
                .form(&[("username", username), ("password", password), ("next", "/console")]);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    async fn me(&self, token: &str) -> StatusCode {
        self.client
            .get(format!("{}/api/v1/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// The audit rows of an action about `username`: (reason, detail).
    async fn audit(&self, action: &str, username: &str) -> Vec<(String, Value)> {
        let rows: Vec<(String, String)> = gongzhi::on_pool!(&self.db, |p| sqlx::query_as::<_, (String, String)>(
            "SELECT reason, detail FROM audit_log WHERE action = $1 ORDER BY at_ms, id"
        )
        .bind(action)
        .fetch_all(p)
        .await)
        .unwrap();
        rows.into_iter()
            .map(|(r, d)| (r, serde_json::from_str::<Value>(&d).unwrap()))
            .filter(|(_, d)| d["username"] == username)
            .collect()
    }

    async fn exec(&self, sql: &str, a: i64, b: &str) {
        let sql = sql.to_string();
        let mut tx = self.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(a)
            .bind(b)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
    }
}

fn sha256_hex(s: &str) -> String {
    crate::support::sha256_hex(s)
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_for_a_while_then_the_right_one_works() {
    let clock = ManualClock::default();
    let apps = servers(|s| s.with_login_guard(LoginGuard::with_clock(Arc::new(clock.clone())))).await;
    for app in apps {
        for _ in 0..5 {
            let r = app.login("admin", "wrong-guess-1", &[]).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "[{}]", app.engine);
        }
        // Locked: the right password is refused too, before any hashing.
        let r = app.login("admin", DEMO_PASSWORD, &[]).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "[{}]", app.engine);
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry), "Retry-After {retry}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(code(&v), "too_many_attempts");
        assert_eq!(v["error"]["message"], "尝试次数过多，请 1 分钟后再试");
        // The console says so in Chinese on the login page.
        let r = app.console_login("admin", DEMO_PASSWORD, &[]).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
        assert!(r.headers().get("set-cookie").is_none());
        let html = r.text().await.unwrap();
        assert!(html.contains("尝试次数过多，请 1 分钟后再试"), "{html}");
        // Another account from the same address is not held up.
        assert_eq!(app.login("street", DEMO_PASSWORD, &[]).await.status(), StatusCode::OK);
        // Five guesses, two refusals: two audit rows (the first failure, and the lock with the count).
        let failed = app.audit("auth.login_failed", "admin").await;
        assert_eq!(failed.len(), 2, "[{}] {failed:?}", app.engine);
        assert_eq!(failed[0].1["failures"], 1);
        assert_eq!(failed[1].1["failures"], 5);
        assert_eq!(failed[1].1["locked_seconds"], 30);
        assert_eq!(failed[1].0, "连续失败 5 次，锁定 30 秒");
        // The lock expires.
        clock.advance(Duration::from_secs(31));
        let t = app.token("admin", DEMO_PASSWORD).await;
        assert_eq!(app.me(&t).await, StatusCode::OK);
        let ok = app.audit("auth.login", "admin").await;
        let last = &ok.last().unwrap().1;
        assert_eq!(
            (last["failures_before"].as_i64(), last["refused_while_locked"].as_i64()),
            (Some(5), Some(2))
        );
        // A success forgets the failures: the next wrong guess is a plain 401 again.
        assert_eq!(app.login("admin", "wrong-guess-2", &[]).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.login("admin", DEMO_PASSWORD, &[]).await.status(), StatusCode::OK);
        // Unknown usernames are throttled the same way (nothing tells which exist) and not audited.
        for _ in 0..5 {
            assert_eq!(
                app.login("nobody.here", "wrong-guess-1", &[]).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            app.login("nobody.here", "wrong-guess-1", &[]).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        // Blocks grow: a failure right after the first lock ends locks for twice as long.
        clock.advance(Duration::from_secs(31));
        assert_eq!(
            app.login("nobody.here", "wrong-guess-1", &[]).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let r = app.login("nobody.here", "wrong-guess-1", &[]).await;
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((31..=60).contains(&retry), "the second lock is longer: {retry}");
    }
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_throttled_and_only_that_address() {
    let clock = ManualClock::default();
    let apps = servers(|s| {
        s.with_login_guard(LoginGuard::with_clock(Arc::new(clock.clone())))
            .with_web(&web("trusted_proxies = ['127.0.0.1']"))
            .unwrap()
    })
    .await;
    for app in apps {
        let from = |ip: &'static str| [("x-forwarded-for", ip)];
        // Twenty wrong passwords spread over twenty accounts (none reaches its own limit)…
        for i in 0..20 {
            let r = app.login(&format!("guess{i}"), "wrong-guess-1", &from("203.0.113.7")).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "[{}] {i}", app.engine);
        }
        // …block the address, even for a real account and its right password.
        let r = app.login("community", DEMO_PASSWORD, &from("203.0.113.7")).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "[{}]", app.engine);
        // Another client behind the same proxy is not affected; nor is the account.
        assert_eq!(
            app.login("community", DEMO_PASSWORD, &from("198.51.100.20")).await.status(),
            StatusCode::OK
        );
        clock.advance(Duration::from_secs(31));
        assert_eq!(
            app.login("community", DEMO_PASSWORD, &from("203.0.113.7")).await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn sessions_end_after_idle_time_and_at_their_absolute_end() {
    for app in servers(|s| s).await {
        let t = app.token("building", DEMO_PASSWORD).await;
        let hash = sha256_hex(&t);
        let (created, expires, idle): (i64, i64, i64) = gongzhi::on_pool!(&app.db, |p| sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT created_at, expires_at, idle_ms FROM sessions WHERE token_hash = $1"
        )
        .bind(&hash)
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(
            (expires - created, idle),
            (12 * 3_600_000, 120 * 60_000),
            "defaults: 12 h absolute, 2 h idle"
        );
        let now = gongzhi::db::now_ms();
        // Used within its idle time: it answers, and the use is recorded.
        app.exec(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
            now - idle + 60_000,
            &hash,
        )
        .await;
        // Changed behind the server's back (as another server would): a session read a moment ago
        // is trusted from memory for at most this long.
        tokio::time::sleep(gongzhi::auth::store::SESSION_TRUST).await;
        assert_eq!(app.me(&t).await, StatusCode::OK);
        let seen: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT last_seen_at FROM sessions WHERE token_hash = $1"
        )
        .bind(&hash)
        .fetch_one(p)
        .await)
        .unwrap();
        assert!(seen >= now, "[{}] a used session's last use moves forward", app.engine);
        // Idle for longer than its idle time: ended.
        app.exec(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
            now - idle - 1_000,
            &hash,
        )
        .await;
        tokio::time::sleep(gongzhi::auth::store::SESSION_TRUST).await;
        assert_eq!(app.me(&t).await, StatusCode::UNAUTHORIZED, "[{}] idle session", app.engine);
        // In constant use but past its absolute end: ended too.
        let t2 = app.token("building", DEMO_PASSWORD).await;
        app.exec(
            "UPDATE sessions SET expires_at = $1 WHERE token_hash = $2",
            now - 1,
            &sha256_hex(&t2),
        )
        .await;
        tokio::time::sleep(gongzhi::auth::store::SESSION_TRUST).await;
        assert_eq!(
            app.me(&t2).await,
            StatusCode::UNAUTHORIZED,
            "[{}] past the absolute end",
            app.engine
        );
        // The console cookie the same way: an idle one sends the browser to the login page.
        let r = app.console_login("building", DEMO_PASSWORD, &[]).await;
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let secret = cookie.split_once('=').unwrap().1.to_string();
        app.exec(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
            now - idle - 1_000,
            &sha256_hex(&secret),
        )
        .await;
        tokio::time::sleep(gongzhi::auth::store::SESSION_TRUST).await;
        let r = app
            .client
            .get(format!("{}/console/me", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));
    }
}

#[tokio::test]
async fn configured_session_times_are_used() {
    let apps = servers(|s| s.with_web(&web("session_idle_minutes = 30\nsession_hours = 8")).unwrap()).await;
    for app in apps {
        let r = app.login("building", DEMO_PASSWORD, &[]).await;
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["expires_in"], 8 * 3600);
        let idle: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT idle_ms FROM sessions WHERE token_hash = $1"
        )
        .bind(sha256_hex(v["token"].as_str().unwrap()))
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(idle, 30 * 60_000);
        let r = app.console_login("building", DEMO_PASSWORD, &[]).await;
        assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=28800"));
    }
}

#[tokio::test]
async fn a_password_change_ends_the_accounts_other_sessions() {
    for app in servers(|s| s).await {
        let a = app.token("community", DEMO_PASSWORD).await;
        let b = app.token("community", DEMO_PASSWORD).await;
        let r = app.console_login("community", DEMO_PASSWORD, &[]).await;
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let other = app.token("street", DEMO_PASSWORD).await;
        let change = |current: &str, new: &str| {
            app.client
                .post(format!("{}/api/v1/me/password", app.base))
                .bearer_auth(&a)
                .json(&json!({"current_password": current, "new_password": new}))
                .send()
        };
        let r = change("not-the-password", "river-lamp-72").await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(code(&r.json().await.unwrap()), "wrong_password");
        for weak in ["short-1", "abcdefghijkl", "1234567890", "community-2025"] {
            let r = change(DEMO_PASSWORD, weak).await.unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
            assert_eq!(code(&r.json().await.unwrap()), "invalid_password", "{weak}");
        }
        assert_eq!(app.me(&b).await, StatusCode::OK, "refused changes end nothing");
        let r = change(DEMO_PASSWORD, "river-lamp-72").await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "[{}]", app.engine);
        assert_eq!(app.me(&a).await, StatusCode::OK, "the session that changed it stays");
        assert_eq!(app.me(&b).await, StatusCode::UNAUTHORIZED, "[{}] other sessions end", app.engine);
        let r = app
            .client
            .get(format!("{}/console/me", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the console session ends too");
        assert_eq!(app.me(&other).await, StatusCode::OK, "other accounts keep theirs");
        assert_eq!(app.login("community", DEMO_PASSWORD, &[]).await.status(), StatusCode::UNAUTHORIZED);
        app.token("community", "river-lamp-72").await;
        let rows = app.audit("user.password", "community").await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1["sessions_ended"], 2, "a token and a cookie besides the caller's");

        // The console form does the same.
        let c1 = app.console_login("community", "river-lamp-72", &[]).await;
        let c1 = c1.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let t2 = app.token("community", "river-lamp-72").await;
        let form = app
            .client
            .get(format!("{}/console/me/password", app.base))
            .header("cookie", &c1)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = crate::support::csrf_of(&form);
        let post = |new: &str, confirm: &str| {
            app.client
                .post(format!("{}/console/me/password", app.base))
                .header("cookie", &c1)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("current", "river-lamp-72"),
                    ("new", new),
                    ("confirm", confirm),
                ])
                .send()
        };
        let r = post("Tz8!mQ2#vL", "Tz8!mQ2#vX").await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("两次输入的新密码不一致"));
        let r = post("qwertyuiop", "qwertyuiop").await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("密码"));
        let r = post("Tz8!mQ2#vL", "Tz8!mQ2#vL").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("密码已修改"));
        assert_eq!(app.me(&t2).await, StatusCode::UNAUTHORIZED);
        let r = app
            .client
            .get(format!("{}/console/me", app.base))
            .header("cookie", &c1)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "the form's own session stays");
    }
}

/// GET a path with headers: status and body.
async fn get(client: &Client, url: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn metrics_fold_paths_into_route_templates() {
    let app = servers(|s| s).await.remove(0);
    for i in 0..50 {
        let _ = get(&app.client, &format!("{}/no/such/path/{i}", app.base), &[]).await;
        let _ = get(&app.client, &format!("{}/api/v1/residents/{}", app.base, uuid::Uuid::now_v7()), &[]).await;
    }
    let (st, text) = get(&app.client, &format!("{}/metrics", app.base), &[]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!text.contains("/no/such/path"), "raw paths are never labels");
    let unmatched: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("gongzhi_http_requests_total{") && l.contains("route=\"unmatched\""))
        .collect();
    assert_eq!(
        unmatched,
        vec!["gongzhi_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 50"]
    );
    assert!(text.contains("route=\"/api/v1/residents/{id}\",status=\"401\"} 50"), "{text}");
}

#[tokio::test]
async fn metrics_answer_this_machine_only_unless_a_token_or_their_own_address_is_set() {
    // Default: only a direct loopback client; anything forwarded is someone else's request.
    let app = servers(|s| s.with_web(&web("trusted_proxies = ['127.0.0.1']")).unwrap())
        .await
        .remove(0);
    let url = format!("{}/metrics", app.base);
    assert_eq!(get(&app.client, &url, &[]).await.0, StatusCode::OK);
    let (st, body) = get(&app.client, &url, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a client behind the proxy");
    assert_eq!(code(&serde_json::from_str(&body).unwrap()), "forbidden");
    let (st, _) = get(&app.client, &url, &[("x-forwarded-proto", "https")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a proxy that forwards without naming the client");

    // A token: scrapers anywhere with it, nobody without it.
    let app = servers(|s| s.with_web(&web("metrics_token = 'scrape-me-7'")).unwrap())
        .await
        .remove(0);
    let url = format!("{}/metrics", app.base);
    assert_eq!(get(&app.client, &url, &[]).await.0, StatusCode::UNAUTHORIZED, "even from here");
    let (st, _) = get(&app.client, &url, &[("authorization", "Bearer wrong")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, text) = get(
        &app.client,
        &url,
        &[("authorization", "Bearer scrape-me-7"), ("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(text.contains("gongzhi_http_requests_total"));

    // Their own address: gone from the main port, served there.
    let (_, _, db) = fresh_databases().await.remove(0);
    let state = AppState::new(db.clone()).with_web(&web("metrics_listen = '127.0.0.1:0'")).unwrap();
    let app = start("sqlite", db, state, ServeOptions::default(), true).await;
    let (st, _) = get(&app.client, &format!("{}/healthz", app.base), &[]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        get(&app.client, &format!("{}/metrics", app.base), &[]).await.0,
        StatusCode::NOT_FOUND
    );
    let (st, text) = get(&app.client, &format!("{}/metrics", app.metrics_base.unwrap()), &[]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        text.contains("gongzhi_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
        "the separate address reports the main port's requests: {text}"
    );
}

/// Read from `s` until the server closes it (or `limit` passes); how long that took.
async fn until_closed(s: &mut (impl tokio::io::AsyncRead + Unpin), limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

async fn quick_server(header: Duration, idle: Duration) -> Server {
    let (engine, _, db) = fresh_databases().await.remove(0);
    let opts = ServeOptions {
        header_read_timeout: header,
        idle_timeout: idle,
        ..ServeOptions::default()
    };
    start(engine, db.clone(), AppState::new(db), opts, false).await
}

#[tokio::test]
async fn half_sent_requests_are_cut_off_by_the_header_deadline() {
    let app = quick_server(Duration::from_millis(400), Duration::from_secs(30)).await;
    // Half a request line, then nothing.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"GET /heal").await.unwrap();
    let took = until_closed(&mut s, Duration::from_secs(5)).await.expect("closed by the server");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    // A byte every 100 ms (never idle) is cut off all the same: the deadline is for the headers.
    let (mut rd, mut wr) = tokio::net::TcpStream::connect(app.addr).await.unwrap().into_split();
    let writer = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if wr.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let took = until_closed(&mut rd, Duration::from_secs(5))
        .await
        .expect("a slow-header client is closed");
    assert!(took < Duration::from_secs(3), "{took:?}");
    writer.abort();
    // A kept-alive connection that sends nothing more is closed as well.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let took = until_closed(&mut s, Duration::from_secs(5)).await.expect("closed after the answer");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A whole request is answered.
    let (st, _) = get(&app.client, &format!("{}/healthz", app.base), &[]).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_by_the_idle_timeout() {
    let app = quick_server(Duration::from_secs(20), Duration::from_millis(500)).await;
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user")
        .await
        .unwrap();
    let took = until_closed(&mut s, Duration::from_secs(10)).await.expect("closed by the server");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_an_https_proxy() {
    // Trusted proxy: its X-Forwarded-Proto counts.
    let app = servers(|s| s.with_web(&web("trusted_proxies = ['127.0.0.1']")).unwrap())
        .await
        .remove(0);
    let cookie = |r: &reqwest::Response| r.headers()["set-cookie"].to_str().unwrap().to_string();
    let r = app
        .console_login(
            "admin",
            DEMO_PASSWORD,
            &[("x-forwarded-proto", "https"), ("x-forwarded-for", "203.0.113.4")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let c = cookie(&r);
    assert!(
        c.contains("; Secure") && c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    let r = app.console_login("admin", DEMO_PASSWORD, &[("x-forwarded-proto", "http")]).await;
    assert!(!cookie(&r).contains("Secure"), "plain HTTP: no Secure flag");
    // Nobody trusted: the header is anyone's to send, so it is ignored.
    let app = servers(|s| s).await.remove(0);
    let r = app.console_login("admin", DEMO_PASSWORD, &[("x-forwarded-proto", "https")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!cookie(&r).contains("Secure"));
}

#[tokio::test]
async fn an_oversized_body_answers_413_in_the_one_error_format() {
    let app = servers(|s| s).await.remove(0);
    let token = app.token("admin", DEMO_PASSWORD).await;
    // 50 MB of JSON to an API route.
    let big = format!("{{\"grid\":\"{}\"}}", "1".repeat(50 * 1024 * 1024));
    let r = app
        .client
        .post(format!("{}/api/v1/households", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "payload_too_large");
    assert!(v["error"]["message"].as_str().unwrap().contains("过大"));
    // A photo over its own 10 MB limit: the same answer.
    let r = app
        .client
        .post(format!("{}/api/v1/cases/{}/attachments", app.base, uuid::Uuid::now_v7()))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(vec![0xffu8; 50 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&r.json().await.unwrap()), "payload_too_large");
    // A console form: a Chinese page.
    let big_form = format!("username=admin&password={}", "x".repeat(50 * 1024 * 1024));
    let r = app
        .client
        .post(format!("{}/login", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big_form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("内容过大") && html.contains("提交的内容过大"), "{html}");
    // Other rejections axum writes in English come in the one format too: a 405 keeps its Allow.
    let r = app.client.delete(format!("{}/api/v1/me", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().contains_key("allow"));
    assert_eq!(code(&r.json().await.unwrap()), "method_not_allowed");
    // A console form missing a field: a Chinese page, not serde's English (and not left marked as
    // compressed when the English was).
    let r = app
        .client
        .post(format!("{}/login", app.base))
        .header("accept-encoding", "gzip")
        .form(&[("username", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.headers().get("content-encoding").is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("提交的内容有误") && !html.contains("Failed to deserialize"), "{html}");
}
