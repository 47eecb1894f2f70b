//! Councils (协商议事), on both engines: members over time, opinions answered four ways (one into
//! a case linked both ways), meetings with sign-in paying points once, minutes and resolutions
//! followed to their cases, who may do what, and the public page.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code, page, sign_in};

const COMPOUND: &str = "411602001001001";

async fn act(app: &App, token: &str, id: &str, body: Value) {
    let (st, v) = app.post(&format!("/api/v1/cases/{id}/actions"), token, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "[{}] {body}: {v}", app.engine);
}

/// Close a case the way the matrix does: accept, dispatch, start, handle, verify, close.
async fn close_case(app: &App, id: &str) {
    let (admin, department) = (app.token("admin").await, app.token("department").await);
    let (_, me) = app.get("/api/v1/me", &department).await;
    let unit = me["posts"][0]["unit_id"].as_str().unwrap().to_string();
    act(app, &admin, id, json!({"action": "accept"})).await;
    act(app, &admin, id, json!({"action": "dispatch", "unit": unit})).await;
    act(app, &department, id, json!({"action": "start"})).await;
    act(app, &department, id, json!({"action": "handle", "note": "已处置"})).await;
    act(app, &admin, id, json!({"action": "verify"})).await;
    act(app, &admin, id, json!({"action": "close"})).await;
}

async fn balance(app: &App, t: &str) -> i64 {
    let (_, v) = app.get("/api/v1/volunteers/me", t).await;
    v["points_balance"].as_i64().expect("a balance")
}

async fn first_council(app: &App, token: &str) -> Value {
    let (st, list) = app.get("/api/v1/councils?grid=411602001001&per_page=100", token).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["compound"] == COMPOUND)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn members_change_over_time_and_the_counts_follow() {
    for app in apps().await {
        let t = app.token("community").await;
        let c = first_council(&app, &t).await;
        let id = c["id"].as_str().unwrap();
        assert!(
            c["members"].as_i64().unwrap() >= 5 && c["building_heads"].as_i64().unwrap() >= 1,
            "{c}"
        );
        let (_, detail) = app.get(&format!("/api/v1/councils/{id}"), &t).await;
        let list = detail["members_list"].as_array().unwrap();
        assert!(
            list.iter().any(|m| m["post"] == "chair" && !m["ended_at"].is_null()),
            "the earlier chair is kept"
        );
        let chair = list.iter().find(|m| m["post"] == "chair" && m["ended_at"].is_null()).unwrap();
        // A new chair: the seat's holder steps down in the same transaction.
        let (_, people) = app.get("/api/v1/residents?grid=411602001001001&per_page=50", &t).await;
        let newcomer = people["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| !list.iter().any(|m| m["resident"] == r["id"]))
            .unwrap()["id"]
            .clone();
        let (st, m) = app
            .post(
                &format!("/api/v1/councils/{id}/members"),
                &t,
                json!({"resident": newcomer, "post": "chair"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{m}");
        let (_, after) = app.get(&format!("/api/v1/councils/{id}"), &t).await;
        let chairs: Vec<&Value> = after["members_list"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["post"] == "chair" && m["ended_at"].is_null())
            .collect();
        assert_eq!(chairs.len(), 1, "one chair at a time");
        assert_eq!(chairs[0]["resident"], newcomer);
        assert!(
            after["members_list"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == chair["id"] && !m["ended_at"].is_null()),
            "the earlier chair's holding ended"
        );
        // A unit head needs a building of the compound and a unit number.
        let (st, v) = app
            .post(
                &format!("/api/v1/councils/{id}/members"),
                &t,
                json!({"resident": newcomer, "post": "unit_head"}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "building_required"));
        let before = c["unit_heads"].as_i64().unwrap();
        let (st, v) = app
            .post(
                &format!("/api/v1/councils/{id}/members"),
                &t,
                json!({"resident": newcomer, "post": "unit_head", "building": "411602001001001001", "unit_no": 29}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(first_council(&app, &t).await["unit_heads"].as_i64().unwrap(), before + 1);
        let (st, _) = app
            .post(&format!("/api/v1/council-members/{}/end", v["id"].as_str().unwrap()), &t, json!({}))
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        assert_eq!(first_council(&app, &t).await["unit_heads"].as_i64().unwrap(), before);
        // Someone of another compound cannot sit on it.
        let (_, far) = app
            .get("/api/v1/residents?grid=411602001002&per_page=1", &app.token("admin").await)
            .await;
        let (st, v) = app
            .post(
                &format!("/api/v1/councils/{id}/members"),
                &t,
                json!({"resident": far["items"][0]["id"], "post": "member"}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "not_in_compound"));
    }
}

#[tokio::test]
async fn an_opinion_is_answered_and_one_turned_into_a_case_follows_it() {
    for app in apps().await {
        let resident = app.token("resident").await;
        let chair = app.token("council").await;
        // The resident raises an opinion about their own building; the chair sees it waiting.
        let (st, o) = app
            .post(
                "/api/v1/opinions",
                &resident,
                json!({"category": "设施维修", "body": "１号楼电梯经常停运，老人上下楼困难"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {o}", app.engine);
        assert_eq!(
            (o["status"].as_str(), o["grid"].as_str()),
            (Some("open"), Some("411602001001001001"))
        );
        let oid = o["id"].as_str().unwrap().to_string();
        let (st, v) = app
            .post(
                "/api/v1/opinions",
                &resident,
                json!({"grid": "411602001001001002", "category": "设施维修", "body": "别人的楼"}),
            )
            .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::NOT_FOUND, "not_found"),
            "a resident speaks for their own building"
        );
        let (st, v) = app
            .post("/api/v1/opinions", &resident, json!({"category": "乱写", "body": "内容"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_category"));
        // The resident cannot answer; the chair (a resident with a council post) can.
        let (st, _) = app
            .post(
                &format!("/api/v1/opinions/{oid}/answer"),
                &resident,
                json!({"action": "answer", "answer": "好"}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = app
            .post(
                &format!("/api/v1/opinions/{oid}/answer"),
                &chair,
                json!({"action": "case", "category": "NOPE"}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"));
        let (_, still) = app.get(&format!("/api/v1/opinions/{oid}"), &chair).await;
        assert_eq!(still["status"], "open", "a refused case leaves the opinion as it was");
        let (st, v) = app
            .post(
                &format!("/api/v1/opinions/{oid}/answer"),
                &chair,
                json!({"action": "case", "category": "SQ03"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "case");
        let case = v["case"].as_str().unwrap().to_string();
        let (_, c) = app.get(&format!("/api/v1/cases/{case}"), &app.token("admin").await).await;
        assert_eq!(
            (c["source"].as_str(), c["grid"]["code"].as_str()),
            (Some("council"), Some("411602001001001001")),
            "{c}"
        );
        assert!(c["description"].as_str().unwrap().contains("电梯"));
        // Settled: it cannot be answered again.
        let (st, v) = app
            .post(
                &format!("/api/v1/opinions/{oid}/answer"),
                &chair,
                json!({"action": "answer", "answer": "再答"}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "opinion_settled"));
        // The resident sees the answer and the case's progress.
        close_case(&app, &case).await;
        let (_, mine) = app.get("/api/v1/opinions", &resident).await;
        let it = mine["items"].as_array().unwrap().iter().find(|x| x["id"] == oid.as_str()).unwrap();
        assert_eq!(it["case_status"], "closed");
        assert!(!it["answer"].as_str().unwrap().is_empty());
        // Merge and direct answers.
        let (_, a) = app
            .post(
                "/api/v1/opinions",
                &resident,
                json!({"category": "环境卫生", "body": "楼道堆物太多"}),
            )
            .await;
        let (_, b) = app
            .post(
                "/api/v1/opinions",
                &resident,
                json!({"category": "环境卫生", "body": "楼道杂物没人清理"}),
            )
            .await;
        let (st, v) = app
            .post(
                &format!("/api/v1/opinions/{}/answer", b["id"].as_str().unwrap()),
                &chair,
                json!({"action": "merge", "into": a["id"]}),
            )
            .await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("merged")), "{v}");
        let (st, v) = app
            .post(
                &format!("/api/v1/opinions/{}/answer", a["id"].as_str().unwrap()),
                &chair,
                json!({"action": "answer", "answer": "x"}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "answer_required"));
        let (st, v) = app
            .post(
                &format!("/api/v1/opinions/{}/answer", a["id"].as_str().unwrap()),
                &chair,
                json!({"action": "answer", "answer": "物业本周清理"}),
            )
            .await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("answered")));
        // Another community's staff do not see it.
        let (st, _) = app.get(&format!("/api/v1/opinions/{oid}"), &app.token("street").await).await;
        assert_eq!(st, StatusCode::OK, "the street reads its communities");
    }
}

#[tokio::test]
async fn a_meeting_signs_in_once_pays_points_once_and_its_resolutions_follow_their_cases() {
    for app in apps().await {
        let chair = app.token("council").await;
        let resident = app.token("resident").await;
        let c = first_council(&app, &app.token("community").await).await;
        let cid = c["id"].as_str().unwrap();
        let (_, o) = app
            .post(
                "/api/v1/opinions",
                &resident,
                json!({"category": "停车交通", "body": "消防通道被占用"}),
            )
            .await;
        let start = gongzhi::time::rfc3339_ms(gongzhi::db::now_ms() + 3_600_000);
        let (st, m) = app
            .post(
                &format!("/api/v1/councils/{cid}/meetings"),
                &chair,
                json!({"kind": "five_party", "title": "五方联动会", "place": "党群服务站", "starts_at": start, "agenda": [o["id"]]}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {m}", app.engine);
        let mid = m["id"].as_str().unwrap().to_string();
        let code_digits = m["checkin_code"].as_str().unwrap().to_string();
        assert_eq!(code_digits.len(), 6);
        let (_, o2) = app.get(&format!("/api/v1/opinions/{}", o["id"].as_str().unwrap()), &chair).await;
        assert_eq!(
            (o2["status"].as_str(), o2["meeting"].as_str()),
            (Some("agenda"), Some(mid.as_str()))
        );
        // The resident (a volunteer) signs in with full-width digits; points are paid once.
        let before = balance(&app, &resident).await;
        let wide: String = code_digits.chars().map(|d| char::from_u32(d as u32 + 0xFEE0).unwrap()).collect();
        let (st, v) = app.post("/api/v1/meetings/checkin", &resident, json!({"code": wide})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let paid = v["points"].as_i64().expect("a volunteer is paid");
        assert!(paid > 0);
        assert_eq!(balance(&app, &resident).await, before + paid);
        let (st, v) = app.post("/api/v1/meetings/checkin", &resident, json!({"code": code_digits})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_signed_in"));
        assert_eq!(balance(&app, &resident).await, before + paid, "no second payment");
        let (st, v) = app.post("/api/v1/meetings/checkin", &resident, json!({"code": "000000x"})).await;
        assert!(
            st == StatusCode::UNPROCESSABLE_ENTITY && ["unknown_code", "invalid_code"].contains(&code(&v)),
            "{v}"
        );
        // Minutes with two resolutions, once.
        let bad = json!({"minutes": "会议纪要", "resolutions": [{"body": "清理楼道", "responsible": "物业公司", "due": "2026-13-01"}]});
        let (st, v) = app.post(&format!("/api/v1/meetings/{mid}/minutes"), &chair, bad).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_due"));
        let due = gongzhi::time::day_ms(gongzhi::db::now_ms() + 20 * 86_400_000);
        let body = json!({"minutes": "听取意见，协商一致。", "resolutions": [
            {"body": "物业两周内清理消防通道", "responsible": "物业公司", "due": due},
            {"body": "每季度公示公共收益", "responsible": "业主委员会", "due": due}]});
        let (st, rs) = app.post(&format!("/api/v1/meetings/{mid}/minutes"), &chair, body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{rs}");
        let (st, v) = app.post(&format!("/api/v1/meetings/{mid}/minutes"), &chair, body).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_held"));
        let r1 = rs[0]["id"].as_str().unwrap().to_string();
        let r2 = rs[1]["id"].as_str().unwrap().to_string();
        assert_eq!(rs[0]["state"], "pending");
        // One into a case; it is done when the case closes. The other is marked done by hand.
        let (st, v) = app
            .post(&format!("/api/v1/resolutions/{r1}/case"), &chair, json!({"category": "SQ01"}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let case = v["id"].as_str().unwrap().to_string();
        let (st, v) = app
            .post(&format!("/api/v1/resolutions/{r1}/case"), &chair, json!({"category": "SQ01"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "resolution_changed"), "once");
        let (_, m) = app.get(&format!("/api/v1/meetings/{mid}"), &chair).await;
        assert_eq!(m["resolutions"][0]["state"], "in_case");
        assert_eq!(m["attendance"].as_array().unwrap().len(), 1);
        close_case(&app, &case).await;
        let (st, _) = app
            .post(&format!("/api/v1/resolutions/{r2}/done"), &chair, json!({"note": "已在公示栏公示"}))
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (_, m) = app.get(&format!("/api/v1/meetings/{mid}"), &chair).await;
        assert_eq!(
            (m["resolutions"][0]["state"].as_str(), m["resolutions"][1]["state"].as_str()),
            (Some("done"), Some("done")),
            "{m}"
        );
        // Published on the compound's public page, without anyone's phone.
        let body = reqwest::get(format!("{}/g/{COMPOUND}/council", app.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("物业两周内清理消防通道") && body.contains("已办结"), "{body}");
        let text = body.replace(COMPOUND, "");
        let mobile = |w: &[char]| w[0] == '1' && w.iter().all(|c| c.is_ascii_digit());
        assert!(!text.chars().collect::<Vec<_>>().windows(11).any(mobile), "no phone number");
        // Overdue resolutions of the subtree are listed.
        let (st, v) = app
            .get("/api/v1/resolutions?grid=411602001001&overdue=true", &app.token("community").await)
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(v["items"].as_array().unwrap().iter().all(|r| r["state"] == "overdue"), "{v}");
        // The command screen counts the same.
        let (_, d) = app.get("/api/v1/dashboard?grid=411602001001", &app.token("community").await).await;
        assert_eq!(d["councils"]["resolutions_overdue"], v["total"], "{}", d["councils"]);
        let (_, flagged) = app
            .get("/api/v1/opinions?grid=411602001001&flagged=true", &app.token("community").await)
            .await;
        assert_eq!(d["councils"]["opinions_waiting"], flagged["total"]);
        let now = gongzhi::db::now_ms();
        if gongzhi::time::week_of(now).1 > now + 3_600_000 {
            assert!(
                d["councils"]["meetings_this_week"].as_i64().unwrap() >= 1,
                "the meeting just held this week"
            );
        }
    }
}

#[tokio::test]
async fn the_pages_let_each_role_do_its_part() {
    for app in apps().await {
        // A resident records an opinion from the phone page and sees it.
        let cookie = sign_in(&app, "resident").await;
        let (st, html) = page(&app, &cookie, "/console/councils").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("反映意见") && html.contains("会议签到"), "{html}");
        let csrf = crate::support::csrf_of(&html);
        let (st, _, to) = crate::support::post(
            &app,
            &cookie,
            "/console/councils/opinions",
            &[
                ("csrf", &csrf),
                ("category", "环境卫生"),
                ("body", "垃圾桶满了没人清运"),
                ("back", "/console/councils"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let to = to.unwrap();
        assert!(to.contains("msg="), "{to}");
        let (_, html) = page(&app, &cookie, &to).await;
        assert!(html.contains("垃圾桶满了没人清运") && html.contains("待答复"));
        // Bad input comes back in Chinese, nothing written.
        let (_, _, to) = crate::support::post(
            &app,
            &cookie,
            "/console/councils/opinions",
            &[("csrf", &csrf), ("category", "环境卫生"), ("body", "x")],
        )
        .await;
        let (_, html) = page(&app, &cookie, &to.unwrap()).await;
        assert!(html.contains("意见内容应为2至1000字"), "{html}");
        // The community opens a council, its members and opinions, and a meeting's printable minutes.
        let cookie = sign_in(&app, "community").await;
        let (_, html) = page(&app, &cookie, "/console/councils").await;
        let id = html
            .split("/console/councils/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let (st, html) = page(&app, &cookie, &format!("/console/councils/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("主任") && html.contains("楼栋长") && html.contains("居民意见") && html.contains("决议落实"),
            "{html}"
        );
        let meeting = html
            .split("/console/meetings/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let (st, html) = page(&app, &cookie, &format!("/console/meetings/{meeting}/print")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("会议纪要"));
        // The building officer's post is below the compound: the council is not theirs, but they
        // record for their building and see what waits there.
        let cookie = sign_in(&app, "building").await;
        let (st, html) = page(&app, &cookie, "/console/councils").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("name=\"grid\"") && html.contains("本楼栋待答复意见"), "{html}");
        let csrf = crate::support::csrf_of(&html);
        let form = [
            ("csrf", csrf.as_str()),
            ("grid", "411602001001001001"),
            ("category", "安全隐患"),
            ("author", "李阿姨"),
            ("body", "单元门禁坏了一个月"),
        ];
        let (_, _, to) = crate::support::post(&app, &cookie, "/console/councils/opinions", &form).await;
        assert!(to.unwrap().contains("msg="));
        let (_, html) = page(&app, &cookie, "/console/councils").await;
        assert!(html.contains("单元门禁坏了一个月") && html.contains("李阿姨"));
        let (st, _) = page(&app, &cookie, &format!("/console/councils/{id}")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}
