//! Small matters solved where they arise (小事不出格、小事不出小区): a building or compound accepts and
//! handles its own reports, the level above checks them; a compound's property company is a
//! dispatch target for the categories it serves; inbox counts are true totals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};

const BUILDING: &str = "411602001001001001";
const COMPOUND: &str = "411602001001001";

async fn act(app: &App, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/cases/{id}/actions"), token, body).await
}

async fn report(app: &App, token: &str, category: &str, text: &str) -> String {
    let (st, c) = app
        .post(
            "/api/v1/cases",
            token,
            json!({"category": category, "description": text, "grid": BUILDING}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn unit_of(app: &App, token: &str) -> String {
    let (_, me) = app.get("/api/v1/me", token).await;
    me["posts"][0]["unit_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_building_handles_its_own_small_matter_and_the_compound_checks_and_closes() {
    for app in apps().await {
        let building = app.token("building").await;
        let compound = app.token("compound").await;
        let resident = app.token("resident").await;
        // 楼道堆物 closes at compound level (4).
        let id = report(&app, &resident, "SQ07", "2单元楼道堆放纸箱，堵住通道").await;

        // The new report is in the building officer's inbox, the lowest level that may act.
        let cookie = sign_in(&app, "building").await;
        let (st, html) = page(&app, &cookie, "/console/inbox").await;
        assert_eq!(st, StatusCode::OK);
        let (_, c) = app.get(&format!("/api/v1/cases/{id}"), &building).await;
        let tracking = c["tracking_code"].as_str().unwrap();
        let waiting = html.split("待立案（").nth(1).unwrap_or_default();
        assert!(
            waiting.contains(tracking),
            "[{}] the report waits in the building's 待立案",
            app.engine
        );

        for (body, want) in [
            (json!({"action": "accept"}), "accepted"),
            (json!({"action": "start"}), "handling"),
            (json!({"action": "handle", "note": "已联系住户清走纸箱"}), "handled"),
        ] {
            let (st, v) = act(&app, &building, &id, body.clone()).await;
            assert_eq!(
                (st, v["status"].as_str()),
                (StatusCode::OK, Some(want)),
                "[{}] {body}: {v}",
                app.engine
            );
            assert!(v["unit"].is_null(), "handled by the grid itself, no unit invented");
        }
        // No one checks their own work.
        let (st, _) = act(&app, &building, &id, json!({"action": "verify"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // The compound returns it once, the building handles it again, the compound closes it.
        let (st, v) = act(&app, &compound, &id, json!({"action": "return", "note": "楼梯口仍有杂物"})).await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("accepted")), "{v}");
        for body in [json!({"action": "start"}), json!({"action": "handle", "note": "已全部清理"})] {
            let (st, v) = act(&app, &building, &id, body).await;
            assert_eq!(st, StatusCode::OK, "{v}");
        }
        let (st, v) = act(&app, &compound, &id, json!({"action": "verify"})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, v) = act(&app, &compound, &id, json!({"action": "close"})).await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("closed")), "{v}");
        assert_eq!(v["rework"], 1);
        let notes: Vec<(&str, &str)> = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), e["note"].as_str().unwrap_or("")))
            .collect();
        assert!(notes.iter().any(|(a, n)| *a == "start" && n.contains("自行处置")), "{notes:?}");

        // A category the community closes (飞线充电, level 3): the compound checks but may not close.
        let id = report(&app, &resident, "SQ03", "楼下有人从窗口拉线给电动车充电").await;
        for body in [
            json!({"action": "accept"}),
            json!({"action": "start"}),
            json!({"action": "handle", "note": "已劝离并拆除飞线"}),
        ] {
            assert_eq!(act(&app, &building, &id, body).await.0, StatusCode::OK);
        }
        assert_eq!(act(&app, &compound, &id, json!({"action": "verify"})).await.0, StatusCode::OK);
        assert_eq!(act(&app, &compound, &id, json!({"action": "close"})).await.0, StatusCode::FORBIDDEN);
        let community = app.token("community").await;
        assert_eq!(act(&app, &community, &id, json!({"action": "close"})).await.0, StatusCode::OK);

        // A resident reports but takes no grid action, even in their own building.
        let id = report(&app, &resident, "SQ07", "单元门口堆放旧家具").await;
        assert_eq!(
            act(&app, &resident, &id, json!({"action": "accept"})).await.0,
            StatusCode::FORBIDDEN
        );
        // The resident's own reports, wherever they are (我的反映).
        let (st, mine) = app.get("/api/v1/cases?mine=true&per_page=100", &resident).await;
        assert_eq!(st, StatusCode::OK, "{mine}");
        let ids: Vec<&str> = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&id.as_str()) && mine["total"].as_i64().unwrap() >= 3, "{mine}");
        let (st, _) = app.get("/api/v1/cases", &resident).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "the whole board is not a resident's");
        // So the case page's crumb leads a resident back to 我的反映, not to the board (a 403).
        let cookie = sign_in(&app, "resident").await;
        let (st, html) = page(&app, &cookie, &format!("/console/cases/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains(r#"<div class="crumbs"><a href="/console/cases?mine=1">我的反映</a>"#),
            "the resident's crumb"
        );
        assert_eq!(page(&app, &cookie, "/console/cases?mine=1").await.0, StatusCode::OK);
        assert_eq!(page(&app, &cookie, "/console/cases").await.0, StatusCode::FORBIDDEN);
        let officer = sign_in(&app, "building").await;
        let (_, html) = page(&app, &officer, &format!("/console/cases/{id}")).await;
        assert!(
            html.contains(r#"<div class="crumbs"><a href="/console/cases">案件</a>"#),
            "the officer's crumb"
        );
    }
}

#[tokio::test]
async fn the_compound_names_its_property_company_which_takes_its_cases() {
    for app in apps().await {
        let community = app.token("community").await;
        let compound = app.token("compound").await;
        let property = app.token("property").await;
        let resident = app.token("resident").await;
        let company = unit_of(&app, &property).await;

        // Naming the company: only at a compound, only a property company of the district.
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/grids/{BUILDING}"),
                Some(&community),
                Some(json!({"property_company": company})),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "not_a_compound"));
        let dept = {
            let (_, v) = app.get("/api/v1/units?kind=department&q=城市管理局", &community).await;
            v["items"][0]["id"].as_str().unwrap().to_string()
        };
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/grids/{COMPOUND}"),
                Some(&community),
                Some(json!({"property_company": dept})),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_property_company"));
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/grids/{COMPOUND}"),
                Some(&community),
                Some(json!({"property_company": company})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["property_company"]["id"], company.as_str());
        assert!(v["property_company"]["name"].as_str().unwrap().contains("物业"));
        let (_, g) = app.get(&format!("/api/v1/grids/{COMPOUND}"), &compound).await;
        assert_eq!(g["property_company"]["id"], company.as_str());

        // The compound sends a case in a category the company serves to the company, not elsewhere.
        let (_, cats) = app.get("/api/v1/case-categories", &compound).await;
        let serves = |code: &str| {
            cats["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["code"] == code && c["property_serves"] == true)
        };
        assert!(serves("SQ07") && !serves("SQ05"));
        let id = report(&app, &resident, "SQ07", "楼道里堆了一辆废旧自行车").await;
        assert_eq!(act(&app, &compound, &id, json!({"action": "accept"})).await.0, StatusCode::OK);
        let (st, _) = act(&app, &compound, &id, json!({"action": "dispatch", "unit": dept})).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "a compound sends only to its own company");
        let (st, v) = act(&app, &compound, &id, json!({"action": "dispatch", "unit": company})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let dispatch = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "dispatch")
            .unwrap();
        assert!(dispatch["note"].as_str().unwrap().starts_with("派至"), "{dispatch}");

        // The company's staff see it in their inbox and handle it; the compound checks it.
        let cookie = sign_in(&app, "property").await;
        let (st, html) = page(&app, &cookie, "/console/inbox").await;
        assert_eq!(st, StatusCode::OK);
        let tracking = v["tracking_code"].as_str().unwrap();
        assert!(html.split("派给本单位的案件（").nth(1).unwrap_or_default().contains(tracking));
        for body in [json!({"action": "start"}), json!({"action": "handle", "note": "已清走"})] {
            assert_eq!(act(&app, &property, &id, body).await.0, StatusCode::OK);
        }
        assert_eq!(act(&app, &compound, &id, json!({"action": "verify"})).await.0, StatusCode::OK);

        // In a category the company does not serve, the compound cannot send it there either.
        let id = report(&app, &resident, "SQ05", "顶楼加盖彩钢房").await;
        assert_eq!(act(&app, &community, &id, json!({"action": "accept"})).await.0, StatusCode::OK);
        let (st, _) = act(&app, &compound, &id, json!({"action": "dispatch", "unit": company})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // The case page offers the company first, preselected, and 改派 once dispatched.
        let cookie = sign_in(&app, "community").await;
        let id = report(&app, &resident, "SQ07", "消防通道堆放杂物").await;
        assert_eq!(act(&app, &community, &id, json!({"action": "accept"})).await.0, StatusCode::OK);
        let (_, html) = page(&app, &cookie, &format!("/console/cases/{id}")).await;
        let first = html.split("<optgroup").nth(1).unwrap_or_default();
        assert!(
            first.contains("本小区物业公司") && first.contains(&format!("value=\"{company}\" selected")),
            "{first}"
        );
        assert_eq!(
            act(&app, &community, &id, json!({"action": "dispatch", "unit": company})).await.0,
            StatusCode::OK
        );
        let (_, html) = page(&app, &cookie, &format!("/console/cases/{id}")).await;
        assert!(html.contains("改派"));

        // Clearing the link: the company is no longer offered to the compound.
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/grids/{COMPOUND}"),
                Some(&community),
                Some(json!({"property_company": null})),
            )
            .await;
        assert_eq!((st, v["property_company"].is_null()), (StatusCode::OK, true), "{v}");
        let id = report(&app, &resident, "SQ07", "楼道堆放装修垃圾").await;
        assert_eq!(act(&app, &compound, &id, json!({"action": "accept"})).await.0, StatusCode::OK);
        assert_eq!(
            act(&app, &compound, &id, json!({"action": "dispatch", "unit": company})).await.0,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn inbox_sections_count_every_case_and_link_to_all_of_them() {
    for app in apps().await {
        let resident = app.token("resident").await;
        for i in 0..12 {
            report(&app, &resident, "SQ07", &format!("楼道堆物第{i}处")).await;
        }
        let cookie = sign_in(&app, "building").await;
        let (_, html) = page(&app, &cookie, "/console/inbox").await;
        let (_, list) = app
            .get(
                &format!("/api/v1/cases?grid={BUILDING}&status=reported&per_page=1"),
                &app.token("community").await,
            )
            .await;
        let total = list["total"].as_i64().unwrap();
        assert!(total >= 12);
        assert!(
            html.contains(&format!("待立案（{total}）")),
            "[{}] the true total, not the rows shown",
            app.engine
        );
        assert!(html.contains(&format!("查看全部（{total}）")));
        let link = format!("/console/cases?grid={BUILDING}&status=reported");
        assert!(
            html.replace("&#38;", "&").contains(&link),
            "links to the board filtered the same way"
        );
        let (st, board) = page(&app, &cookie, &link).await;
        assert_eq!(st, StatusCode::OK);
        assert!(board.contains(&format!("案件（{total}）")));
        // The resident's own list, on the console.
        let cookie = sign_in(&app, "resident").await;
        let (st, mine) = page(&app, &cookie, "/console/cases?mine=1").await;
        assert_eq!(st, StatusCode::OK);
        assert!(mine.contains("我上报的（") && mine.contains("楼道堆物第11处"));
    }
}

#[tokio::test]
async fn the_community_sets_a_compounds_property_company_on_its_page() {
    for app in apps().await {
        let property = app.token("property").await;
        let company = unit_of(&app, &property).await;
        let cookie = sign_in(&app, "community").await;
        let path = format!("/console/grids/{COMPOUND}");
        let (st, html) = page(&app, &cookie, &path).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("name=\"property_company\"") && html.contains(&format!("value=\"{company}\"")));
        let csrf = csrf_of(&html);
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("{path}/edit"),
            &[
                ("csrf", &csrf),
                ("leader_name", "李秀英"),
                ("leader_phone", "13800000001"),
                ("boundary", ""),
                ("property_company", "不是编号"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("请从列表中选择物业公司"));
        let (st, _, to) = post(
            &app,
            &cookie,
            &format!("{path}/edit"),
            &[
                ("csrf", &csrf),
                ("leader_name", "李秀英"),
                ("leader_phone", "13800000001"),
                ("boundary", ""),
                ("property_company", &company),
            ],
        )
        .await;
        assert_eq!(
            (st, to.as_deref()),
            (StatusCode::SEE_OTHER, Some(format!("{path}?saved=1").as_str()))
        );
        let (_, html) = page(&app, &cookie, &format!("{path}?saved=1")).await;
        assert!(html.contains("已保存"));
        let (_, g) = app.get(&format!("/api/v1/grids/{COMPOUND}"), &app.token("community").await).await;
        let name = g["property_company"]["name"].as_str().unwrap().to_string();
        let (_, html) = page(&app, &cookie, &path).await;
        assert!(html.contains(&format!("物业公司：{name}")), "the page names the company");
        // Choosing none clears it: the compound is shown as unmanaged.
        let (st, _, _) = post(
            &app,
            &cookie,
            &format!("{path}/edit"),
            &[
                ("csrf", &csrf),
                ("leader_name", "李秀英"),
                ("leader_phone", "13800000001"),
                ("boundary", ""),
                ("property_company", ""),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &cookie, &path).await;
        assert!(html.contains("无物业（三无小区）</span>"));
        // A building's page has no such choice.
        let (_, html) = page(&app, &cookie, &format!("/console/grids/{BUILDING}")).await;
        assert!(!html.contains("name=\"property_company\""));
    }
}

#[tokio::test]
async fn the_demo_timelines_name_the_unit_a_case_went_to() {
    for app in apps().await {
        let notes: Vec<(String, String)> = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
            "SELECT e.note, u.name FROM case_events e JOIN cases c ON c.id = e.case_id JOIN units u ON u.id = c.unit_id \
             WHERE e.action = 'dispatch' ORDER BY e.at_ms LIMIT 200"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert!(!notes.is_empty());
        for (note, unit) in &notes {
            assert_eq!(note, &format!("派至{unit}"), "[{}]", app.engine);
        }
    }
}
