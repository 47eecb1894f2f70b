//! Volunteer, keeper, organiser and community pages over HTTP: who sees what, sign-up and check-in
//! by code crediting hours and points, a redemption confirmed once, refusals in Chinese, the certificate.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps};

const BUILDING: &str = "411602001001001001";
const COMMUNITY: &str = "411602001001";

async fn sign_in_pw(app: &App, user: &str, password: &str) -> String {
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

/// Rows of `table` whose `column` is the id `id` (the demo has a year of others).
async fn rows_of(app: &App, table: &str, column: &str, id: &str) -> i64 {
    let id: uuid::Uuid = id.parse().unwrap();
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(p)
        .await)
    .unwrap()
}

async fn sign_in(app: &App, user: &str) -> String {
    sign_in_pw(app, user, "gongzhi-demo").await
}

async fn page(app: &App, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = app
        .client
        .get(format!("{}{}", app.base, path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post(app: &App, cookie: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
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

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..at + 64].to_string()
}

fn input_of(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("an input {name}")) + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

fn rfc(ms: i64) -> String {
    gongzhi::time::rfc3339_ms(ms)
}

/// A new neighbour in building 1 who registers as a volunteer (the demo's `resident` account
/// already is one, with a year of history): fresh hours and points. Returns (API token, volunteer id).
async fn volunteer(app: &App) -> (String, String) {
    let admin = app.token("admin").await;
    let (st, list) = app.get(&format!("/api/v1/residents?grid={BUILDING}&per_page=50"), &admin).await;
    assert_eq!(st, StatusCode::OK);
    let mut r = Value::Null;
    for x in list["items"].as_array().unwrap() {
        let id: uuid::Uuid = x["id"].as_str().unwrap().parse().unwrap();
        if gongzhi::volunteers::store::volunteer_of_resident(&app.db, "411602", id)
            .await
            .unwrap()
            .is_none()
        {
            r = x.clone();
            break;
        }
    }
    assert!(r.is_object(), "a resident of building 1 who does not volunteer yet");
    let (st, full) = app
        .post(
            &format!("/api/v1/residents/{}/reveal", r["id"].as_str().unwrap()),
            &admin,
            json!({"reason": "志愿者登记核对"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{full}");
    let body =
        json!({"username": "neighbour", "password": "gongzhi-demo", "display_name": r["name"], "role": "resident", "grid": BUILDING});
    let (st, u) = app.post("/api/v1/users", &admin, body).await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    let token = app.token("neighbour").await;
    let (st, v) = app
        .post(
            "/api/v1/volunteers",
            &token,
            json!({"id_number": full["id_number"], "name": r["name"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "[{}] {v}", app.engine);
    (token, v["id"].as_str().unwrap().to_string())
}

/// An activity of the community that started an hour ago and ends in two; returns (id, code).
async fn activity_now(app: &App, title: &str) -> (String, String) {
    let community = app.token("community").await;
    let now = gongzhi::db::now_ms();
    let (st, a) = app
        .post(
            "/api/v1/activities",
            &community,
            json!({"title": title, "place": "1号楼前", "grid": COMMUNITY,
                   "starts_at": rfc(now - 3_600_000), "ends_at": rfc(now + 7_200_000), "capacity": 10}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    (a["id"].as_str().unwrap().to_string(), a["code"].as_str().unwrap().to_string())
}

/// A love supermarket, a keeper account (username, password) and an item.
async fn shop(app: &App, name: &str, points: i64, stock: i64) -> (String, String, String) {
    let community = app.token("community").await;
    let admin = app.token("admin").await;
    let (st, shop) = app
        .post(
            "/api/v1/shops",
            &community,
            json!({"kind": "love_supermarket", "name": name, "grid": COMMUNITY, "address": "社区服务中心一楼"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{shop}");
    let shop_id = shop["id"].as_str().unwrap().to_string();
    let username = format!("keeper{}", &shop_id[shop_id.len() - 6..]);
    let (st, u) = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": username, "password": "keeper-pass-1", "role": "shop_keeper", "unit": shop_id}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    let (st, item) = app
        .post(
            &format!("/api/v1/shops/{shop_id}/items"),
            &community,
            json!({"name": "大米5斤", "points": points, "stock": stock}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{item}");
    (shop_id, username, item["id"].as_str().unwrap().to_string())
}

async fn give(app: &App, volunteer: &str, points: i64) {
    let community = app.token("community").await;
    let (st, v) = app
        .post(
            "/api/v1/points/corrections",
            &community,
            json!({"volunteer": volunteer, "points": points, "reason": "测试：补发积分"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

async fn me(app: &App, token: &str) -> Value {
    let (st, v) = app.get("/api/v1/volunteers/me", token).await;
    assert_eq!(st, StatusCode::OK);
    v
}

#[tokio::test]
async fn volunteer_signs_up_and_checks_in_by_code_from_the_phone() {
    for app in apps().await {
        let (token, vid) = volunteer(&app).await;
        let (aid, code) = activity_now(&app, "清理楼道小广告").await;
        let cookie = sign_in(&app, "neighbour").await;

        let (st, html) = page(&app, &cookie, "/console/volunteer").await;
        assert_eq!(st, StatusCode::OK, "[{}] {html}", app.engine);
        assert!(html.contains("我的志愿服务") && html.contains("清理楼道小广告") && html.contains(">报名</button>"));
        assert!(
            html.contains("href=\"/console/volunteer\"") && html.contains(">志愿服务</a>"),
            "nav link"
        );
        let csrf = csrf_of(&html);

        // Without the token: refused.
        let (st, _, _) = post(
            &app,
            &cookie,
            &format!("/console/volunteer/activities/{aid}/signup"),
            &[("csrf", "forged")],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _, loc) = post(
            &app,
            &cookie,
            &format!("/console/volunteer/activities/{aid}/signup"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (st, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("报名成功") && html.contains("已报名"));
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("/console/volunteer/activities/{aid}/signup"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("您已报名该活动"));

        // A wrong code: a Chinese error, the input kept, nothing changed.
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/volunteer/check",
            &[("csrf", &csrf), ("code", "ZZZZ99"), ("action", "in")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("签到码不正确") && html.contains("value=\"ZZZZ99\""));
        // Check in by the code alone (lower case is fine).
        let (st, _, loc) = post(
            &app,
            &cookie,
            "/console/volunteer/check",
            &[("csrf", &csrf), ("code", &code.to_lowercase()), ("action", "in")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        assert_eq!(
            loc.as_deref(),
            Some(format!("/console/volunteer/activities/{aid}?done=in").as_str())
        );
        let (_, html) = page(&app, &cookie, &format!("/console/volunteer/activities/{aid}")).await;
        assert!(html.contains("已签到"));
        // The check-in was an hour ago; check out: 60 minutes, 10 points.
        let id = uuid::Uuid::parse_str(&vid).unwrap();
        let back = gongzhi::db::now_ms() - 60 * 60_000 - 30_000;
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE activity_signups SET checked_in_at = $1 WHERE volunteer_id = $2"
        )
        .bind(back)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
        let (st, _, loc) = post(
            &app,
            &cookie,
            "/console/volunteer/check",
            &[("csrf", &csrf), ("code", &code), ("action", "out")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert!(
            html.contains("签退成功") && html.contains("已完成") && html.contains("获得 10 积分"),
            "{html}"
        );
        let v = me(&app, &token).await;
        assert_eq!((v["points_balance"].as_i64(), v["minutes"].as_i64()), (Some(10), Some(60)));
        // Checking out twice is refused in place.
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("/console/volunteer/activities/{aid}/check"),
            &[("csrf", &csrf), ("code", &code), ("action", "out")],
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("您已签退"));
        assert_eq!(me(&app, &token).await["points_balance"], 10);
        // The home page shows hours, points and the entry.
        let (_, html) = page(&app, &cookie, "/console/volunteer").await;
        assert!(html.contains("<b id=\"my-hours\">1.0</b>") && html.contains("<b id=\"my-points\">10</b>"));
        assert!(html.contains("志愿服务每小时") && html.contains("+10"));

        // The catalogue and a one-time code with its QR code.
        let (_, _, _) = shop(&app, "一社区爱心超市", 5, 3).await;
        let (st, html) = page(&app, &cookie, "/console/volunteer/shop").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("一社区爱心超市") && html.contains("大米5斤") && html.contains("5 积分"));
        let (st, html, _) = post(&app, &cookie, "/console/volunteer/shop/code", &[("csrf", &csrf)]).await;
        assert_eq!(st, StatusCode::OK);
        let at = html.find("id=\"redeem-code\">").unwrap() + "id=\"redeem-code\">".len();
        let shown = &html[at..at + 8];
        assert!(shown.chars().all(|c| c.is_ascii_alphanumeric()), "{shown}");
        assert!(html.contains("<svg class=\"qr\"") && !html.contains("<?xml"));
        assert_eq!(rows_of(&app, "redemption_codes", "volunteer_id", &vid).await, 1);

        // Not a volunteer: refused, in Chinese.
        let staff = sign_in(&app, "community").await;
        let (st, html) = page(&app, &staff, "/console/volunteer").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(html.contains("尚未登记为志愿者"));
        let (st, _) = page(&app, &staff, "/console/volunteer/shop").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn keeper_confirms_once_and_refusals_change_nothing() {
    for app in apps().await {
        let (token, vid) = volunteer(&app).await;
        give(&app, &vid, 30).await;
        let (shop_id, keeper, item) = shop(&app, "一社区爱心超市", 10, 2).await;
        let cookie = sign_in_pw(&app, &keeper, "keeper-pass-1").await;
        let (st, html) = page(&app, &cookie, "/console/shop").await;
        assert_eq!(st, StatusCode::OK, "[{}] {html}", app.engine);
        assert!(html.contains("一社区爱心超市") && html.contains("大米5斤") && html.contains(">兑换</a>"));
        let csrf = csrf_of(&html);
        let key = input_of(&html, "key");
        let new_code = || async {
            let (st, c) = app.post("/api/v1/redemption-codes", &token, json!({})).await;
            assert_eq!(st, StatusCode::CREATED);
            c["code"].as_str().unwrap().to_string()
        };

        // Confirm, then the same form again (a double tap): one redemption.
        let code = new_code().await;
        let form = [
            ("csrf", csrf.as_str()),
            ("key", key.as_str()),
            ("shop", shop_id.as_str()),
            ("code", code.as_str()),
            ("item", item.as_str()),
            ("quantity", "1"),
        ];
        let (st, html, _) = post(&app, &cookie, "/console/shop/redeem", &form).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        assert!(html.contains("兑换成功") && html.contains("扣除 10 积分"), "{html}");
        assert_ne!(input_of(&html, "key"), key, "a fresh key for the next customer");
        let (st, html, _) = post(&app, &cookie, "/console/shop/redeem", &form).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("只兑换了一次"), "{html}");
        assert_eq!(rows_of(&app, "redemptions", "shop_id", &shop_id).await, 1);
        assert_eq!(me(&app, &token).await["points_balance"], 20);
        assert!(html.contains("兑换记录（共 1 次）") && html.matches("<td data-label=\"志愿者\">").count() == 1);

        // 库存不足: one left, two asked; nothing changes and the form keeps its input.
        let code = new_code().await;
        let key2 = uuid::Uuid::now_v7().to_string();
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/shop/redeem",
            &[
                ("csrf", &csrf),
                ("key", &key2),
                ("shop", &shop_id),
                ("code", &code),
                ("item", &item),
                ("quantity", "2"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("库存不足") && html.contains(&format!("value=\"{code}\"")) && html.contains("value=\"2\""));
        assert_eq!(input_of(&html, "key"), key2, "a refused form keeps its key");
        assert_eq!(rows_of(&app, "redemptions", "shop_id", &shop_id).await, 1);
        assert_eq!(me(&app, &token).await["points_balance"], 20);

        // Restock from the page, then 余额不足: three cost 30, the volunteer has 20.
        let (st, _, loc) = post(
            &app,
            &cookie,
            &format!("/console/shop/items/{item}/stock"),
            &[("csrf", &csrf), ("stock", "abc")],
        )
        .await;
        assert_eq!((st, loc), (StatusCode::UNPROCESSABLE_ENTITY, None));
        let (st, _, loc) = post(
            &app,
            &cookie,
            &format!("/console/shop/items/{item}/stock"),
            &[("csrf", &csrf), ("stock", "10")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert!(html.contains("库存已更新") && html.contains("value=\"10\""));
        let code = new_code().await;
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/shop/redeem",
            &[
                ("csrf", &csrf),
                ("key", "till-3"),
                ("shop", &shop_id),
                ("code", &code),
                ("item", &item),
                ("quantity", "3"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("积分不足：当前余额 20 分，兑换需 30 分"), "{html}");
        assert_eq!(rows_of(&app, "redemptions", "shop_id", &shop_id).await, 1);
        assert_eq!(me(&app, &token).await["points_balance"], 20);
        let (_, items) = app.get(&format!("/api/v1/shops/{shop_id}/items"), &token).await;
        assert_eq!(items["items"][0]["stock"], 10);
        // A used code.
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/shop/redeem",
            &[
                ("csrf", &csrf),
                ("key", "till-4"),
                ("shop", &shop_id),
                ("code", form[3].1),
                ("item", &item),
                ("quantity", "1"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("兑换码已使用"));
        // Without the CSRF token: refused before anything.
        let (st, _, _) = post(
            &app,
            &cookie,
            "/console/shop/redeem",
            &[("csrf", "x"), ("code", &code), ("item", &item)],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // Others: the volunteer and the community have no till; another shop's keeper cannot
        // confirm this shop's items.
        for who in ["neighbour", "community"] {
            let c = sign_in(&app, who).await;
            let (st, _) = page(&app, &c, "/console/shop").await;
            assert!(st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND, "{who}: {st}");
        }
        let (_, other, _) = shop(&app, "二号爱心超市", 1, 1).await;
        let oc = sign_in_pw(&app, &other, "keeper-pass-1").await;
        let (_, html) = page(&app, &oc, "/console/shop").await;
        let (st, _, _) = post(
            &app,
            &oc,
            "/console/shop/redeem",
            &[
                ("csrf", &csrf_of(&html)),
                ("key", "k-9"),
                ("code", &code),
                ("item", &item),
                ("quantity", "1"),
            ],
        )
        .await;
        assert!(st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND);
        assert_eq!(rows_of(&app, "redemptions", "shop_id", &shop_id).await, 1);
    }
}

#[tokio::test]
async fn organiser_marks_attendance_and_the_community_issues_the_certificate() {
    for app in apps().await {
        let (token, vid) = volunteer(&app).await;
        let name = me(&app, &token).await["name"].as_str().unwrap().to_string();
        let cookie = sign_in(&app, "community").await;

        // The month's activities, its theme, and the create form (bad input kept, then good).
        let (st, html) = page(&app, &cookie, "/console/activities").await;
        assert_eq!(st, StatusCode::OK, "[{}] {html}", app.engine);
        assert!(
            html.contains("发布活动") && html.contains("<span id=\"theme\">"),
            "the demo set this month's theme"
        );
        let (_, later) = page(&app, &cookie, "/console/activities?month=2030-01").await;
        assert!(later.contains("尚未设置"));
        let csrf = csrf_of(&html);
        let month = &gongzhi::time::format_ms(gongzhi::db::now_ms())[..7];
        let (st, _, loc) = post(
            &app,
            &cookie,
            "/console/activities/theme",
            &[("csrf", &csrf), ("month", month), ("title", "文明养犬月")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert!(html.contains("<span id=\"theme\">文明养犬月</span>"));
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/activities/theme",
            &[("csrf", &csrf), ("month", "2026-13"), ("title", "环境整治月")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("月份格式应为") && html.contains("value=\"环境整治月\""));
        let tomorrow = &gongzhi::time::format_ms(gongzhi::db::now_ms() + 86_400_000)[..10];
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("title", "x"),
            ("place", "社区广场"),
            ("date", tomorrow),
            ("start", "09:00"),
            ("end", "11:00"),
            ("capacity", "20"),
            ("team", ""),
            ("grid", ""),
            ("description", ""),
        ];
        let (st, html, _) = post(&app, &cookie, "/console/activities", &form).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("活动名称应为2至100字") && html.contains("value=\"社区广场\""));
        form[1].1 = "垃圾分类宣传";
        form[5].1 = "08:00";
        let (st, html, _) = post(&app, &cookie, "/console/activities", &form).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("结束时间应晚于开始时间"));
        form[5].1 = "11:00";
        let (st, html2, loc) = post(&app, &cookie, "/console/activities", &form).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{}", html2.split("role=\"alert\">").nth(1).unwrap_or(""));
        let (st, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("活动已创建") && html.contains("id=\"checkin-code\"") && html.contains("<svg class=\"qr\""));

        // An activity under way: the organiser's page shows its code; others are refused.
        let (aid, code) = activity_now(&app, "清理楼道小广告").await;
        let (st, html) = page(&app, &cookie, &format!("/console/activities/{aid}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains(&format!("id=\"checkin-code\">{code}</p>")));
        let resident = sign_in(&app, "neighbour").await;
        let (st, _) = page(&app, &resident, &format!("/console/activities/{aid}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, html) = page(&app, &resident, &format!("/console/volunteer/activities/{aid}")).await;
        assert!(st == StatusCode::OK && !html.contains(&code), "volunteers never see the code");
        let building = sign_in(&app, "building").await;
        let (st, _) = page(&app, &building, "/console/activities").await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // 标记出勤 by name for someone without a phone: 30 minutes, 5 points.
        let mark = |name: &'static str, minutes: &'static str| {
            [
                ("csrf", csrf.clone()),
                ("volunteer", String::new()),
                ("name", name.to_string()),
                ("minutes", minutes.to_string()),
            ]
        };
        let path = format!("/console/activities/{aid}/attendance");
        let f = mark("没有这个人", "30");
        let (st, html, _) = post(&app, &cookie, &path, &f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("没有名为「没有这个人」的志愿者") && html.contains("value=\"没有这个人\""));
        let (st, html, _) = post(
            &app,
            &cookie,
            &path,
            &[("csrf", &csrf), ("volunteer", ""), ("name", &name), ("minutes", "abc")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("服务时长应为整数分钟"));
        let (st, _, loc) = post(
            &app,
            &cookie,
            &path,
            &[("csrf", &csrf), ("volunteer", ""), ("name", &name), ("minutes", "30")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert!(html.contains("已登记出勤") && html.contains("已完成"));
        let v = me(&app, &token).await;
        assert_eq!((v["points_balance"].as_i64(), v["minutes"].as_i64()), (Some(5), Some(30)));
        let (st, html, _) = post(
            &app,
            &cookie,
            &path,
            &[("csrf", &csrf), ("volunteer", &vid), ("name", ""), ("minutes", "30")],
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("该次服务时长已记录"));
        assert_eq!(me(&app, &token).await["points_balance"], 5);

        // The community: volunteers, one volunteer, the certificate, the summaries.
        let (st, html) = page(&app, &cookie, &format!("/console/volunteers?q={}", &name)).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains(&format!("href=\"/console/volunteers/{vid}\">{name}</a>")));
        let (st, html) = page(&app, &cookie, &format!("/console/volunteers/{vid}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("<b id=\"hours\">0.5</b>") && html.contains("<b id=\"points\">5</b>") && html.contains("+5"));
        let (st, html) = page(&app, &cookie, &format!("/console/volunteers/{vid}/certificate")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("志愿服务证明") && html.contains("<b id=\"cert-hours\">0.5</b>") && html.contains("清理楼道小广告"));
        assert!(
            html.contains("**********") && html.contains("data-print"),
            "masked ID number, a print button"
        );
        let (st, _) = page(&app, &resident, &format!("/console/volunteers/{vid}/certificate")).await;
        assert_eq!(st, StatusCode::OK, "a volunteer prints their own");
        let (st, html) = page(&app, &cookie, "/console/points").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("按队伍") && html.contains("按社区") && html.contains("按月份") && html.contains(month));
        assert!(!html.contains("账目平衡"), "the district audit is the admin's");
        assert!(
            html.contains("本辖区志愿者和商家") && html.contains("志愿服务每小时"),
            "the subtree's ledger"
        );
        let admin = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &admin, "/console/points").await;
        assert_eq!(st, StatusCode::OK);
        // The audit re-reads the whole ledger: offered, run when asked.
        assert!(!html.contains("账目平衡") && html.contains("id=\"run-audit\"") && html.contains("志愿服务每小时"));
        assert!(!html.contains("全区账目核对结果由区级管理员查看"));
        let (st, html) = page(&app, &admin, "/console/points?grid=411602&audit=1").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("账目平衡") && html.contains("志愿服务每小时"));
        for path in ["/console/points", "/console/volunteers"] {
            let (st, _) = page(&app, &resident, path).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        }
        let (_, keeper, _) = shop(&app, "一社区爱心超市", 5, 1).await;
        let kc = sign_in_pw(&app, &keeper, "keeper-pass-1").await;
        let (st, _) = page(&app, &kc, &format!("/console/volunteers/{vid}/certificate")).await;
        assert!(st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN);
    }
}

/// A resident who does not volunteer yet is offered to register (网上注册) on the volunteer page,
/// by the name and ID number the registry holds; a mismatch is explained in Chinese and keeps the input.
#[tokio::test]
async fn a_resident_registers_as_a_volunteer_from_the_phone() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let (_, list) = app.get(&format!("/api/v1/residents?grid={BUILDING}&per_page=50"), &admin).await;
        let mut r = Value::Null;
        for x in list["items"].as_array().unwrap() {
            let id: uuid::Uuid = x["id"].as_str().unwrap().parse().unwrap();
            if gongzhi::volunteers::store::volunteer_of_resident(&app.db, "411602", id)
                .await
                .unwrap()
                .is_none()
            {
                r = x.clone();
                break;
            }
        }
        let (_, full) = app
            .post(
                &format!("/api/v1/residents/{}/reveal", r["id"].as_str().unwrap()),
                &admin,
                json!({"reason": "测试"}),
            )
            .await;
        let id_number = full["id_number"].as_str().unwrap().to_string();
        let name = r["name"].as_str().unwrap().to_string();
        let body = json!({"username": "newcomer", "password": "gongzhi-demo", "display_name": name, "role": "resident", "grid": BUILDING});
        assert_eq!(app.post("/api/v1/users", &admin, body).await.0, StatusCode::CREATED);
        let cookie = sign_in(&app, "newcomer").await;
        let (st, html) = page(&app, &cookie, "/console/volunteer").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("登记成为志愿者") && html.contains("name=\"id_number\""));
        let csrf = csrf_of(&html);
        let before = app.count("volunteers").await;
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/volunteer/register",
            &[("csrf", &csrf), ("name", "不是我"), ("id_number", &id_number)],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("未找到与该姓名和身份证号相符的本楼居民") && html.contains("value=\"不是我\""));
        assert_eq!(app.count("volunteers").await, before);
        let (st, _, loc) = post(
            &app,
            &cookie,
            "/console/volunteer/register",
            &[("csrf", &csrf), ("name", &name), ("id_number", &id_number)],
        )
        .await;
        assert_eq!((st, loc.as_deref()), (StatusCode::SEE_OTHER, Some("/console/volunteer")));
        let (st, html) = page(&app, &cookie, "/console/volunteer").await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("<b id=\"my-hours\">0.0</b>") && html.contains("<b id=\"my-points\">0</b>"),
            "registered, nothing yet"
        );
        assert_eq!(app.count("volunteers").await, before + 1);
        // Staff are not offered the form: it is for residents themselves.
        let staff = sign_in(&app, "building").await;
        let (st, _) = page(&app, &staff, "/console/volunteer").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

/// `1755` → `1,755`, as the pages write counts.
fn grouped(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A volunteering day from the phone: the check-in QR opens the activity's check-in with its code
/// (through sign-in), a check-out that credits no time says so and stays off the certificate,
/// ledger lines name the activity, and the points page gives the true total of its ledger.
#[tokio::test]
async fn a_volunteering_day_reads_right_on_the_phone() {
    for app in apps().await {
        let (token, vid) = volunteer(&app).await;
        let community = app.token("community").await;
        let staff = sign_in(&app, "community").await;

        // The QR code on the organiser's page encodes the link to the volunteer's check-in.
        let (aid, code) = activity_now(&app, "楼道清扫").await;
        let r = app
            .client
            .get(format!("{}/console/activities/{aid}", app.base))
            .header("cookie", &staff)
            .header("host", "gz.example.cn")
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        let link = format!("https://gz.example.cn/console/volunteer/activities/{aid}?code={code}");
        assert!(
            html.contains(&gongzhi::volunteers::pages::qr_svg(&link)),
            "[{}] the QR code encodes {link}",
            app.engine
        );
        assert!(!html.contains(&gongzhi::volunteers::pages::qr_svg(&code)), "not the bare code");
        // Scanned by someone not signed in: sign-in first, then back to the same link.
        let path = format!("/console/volunteer/activities/{aid}?code={code}");
        let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/login?next=") && to.contains(&code) && to.contains(&aid), "{to}");
        // Signed in: the check-in form of that activity, the code filled in.
        let cookie = sign_in(&app, "neighbour").await;
        let (st, html) = page(&app, &cookie, &path).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(input_of(&html, "code"), code);
        assert!(html.contains(&format!("action=\"/console/volunteer/activities/{aid}/check\"")));

        // An activity that starts in an hour: checking in and straight out credits nothing.
        let now = gongzhi::db::now_ms();
        let (st, early) = app
            .post(
                "/api/v1/activities",
                &community,
                json!({"title": "义务理发早场", "place": "党群服务中心", "grid": COMMUNITY,
                       "starts_at": rfc(now + 3_600_000), "ends_at": rfc(now + 7_200_000), "capacity": 10}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{early}");
        let (eid, ecode) = (
            early["id"].as_str().unwrap().to_string(),
            early["code"].as_str().unwrap().to_string(),
        );
        // From the phone: the page says so in Chinese.
        let (_, html) = page(&app, &cookie, &format!("/console/volunteer/activities/{eid}?code={ecode}")).await;
        let csrf = csrf_of(&html);
        let check = format!("/console/volunteer/activities/{eid}/check");
        let (st, _, _) = post(&app, &cookie, &check, &[("csrf", &csrf), ("code", &ecode), ("action", "in")]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (st, _, loc) = post(&app, &cookie, &check, &[("csrf", &csrf), ("code", &ecode), ("action", "out")]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert!(
            html.contains("未记服务时长和积分") && !html.contains("服务时长和积分已记入"),
            "[{}] {html}",
            app.engine
        );
        assert!(html.contains("已签退（未计时长）"), "{html}");
        // Through the API: a clear field and the same words.
        let resident = app.token("resident").await;
        let (st, s) = app
            .post(&format!("/api/v1/activities/{eid}/check-in"), &resident, json!({"code": ecode}))
            .await;
        assert_eq!(st, StatusCode::OK, "{s}");
        let (st, s) = app
            .post(&format!("/api/v1/activities/{eid}/check-out"), &resident, json!({"code": ecode}))
            .await;
        assert_eq!(st, StatusCode::OK, "{s}");
        assert_eq!((s["minutes"].as_i64(), s["credited"].as_bool()), (Some(0), Some(false)), "{s}");
        assert!(s["note"].as_str().is_some_and(|n| n.contains("未记服务时长")), "{s}");

        // Service that did count: marked by the organiser, 30 minutes.
        let (st, m) = app
            .post(
                &format!("/api/v1/activities/{aid}/attendance"),
                &community,
                json!({"volunteer": vid, "minutes": 30}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{m}");
        assert_eq!((m["credited"].as_bool(), m["note"].as_str()), (Some(true), None));
        // The certificate lists it, not the check-out that credited nothing.
        let (st, html) = page(&app, &staff, &format!("/console/volunteers/{vid}/certificate")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("楼道清扫") && !html.contains("义务理发早场"),
            "[{}] {html}",
            app.engine
        );

        // Ledger lines name the activity: the API, the volunteer's phone, the points page.
        let (_, l) = app.get("/api/v1/points/transactions", &token).await;
        assert_eq!(l["items"][0]["subject"], "活动「楼道清扫」", "{l}");
        assert_eq!(l["items"][0]["reason"], "志愿服务每小时");
        let (_, html) = page(&app, &cookie, "/console/volunteer").await;
        assert!(html.contains("活动「楼道清扫」 · 志愿服务每小时"), "{html}");
        let (_, html) = page(&app, &staff, "/console/points").await;
        assert!(html.contains("活动「楼道清扫」 · 志愿服务每小时"), "[{}] {html}", app.engine);

        // The district's points page: the true total of the ledger, in digits grouped by three.
        let total: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM points_transactions WHERE district = '411602'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert!(total > 30, "more than a page of demo ledger");
        let admin = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &admin, "/console/points").await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains(&format!("共 {} 笔", grouped(total))),
            "[{}] {total}: {html}",
            app.engine
        );
        assert!(html.contains("rel=\"next\""), "paged");
    }
}
