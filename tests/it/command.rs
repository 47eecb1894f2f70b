//! The command centre: dashboard figures equal to what the board and the assessment count, the
//! running tallies equal to a rebuild from the cases, the live event stream, the screen page.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, page, sign_in};

const BUILDING: &str = "411602001001001001";
const COMMUNITY: &str = "411602001001";
const OUTSIDE_COMMUNITY: &str = "411602001002";

async fn act(app: &App, token: &str, id: &str, body: Value) {
    let (st, v) = app.post(&format!("/api/v1/cases/{id}/actions"), token, body).await;
    assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
}

async fn dashboard(app: &App, token: &str, grid: &str) -> Value {
    let (st, d) = app.get(&format!("/api/v1/dashboard?grid={grid}"), token).await;
    assert_eq!(st, StatusCode::OK, "[{}] {d}", app.engine);
    d
}

async fn board_total(app: &App, token: &str, query: &str) -> i64 {
    let (st, v) = app.get(&format!("/api/v1/cases?{query}&per_page=1"), token).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["total"].as_i64().unwrap()
}

/// The tally table as rows, sorted.
async fn tallies(app: &App) -> Vec<(String, i64, String, i64, i64, i64, i64)> {
    let sql = "SELECT grid_code, day, category_code, reported, on_time, closed, open FROM case_tallies \
               WHERE reported <> 0 OR on_time <> 0 OR closed <> 0 OR open <> 0 ORDER BY grid_code, day, category_code";
    gongzhi::on_pool!(&app.db, |p| sqlx::query_as(sql).fetch_all(p).await).unwrap()
}

#[tokio::test]
async fn dashboard_counts_what_the_board_and_assessment_count() {
    for app in apps().await {
        let officer = app.token("building").await;
        let community = app.token("community").await;
        let department = app.token("department").await;
        let (_, units) = app.get("/api/v1/units?kind=department&q=区城市管理局", &community).await;
        let dept = units["items"][0]["id"].as_str().unwrap().to_string();
        let before = dashboard(&app, &community, COMMUNITY).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let (st, c) = app
                .post(
                    "/api/v1/cases",
                    &officer,
                    json!({"category": "SQ01", "description": format!("垃圾堆放 {i}"), "grid": BUILDING}),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED);
            ids.push(c["id"].as_str().unwrap().to_string());
        }
        for body in [json!({"action": "accept"}), json!({"action": "dispatch", "unit": dept})] {
            act(&app, &community, &ids[0], body).await;
        }
        act(&app, &department, &ids[0], json!({"action": "start"})).await;
        act(&app, &department, &ids[0], json!({"action": "handle", "note": "已清理"})).await;
        act(&app, &officer, &ids[0], json!({"action": "verify"})).await;
        act(&app, &community, &ids[0], json!({"action": "close"})).await;
        // One merged into another: it counts nowhere, as in the assessment.
        let (st, v) = app
            .post(&format!("/api/v1/cases/{}/merge", ids[2]), &community, json!({"into": ids[1]}))
            .await;
        assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);

        let after = dashboard(&app, &community, COMMUNITY).await;
        let n = |d: &Value, k: &str| d["cases"][k].as_i64().unwrap();
        assert_eq!(
            n(&after, "reported_today") - n(&before, "reported_today"),
            2,
            "[{}] {after}",
            app.engine
        );
        assert_eq!(n(&after, "closed_today") - n(&before, "closed_today"), 1, "[{}]", app.engine);
        assert_eq!(n(&after, "open") - n(&before, "open"), 1, "[{}]", app.engine);

        // The board's counts, status by status, and its overdue filter.
        let admin = app.token("admin").await;
        for grid in [COMMUNITY, BUILDING, "411602001", "411602"] {
            let d = dashboard(&app, &admin, grid).await;
            let mut open = 0;
            for st in ["reported", "accepted", "dispatched", "handling", "handled", "verified"] {
                open += board_total(&app, &admin, &format!("grid={grid}&status={st}")).await;
            }
            assert_eq!(n(&d, "open"), open, "[{}] open at {grid}", app.engine);
            let overdue = board_total(&app, &admin, &format!("grid={grid}&overdue=true")).await;
            assert_eq!(n(&d, "overdue"), overdue, "[{}] overdue at {grid}", app.engine);
        }

        // The assessment of the month, for the community.
        let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(8)));
        let month = now.date().first_of_month();
        let tomorrow = now.date().tomorrow().unwrap();
        let (st, r) = app
            .get(&format!("/api/v1/assessment?by=community&from={month}&to={tomorrow}"), &admin)
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let row = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == COMMUNITY)
            .unwrap()
            .clone();
        assert_eq!(n(&after, "reported_month"), row["received"].as_i64().unwrap(), "[{}]", app.engine);
        let rate = after["cases"]["on_time_rate_month"].as_f64().unwrap();
        assert!(
            (rate - row["on_time_rate"].as_f64().unwrap()).abs() < 1e-9,
            "[{}] {rate} vs {row}",
            app.engine
        );

        // Everything the writes kept incrementally is what a rebuild from the cases gives.
        let kept = tallies(&app).await;
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::cases::tallies::rebuild(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(kept, tallies(&app).await, "[{}] incremental tallies = rebuild", app.engine);

        // Children carry their own loads; the trend ends today with today's reports.
        let d = dashboard(&app, &community, COMMUNITY).await;
        assert_eq!(d["trend"].as_array().unwrap().len(), 30);
        assert_eq!(d["trend"][29]["reported"], d["cases"]["reported_today"]);
        let kid = d["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["code"] == "411602001001001")
            .unwrap();
        assert!(kid["open"].as_i64().unwrap() >= 1, "{kid}");
    }
}

#[tokio::test]
async fn the_dashboard_is_scoped_like_the_board() {
    for app in apps().await {
        let community = app.token("community").await;
        let (st, _) = app.get(&format!("/api/v1/dashboard?grid={OUTSIDE_COMMUNITY}"), &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, d) = app.get("/api/v1/dashboard", &community).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(d["grid"]["code"], COMMUNITY, "the caller's own node by default");
        let (st, _) = app.get("/api/v1/dashboard", &app.token("resident").await).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = app.get("/api/v1/dashboard?grid=4116020010019999", &community).await;
        assert!(st.is_client_error());
    }
}

/// Read the stream until `want` appears in an event; the text read.
async fn read_until(r: &mut reqwest::Response, want: &str, limit: Duration) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + limit;
    while !seen.contains(want) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, r.chunk()).await {
            Ok(Ok(Some(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
            _ => break,
        }
    }
    seen
}

#[tokio::test]
async fn a_case_reaches_a_connected_screen_within_a_second() {
    for app in apps().await {
        let community = app.token("community").await;
        let admin = app.token("admin").await;
        let mut r = app
            .client
            .get(format!("{}/api/v1/events?grid={COMMUNITY}", app.base))
            .bearer_auth(&community)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        let hello = read_until(&mut r, "event: hello", Duration::from_secs(5)).await;
        assert!(hello.contains(COMMUNITY), "{hello}");
        // A case in another community is not this screen's.
        let (st, _) = app
            .post(
                "/api/v1/cases",
                &admin,
                json!({"category": "SQ01", "description": "别的社区的垃圾", "grid": OUTSIDE_COMMUNITY}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let t0 = Instant::now();
        let (st, c) = app
            .post(
                "/api/v1/cases",
                &admin,
                json!({"category": "SQ01", "description": "楼下垃圾", "grid": BUILDING}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let code = c["tracking_code"].as_str().unwrap();
        let got = read_until(&mut r, code, Duration::from_secs(3)).await;
        let took = t0.elapsed();
        assert!(got.contains(code), "[{}] no event: {got}", app.engine);
        assert!(took < Duration::from_secs(1), "[{}] took {took:?}", app.engine);
        assert!(!got.contains(OUTSIDE_COMMUNITY), "[{}] an outside case leaked: {got}", app.engine);
        assert!(got.contains("event: case") && got.contains("\"kind\":\"reported\""), "{got}");
        // No description or reporter travels on the stream.
        assert!(!got.contains("楼下垃圾"), "{got}");
        // An action is an event too.
        act(&app, &community, c["id"].as_str().unwrap(), json!({"action": "accept"})).await;
        let got = read_until(&mut r, "\"kind\":\"accept\"", Duration::from_secs(3)).await;
        assert!(got.contains("\"kind\":\"accept\""), "[{}] {got}", app.engine);
    }
}

#[tokio::test]
async fn the_screen_page_shows_the_figures_and_drills_down() {
    for app in apps().await {
        let admin = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &admin, "/console/command").await;
        assert_eq!(st, StatusCode::OK, "[{}]", app.engine);
        for want in [
            "指挥中心",
            "今日上报",
            "已超期",
            "本月按期处置率",
            "最新案件与告警",
            "一网调度",
            "/static/command.js",
        ] {
            assert!(html.contains(want), "[{}] {want}", app.engine);
        }
        assert!(html.contains("href=\"/console/command?grid=411602001\""), "drill down to a street");
        let (st, html) = page(&app, &admin, &format!("/console/command?grid={COMMUNITY}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("data-grid=\"411602001001\""));
        let (st, svg) = page(&app, &admin, &format!("/console/command/map?grid={COMMUNITY}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        // Children drill down to their own screens and carry their load's colour; open cases are points.
        assert!(svg.contains("/console/command?grid=411602001001001"), "drill-down links");
        assert!(
            ["calm", "busy", "alarm"].iter().any(|c| svg.contains(&format!("kid {c}"))),
            "load colours: {}",
            &svg[..svg.len().min(400)]
        );
        assert!(svg.contains("<circle class=\"pt"), "case points");
        let resident = sign_in(&app, "resident").await;
        let (st, _) = page(&app, &resident, "/console/command").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn an_instruction_shows_on_the_screen_until_acknowledged() {
    for app in apps().await {
        let community = app.token("community").await;
        let (st, b) = app
            .post(
                "/api/v1/broadcasts",
                &community,
                json!({"grid": COMMUNITY, "kind": "instruction", "title": "今晚8点前排查飞线充电", "body": "请各楼栋长逐户排查并回复"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {b}", app.engine);
        let id = b["id"].as_str().unwrap().to_string();
        let d = dashboard(&app, &community, COMMUNITY).await;
        let open = d["open_instructions"].as_array().unwrap();
        let it = open
            .iter()
            .find(|i| i["id"] == id.as_str())
            .unwrap_or_else(|| panic!("[{}] {d}", app.engine));
        assert_eq!(it["acknowledged"], 0);
        assert!(it["recipients"].as_i64().unwrap() >= 1);
        // Not on another community's screen.
        let admin = app.token("admin").await;
        let other = dashboard(&app, &admin, OUTSIDE_COMMUNITY).await;
        assert!(
            !other["open_instructions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id.as_str())
        );
        // The screen's 下达指令 opens the send form at this node, as an instruction.
        let cookie = sign_in(&app, "community").await;
        let (_, html) = page(&app, &cookie, &format!("/console/command?grid={COMMUNITY}")).await;
        assert!(html.contains("今晚8点前排查飞线充电"), "[{}] the screen lists it", app.engine);
        let link = format!("/console/broadcasts?grid={COMMUNITY}&amp;kind=instruction");
        assert!(html.contains(&link), "{link}");
        let (st, form) = page(&app, &cookie, &format!("/console/broadcasts?grid={COMMUNITY}&kind=instruction")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(form.contains(&format!("value=\"{COMMUNITY}\" selected")), "the node is chosen");
        assert!(form.contains("value=\"instruction\" checked"), "as an instruction");
    }
}
