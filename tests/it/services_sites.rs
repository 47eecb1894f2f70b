//! Service sites and room booking (服务阵地), on both engines: of 100 concurrent requests for
//! overlapping slots of one room exactly one is accepted and the rest get 409 `room_taken` naming
//! the clash; adjacent slots are both accepted; bad, past and foreign slots are refused; a resident
//! books and cancels their own from the site page; the reception log; the public grid page.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};

const COMMUNITY: &str = "411602001001";
const OUTSIDE_COMMUNITY: &str = "411602001002";
const BUILDING: &str = "411602001001001001";
const H: i64 = 3_600_000;

fn at(ms: i64) -> String {
    gongzhi::time::rfc3339_ms(ms)
}

/// Monday 00:00 China time, `weeks` weeks from now: the demo books only 8:00–21:00.
fn monday(weeks: i64) -> i64 {
    gongzhi::time::week_of(gongzhi::db::now_ms()).0 + weeks * 7 * 24 * H
}

/// The community's 党群服务中心 and its rooms.
async fn centre(app: &App, token: &str, grid: &str) -> Value {
    let (st, v) = app.get(&format!("/api/v1/sites?grid={grid}&per_page=100"), token).await;
    assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["grid"] == grid && s["kind"] == "party_center")
        .cloned()
        .unwrap_or_else(|| panic!("[{}] a centre at {grid}: {v}", app.engine))
}

async fn book(app: &App, token: &str, site: &str, room: &str, start: i64, end: i64) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/sites/{site}/bookings"),
        token,
        json!({"room": room, "start": at(start), "end": at(end), "purpose": "楼栋议事会"}),
    )
    .await
}

#[tokio::test]
async fn a_hundred_concurrent_requests_for_one_room_accept_exactly_one() {
    for app in apps().await {
        let e = app.engine;
        let token = app.token("community").await;
        let site = centre(&app, &token, COMMUNITY).await;
        for k in ["id", "name", "kind", "grid", "rooms"] {
            assert!(site.get(k).is_some(), "[{e}] {k}: {site}");
        }
        let (sid, room) = (
            site["id"].as_str().unwrap().to_string(),
            site["rooms"][0]["id"].as_str().unwrap().to_string(),
        );
        let base = monday(10) + 2 * H;
        let slots_before = app.count("room_slots").await;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..100i64 {
            // Every request covers base+1h..base+2h: all overlap one another.
            let start = base + (i % 3) * H / 2;
            let (client, url, token, room) = (
                app.client.clone(),
                format!("{}/api/v1/sites/{sid}/bookings", app.base),
                token.clone(),
                room.clone(),
            );
            set.spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"room": room, "start": at(start), "end": at(start + 2 * H), "purpose": "并发预约"}))
                    .send()
                    .await
                    .unwrap();
                let st = r.status();
                (st, r.json::<Value>().await.unwrap())
            });
        }
        let (mut ok, mut taken) = (Vec::new(), 0);
        while let Some(r) = set.join_next().await {
            let (st, v) = r.unwrap();
            match st {
                StatusCode::CREATED => ok.push(v),
                StatusCode::CONFLICT => {
                    assert_eq!(code(&v), "room_taken", "[{e}] {v}");
                    taken += 1;
                }
                other => panic!("[{e}] unexpected {other}: {v}"),
            }
        }
        assert_eq!(ok.len(), 1, "[{e}] exactly one accepted");
        assert_eq!(taken, 99, "[{e}]");
        assert_eq!(
            app.count("room_slots").await - slots_before,
            4,
            "[{e}] the winner's four half hours, nothing else"
        );
        // The refusal names the winner's slot.
        let won_start = ok[0]["start"].as_str().unwrap().to_string();
        let (st, v) = book(&app, &token, &sid, &room, base + H, base + 2 * H).await;
        assert_eq!(st, StatusCode::CONFLICT, "[{e}] {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(&won_start), "[{e}] the clash {won_start} in {msg}");
    }
}

#[tokio::test]
async fn adjacent_slots_are_both_accepted_and_bad_ones_refused() {
    for app in apps().await {
        let e = app.engine;
        let token = app.token("community").await;
        let site = centre(&app, &token, COMMUNITY).await;
        let (sid, room) = (site["id"].as_str().unwrap(), site["rooms"][1]["id"].as_str().unwrap());
        let base = monday(11) + 24 * H + 2 * H;
        let (st, v) = book(&app, &token, sid, room, base, base + H).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let (st, v) = book(&app, &token, sid, room, base + H, base + 2 * H).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] end = next start: {v}");
        let (st, v) = book(&app, &token, sid, room, base + H / 2, base + H + H / 2).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "room_taken"), "[{e}] {v}");
        // Another room of the site at the same time is free.
        let other = site["rooms"][0]["id"].as_str().unwrap();
        let (st, v) = book(&app, &token, sid, other, base + H / 2, base + H).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        for (start, end, want) in [
            (base + 3 * H + 60_000, base + 4 * H, "invalid_slot"),
            (base + 4 * H, base + 4 * H, "invalid_slot"),
            (base + 4 * H, base + 17 * H, "invalid_slot"),
            (monday(0) - 7 * 24 * H, monday(0) - 7 * 24 * H + H, "past_slot"),
        ] {
            let (st, v) = book(&app, &token, sid, room, start, end).await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{e}] {v}");
        }
        // A room of another site, a site outside, a role that books nowhere.
        let admin = app.token("admin").await;
        let outside = centre(&app, &admin, OUTSIDE_COMMUNITY).await;
        let foreign_room = outside["rooms"][0]["id"].as_str().unwrap();
        let (st, v) = book(&app, &token, sid, foreign_room, base + 5 * H, base + 6 * H).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_room"), "[{e}] {v}");
        let (st, v) = book(
            &app,
            &token,
            outside["id"].as_str().unwrap(),
            foreign_room,
            base + 5 * H,
            base + 6 * H,
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] {v}");
        let dept = app.token("department").await;
        let (st, v) = book(&app, &dept, sid, room, base + 5 * H, base + 6 * H).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] {v}");
        let (st, v) = app
            .call(Method::GET, &format!("/api/v1/sites?grid={OUTSIDE_COMMUNITY}"), Some(&token), None)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] {v}");
    }
}

#[tokio::test]
async fn a_resident_books_and_cancels_their_own_and_staff_keep_the_reception_log() {
    for app in apps().await {
        let e = app.engine;
        let token = app.token("community").await;
        let site = centre(&app, &token, COMMUNITY).await;
        let sid = site["id"].as_str().unwrap().to_string();
        let room = site["rooms"][2]["id"].as_str().unwrap().to_string();
        let cookie = sign_in(&app, "resident").await;
        let (st, html) = page(&app, &cookie, "/console/services/sites").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains(&sid), "[{e}] the resident's community centre is listed");
        let path = format!("/console/services/sites/{sid}");
        let (st, html) = page(&app, &cookie, &path).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {html}");
        assert!(!html.contains("id=\"receptions\""), "[{e}] residents do not see the reception log");
        let csrf = csrf_of(&html);
        let day = gongzhi::time::day_ms(monday(12) + 2 * 24 * H);
        let form = [
            ("csrf", csrf.as_str()),
            ("room", room.as_str()),
            ("date", day.as_str()),
            ("start", "07:00"),
            ("end", "07:30"),
            ("purpose", "居民读书会"),
        ];
        let (st, _, loc) = post(&app, &cookie, &format!("{path}/bookings"), &form).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        assert!(loc.as_deref().unwrap_or("").contains("msg="), "[{e}] {loc:?}");
        // The same slot again: back with the clash.
        let (_, _, loc) = post(&app, &cookie, &format!("{path}/bookings"), &form).await;
        assert!(loc.as_deref().unwrap_or("").contains("err="), "[{e}] {loc:?}");
        let (_, html) = page(&app, &cookie, &path).await;
        assert!(html.contains("居民读书会") && html.contains("取消预约"), "[{e}] my bookings");
        let booking: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT id FROM room_bookings WHERE purpose = '居民读书会'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        // Someone else's booking: not found, and still held.
        let other = sign_in(&app, "member").await;
        let (_, other_html) = page(&app, &other, &path).await;
        let (st, _, _) = post(
            &app,
            &other,
            &format!("/console/services/bookings/{booking}/cancel"),
            &[("csrf", &csrf_of(&other_html))],
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        let start = monday(12) + 2 * 24 * H + 7 * H;
        let (st, _) = book(&app, &token, &sid, &room, start, start + H / 2).await;
        assert_eq!(st, StatusCode::CONFLICT, "[{e}] still held");
        let (st, _, loc) = post(
            &app,
            &cookie,
            &format!("/console/services/bookings/{booking}/cancel"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        assert!(loc.as_deref().unwrap_or("").contains("msg="), "[{e}] {loc:?}");
        let (st, v) = book(&app, &token, &sid, &room, start, start + H / 2).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] the slot is free again: {v}");

        // Reception log: staff record a referred visit, see it masked, close it.
        let staff = sign_in(&app, "community").await;
        let (_, html) = page(&app, &staff, &path).await;
        let scsrf = csrf_of(&html);
        let form = [
            ("csrf", scsrf.as_str()),
            ("visitor", "欧阳测试"),
            ("matter", "咨询公租房申请"),
            ("outcome", "referred"),
            ("referred_to", "街道住建办"),
        ];
        let (_, _, loc) = post(&app, &staff, &format!("{path}/receptions"), &form).await;
        assert!(loc.as_deref().unwrap_or("").contains("msg="), "[{e}] {loc:?}");
        let (_, html) = page(&app, &staff, &path).await;
        assert!(html.contains("咨询公租房申请") && html.contains("欧***"), "[{e}] masked visitor");
        assert!(!html.contains("欧阳测试"), "[{e}] the name is not shown in full");
        let (_, _, loc) = post(
            &app,
            &staff,
            &format!("{path}/receptions"),
            &[("csrf", &scsrf), ("visitor", "x"), ("matter", "y"), ("outcome", "referred")],
        )
        .await;
        assert!(
            loc.as_deref().unwrap_or("").contains("err="),
            "[{e}] a referral names where: {loc:?}"
        );
        let rid: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT id FROM site_receptions WHERE matter = '咨询公租房申请'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        let (st, _, _) = post(
            &app,
            &cookie,
            &format!("/console/services/receptions/{rid}/close"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] a resident cannot close it");
        let (_, _, loc) = post(
            &app,
            &staff,
            &format!("/console/services/receptions/{rid}/close"),
            &[("csrf", &scsrf)],
        )
        .await;
        assert!(loc.as_deref().unwrap_or("").contains("msg="), "[{e}] {loc:?}");
        let closed: Option<i64> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT closed_at FROM site_receptions WHERE id = $1"
        )
        .bind(rid)
        .fetch_one(p)
        .await)
        .unwrap();
        assert!(closed.is_some(), "[{e}]");
    }
}

#[tokio::test]
async fn the_public_grid_page_lists_the_sites_serving_it_and_sites_are_read_in_scope() {
    for app in apps().await {
        let e = app.engine;
        let r = app.client.get(format!("{}/g/{BUILDING}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "[{e}]");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("id=\"public-sites\"") && html.contains("党群服务中心") && html.contains("开放时间"),
            "[{e}]"
        );
        // A building's officer sees the sites above and at their building; a unit post the district's.
        let building = app.token("building").await;
        let (st, v) = app.get(&format!("/api/v1/sites?grid={BUILDING}&per_page=100"), &building).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        let grids: HashSet<&str> = v["items"].as_array().unwrap().iter().map(|s| s["grid"].as_str().unwrap()).collect();
        assert!(
            grids.contains(COMMUNITY) && grids.iter().all(|g| BUILDING.starts_with(g)),
            "[{e}] {grids:?}"
        );
        let (st, v) = app.get("/api/v1/sites?per_page=1", &app.token("admin").await).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(
            v["total"].as_i64().unwrap() > 10 && v["items"].as_array().unwrap().len() == 1,
            "[{e}] {v}"
        );
    }
}
