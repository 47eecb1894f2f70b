//! Console pages over HTTP: sign-in, drill-down, search, audited reveal, forms with CSRF and Chinese errors.

use reqwest::StatusCode;

use crate::support::{apps, csrf_of, id_number, outside_references, page, post, sign_in};

#[tokio::test]
async fn console_requires_sign_in_and_speaks_chinese() {
    for app in apps().await {
        let r = app.client.get(format!("{}/console/residents", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/login?next=/console/residents");
        let r = app
            .client
            .post(format!("{}/login", app.base))
            .form(&[("username", "admin"), ("password", "nope-nope")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.unwrap().contains("用户名或密码不正确"));
        let cookie = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &cookie, "/console/grids/411602").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("lang=\"zh-CN\"") && html.contains("下级网格") && html.contains("<svg class=\"map area-map\""));
        assert_eq!(outside_references(&html), Vec::<String>::new(), "nothing from outside");
        // Drill down: the district page links the street, the street its communities, …
        let mut code = "411602".to_string();
        for _ in 0..4 {
            let (_, html) = page(&app, &cookie, &format!("/console/grids/{code}")).await;
            let marker = format!("href=\"/console/grids/{code}");
            let at = html
                .match_indices(&marker)
                .map(|(i, _)| i)
                .find(|i| html.as_bytes()[i + marker.len()].is_ascii_digit())
                .expect("a child link");
            let start = at + "href=\"/console/grids/".len();
            let end = start + html[start..].find('"').unwrap();
            code = html[start..end].to_string();
        }
        assert_eq!(code.len(), 18);
        let (st, html) = page(&app, &cookie, &format!("/console/grids/{code}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("住户") && html.contains("单元"));
        // Assets are served by the binary.
        let r = app.client.get(format!("{}/static/app.css", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
        let css = r.text().await.unwrap();
        assert_eq!(outside_references(&css), Vec::<String>::new(), "app.css loads nothing from outside");
        // Every page a role lands on, public ones included, keeps to this server.
        let building = code.clone();
        for (who, path) in [
            ("admin", "/console/cases".to_string()),
            ("admin", "/console/cases/new".to_string()),
            ("admin", "/console/volunteers".to_string()),
            ("admin", "/console/points".to_string()),
            ("admin", "/console/assessment".to_string()),
            ("admin", "/console/audit".to_string()),
            ("admin", "/console/api-keys".to_string()),
            ("admin", "/console/residents".to_string()),
            ("admin", "/console/units".to_string()),
            ("community", "/console/activities".to_string()),
            ("building", "/console/inbox".to_string()),
            ("building", format!("/console/grids/{building}")),
            ("resident", "/console/volunteer".to_string()),
            ("keeper", "/console/shop".to_string()),
        ] {
            let cookie = sign_in(&app, who).await;
            let (st, html) = page(&app, &cookie, &path).await;
            assert_eq!(st, StatusCode::OK, "{who} {path}");
            assert_eq!(
                outside_references(&html),
                Vec::<String>::new(),
                "{who} {path}: nothing from outside"
            );
        }
        for path in ["/login".to_string(), format!("/g/{building}"), "/track".to_string()] {
            let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let html = r.text().await.unwrap();
            assert_eq!(outside_references(&html), Vec::<String>::new(), "{path}: nothing from outside");
        }
        let (st, html) = page(&app, &cookie, "/console/grids/411602999").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert!(html.contains("不存在"));
    }
}

#[tokio::test]
async fn search_reveal_and_register_from_the_console() {
    for app in apps().await {
        let cookie = sign_in(&app, "community").await;
        let (st, html) = page(&app, &cookie, "/console/residents?q=12").await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("请输入姓名"));
        let (st, html) = page(&app, &cookie, "/console/residents?tag=党员").await;
        assert_eq!(st, StatusCode::OK);
        let at = html.find("href=\"/console/residents/").unwrap() + "href=\"/console/residents/".len();
        let rid = html[at..at + 36].to_string();
        let (_, detail) = page(&app, &cookie, &format!("/console/residents/{rid}")).await;
        assert!(detail.contains("************"), "masked by default");
        assert!(detail.contains("出生年份"), "the year only until revealed");
        let csrf = csrf_of(&detail);
        // Without the CSRF token: refused, not audited.
        let audits = app.count("audit_log").await;
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("/console/residents/{rid}/reveal"),
            &[("csrf", "forged"), ("reason", "核对")],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(html.contains("刷新页面"));
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("/console/residents/{rid}/reveal"),
            &[("csrf", &csrf), ("reason", "")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("事由"));
        assert_eq!(app.count("audit_log").await, audits);
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("/console/residents/{rid}/reveal"),
            &[("csrf", &csrf), ("reason", "走访核实")],
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            !html[html.find("id=\"id-number\"").unwrap()..]
                .split("</dd>")
                .next()
                .unwrap()
                .contains('*')
        );
        assert_eq!(app.count("audit_log").await, audits + 1);

        // Register a resident in a household: a bad ID number re-shows the form with a Chinese error.
        let (_, hh_page) = page(&app, &cookie, "/console/grids/411602001001001001").await;
        let at = hh_page.find("href=\"/console/households/").unwrap() + "href=\"/console/households/".len();
        let hid = hh_page[at..at + 36].to_string();
        let residents = app.count("residents").await;
        let good = id_number("411602", "19900101", 124);
        let bad = format!("{}{}", &good[..17], if good.ends_with('1') { '2' } else { '1' });
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("/console/households/{hid}/residents"),
            &[
                ("csrf", &csrf),
                ("name", "陈静"),
                ("id_number", &bad),
                ("phone", "13912345678"),
                ("relation", "子女"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("身份证号码") && html.contains("陈静"), "error shown, input kept");
        assert_eq!(app.count("residents").await, residents);
        let (st, _, loc) = post(
            &app,
            &cookie,
            &format!("/console/households/{hid}/residents"),
            &[
                ("csrf", &csrf),
                ("name", "陈静"),
                ("id_number", &good),
                ("phone", "13912345678"),
                ("relation", "子女"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{}]", app.engine);
        let loc = loc.unwrap();
        assert_eq!(loc, format!("/console/households/{hid}?created=1"));
        assert_eq!(app.count("residents").await, residents + 1);
        let (_, html) = page(&app, &cookie, &loc).await;
        assert!(html.contains("陈静") && html.contains("已登记"));

        // Out of scope pages are not found; sign-out ends the session.
        let (st, _) = page(&app, &cookie, "/console/grids/411602001002").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _, _) = post(&app, &cookie, "/logout", &[("csrf", &csrf)]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let r = app
            .client
            .get(format!("{}/console", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn grid_edit_form_refuses_broken_polygons_in_chinese() {
    for app in apps().await {
        let cookie = sign_in(&app, "street").await;
        let code = "411602001001";
        let (st, html) = page(&app, &cookie, &format!("/console/grids/{code}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("修改网格长或边界"));
        let csrf = csrf_of(&html);
        let audits = app.count("audit_log").await;
        let bowtie = r#"{"type":"Polygon","coordinates":[[[114.6,33.6],[114.61,33.61],[114.61,33.6],[114.6,33.61],[114.6,33.6]]]}"#;
        for (boundary, words) in [
            (bowtie, "自相交"),
            ("{oops", "不是合法的 GeoJSON"),
            (
                r#"{"type":"Polygon","coordinates":[[[1,1],[2,1],[2,2],[1,2],[1,1]]]}"#,
                "超出上级网格",
            ),
        ] {
            let (st, html, _) = post(
                &app,
                &cookie,
                &format!("/console/grids/{code}/edit"),
                &[
                    ("csrf", &csrf),
                    ("leader_name", "孙丽"),
                    ("leader_phone", "13700001111"),
                    ("boundary", boundary),
                ],
            )
            .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {words}", app.engine);
            assert!(html.contains(words), "[{}] {words}", app.engine);
            assert!(html.contains("孙丽"), "input kept");
        }
        let (st, html, _) = post(
            &app,
            &cookie,
            &format!("/console/grids/{code}/edit"),
            &[("csrf", &csrf), ("leader_name", "孙丽"), ("leader_phone", "110"), ("boundary", "")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("联系电话格式不正确"));
        assert_eq!(app.count("audit_log").await, audits, "nothing written");
        let (st, _, loc) = post(
            &app,
            &cookie,
            &format!("/console/grids/{code}/edit"),
            &[
                ("csrf", &csrf),
                ("leader_name", "孙丽"),
                ("leader_phone", "13700001111"),
                ("boundary", ""),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &cookie, &loc.unwrap()).await;
        assert!(html.contains("孙丽") && html.contains("13700001111"));
        // A building officer sees the grid but not the form, and cannot post it.
        let officer = sign_in(&app, "building").await;
        let (_, html) = page(&app, &officer, "/console/grids/411602001001001001").await;
        assert!(!html.contains("修改网格长或边界"));
        let (st, _, _) = post(
            &app,
            &officer,
            "/console/grids/411602001001001001/edit",
            &[
                ("csrf", &csrf_of(&html)),
                ("leader_name", "x"),
                ("leader_phone", "13700001111"),
                ("boundary", ""),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // Places and devices lists.
        for path in ["/console/places?grid=411602001", "/console/devices?grid=411602001001"] {
            let (st, html) = page(&app, &cookie, path).await;
            assert_eq!(st, StatusCode::OK);
            assert!(html.contains("<td data-label=\"类型\">"), "{path}");
        }
    }
}

#[tokio::test]
async fn cases_from_the_phone_the_board_and_the_public_page() {
    for app in apps().await {
        let officer = sign_in(&app, "building").await;
        let (st, html) = page(&app, &officer, "/console/cases/new").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("使用手机定位") && html.contains("飞线充电"));
        let csrf = csrf_of(&html);
        let key_at = html.find("name=\"key\" value=\"").unwrap() + "name=\"key\" value=\"".len();
        let key = html[key_at..key_at + 36].to_string();
        let before = app.count("cases").await;
        let form = [
            ("csrf", csrf.as_str()),
            ("key", key.as_str()),
            ("category", "SQ07"),
            ("description", "2单元楼道堆放杂物"),
            ("grid", "411602001001001001"),
            ("lat", ""),
            ("lng", ""),
        ];
        let (st, _, loc) = post(&app, &officer, "/console/cases/new", &form).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{}]", app.engine);
        let loc = loc.unwrap();
        // A double-tapped submit lands once.
        let (_, _, loc2) = post(&app, &officer, "/console/cases/new", &form).await;
        assert_eq!(loc2.unwrap(), loc);
        assert_eq!(app.count("cases").await, before + 1);
        let (_, html) = page(&app, &officer, &loc).await;
        assert!(html.contains("已上报") && html.contains("楼道堆物"));
        let (st, html, _) = post(
            &app,
            &officer,
            "/console/cases/new",
            &[
                ("csrf", &csrf),
                ("key", "other"),
                ("category", "SQ07"),
                ("description", "x"),
                ("grid", "411602001001001001"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("问题描述应为2至2000字"));

        // The community accepts and dispatches from the case page; the officer sees the result.
        let community = sign_in(&app, "community").await;
        let id = loc.trim_start_matches("/console/cases/").split('?').next().unwrap().to_string();
        let (_, html) = page(&app, &community, &format!("/console/cases/{id}")).await;
        assert!(html.contains("立案") && html.contains("不予立案"));
        let c2 = csrf_of(&html);
        let marker = "name=\"version\" value=\"";
        let vat = html.find(marker).unwrap() + marker.len();
        let version = html[vat..].split('"').next().unwrap().to_string();
        let (st, _, _) = post(
            &app,
            &community,
            &format!("/console/cases/{id}/actions"),
            &[("csrf", &c2), ("action", "accept"), ("version", &version)],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        // The same stale form again: refused with a clear message, nothing changes.
        let (st, html, _) = post(
            &app,
            &community,
            &format!("/console/cases/{id}/actions"),
            &[("csrf", &c2), ("action", "accept"), ("version", &version)],
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("刚被他人处理"));
        let (st, html) = page(&app, &community, "/console/cases?status=accepted").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("批量派遣") && html.contains(&format!("value=\"{id}\"")));
        let marker = "批量派遣已立案的案件至 <select name=\"unit\"><option value=\"";
        let unit_at = html.find(marker).unwrap() + marker.len();
        let unit = html[unit_at..unit_at + 36].to_string();
        let (st, _, loc) = post(
            &app,
            &community,
            "/console/cases/dispatch",
            &[("csrf", &c2), ("case", &id), ("unit", &unit)],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &community, &loc.unwrap()).await;
        assert!(html.contains("已派遣 1 件"), "[{}]", app.engine);
        let (_, html) = page(&app, &officer, &format!("/console/cases/{id}")).await;
        assert!(html.contains("已派遣"));

        // A resident with no account reports from the public grid page and follows it by code.
        let r = app.client.get(format!("{}/g/411602001001001002", app.base)).send().await.unwrap();
        let html = r.text().await.unwrap();
        assert!(html.contains("我要反映问题"));
        let key_at = html.find("name=\"key\" value=\"").unwrap() + "name=\"key\" value=\"".len();
        let key = html[key_at..key_at + 36].to_string();
        let r = app
            .client
            .post(format!("{}/g/411602001001001002/report", app.base))
            .form(&[
                ("key", key.as_str()),
                ("category", "SQ01"),
                ("description", "门口垃圾桶满溢"),
                ("phone", "13912341234"),
            ])
            .send()
            .await
            .unwrap();
        let st = r.status();
        assert_eq!(
            st,
            StatusCode::SEE_OTHER,
            "{}",
            if st == StatusCode::SEE_OTHER {
                String::new()
            } else {
                r.text().await.unwrap()
            }
        );
        let track = r.headers()["location"].to_str().unwrap().to_string();
        assert!(track.starts_with("/track/"));
        let html = app
            .client
            .get(format!("{}{}", app.base, track))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("已收到您的反映") && html.contains("门口垃圾桶满溢") && html.contains("已上报"));
        // The same form sent again lands on the same case; another resident who reuses the key
        // with other words gets a case of their own, never the first one's tracking page.
        let send = |description: &'static str, phone: &'static str| {
            let (client, base, key) = (app.client.clone(), app.base.clone(), key.clone());
            async move {
                let r = client
                    .post(format!("{base}/g/411602001001001002/report"))
                    .form(&[
                        ("key", key.as_str()),
                        ("category", "SQ01"),
                        ("description", description),
                        ("phone", phone),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::SEE_OTHER);
                r.headers()["location"].to_str().unwrap().to_string()
            }
        };
        assert_eq!(send("门口垃圾桶满溢", "13912341234").await, track, "an honest retry");
        let other = send("楼下路灯不亮", "").await;
        assert_ne!(
            other.split('?').next(),
            track.split('?').next(),
            "someone else's words, their own case"
        );
        let r = app
            .client
            .post(format!("{}/g/411602001001001002/report", app.base))
            .form(&[("key", "k2"), ("category", "SQ01"), ("description", "x"), ("phone", "123")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = app.client.get(format!("{}/track/NOSUCHCODE", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // Closed by the grid, then rated once by the resident holding the code.
        let code = track.trim_start_matches("/track/").split('?').next().unwrap().to_string();
        let (admin, dept) = (app.token("admin").await, app.token("department").await);
        let (_, list) = app.get("/api/v1/cases?category=SQ01&per_page=20", &admin).await;
        let cid = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tracking_code"] == code.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, units) = app.get("/api/v1/units?kind=department&q=区城市管理局", &admin).await;
        let unit = units["items"][0]["id"].as_str().unwrap().to_string();
        let steps = [
            (&admin, serde_json::json!({"action": "accept"})),
            (&admin, serde_json::json!({"action": "dispatch", "unit": unit})),
            (&dept, serde_json::json!({"action": "start"})),
            (&dept, serde_json::json!({"action": "handle", "note": "已清运并消毒"})),
            (&admin, serde_json::json!({"action": "verify"})),
            (&admin, serde_json::json!({"action": "close"})),
        ];
        for (who, body) in steps {
            let (st, v) = app.post(&format!("/api/v1/cases/{cid}/actions"), who, body).await;
            assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        }
        let html = app
            .client
            .get(format!("{}/track/{code}", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("已结案") && html.contains("已清运并消毒") && html.contains("提交评价"));
        assert!(html.contains("区城市管理局"), "residents are told the unit that answers for it");
        let r = app
            .client
            .post(format!("{}/track/{code}/rate", app.base))
            .form(&[("rating", "satisfied")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "a rating redirects to the track page");
        let r = app
            .client
            .post(format!("{}/track/{code}/rate", app.base))
            .form(&[("rating", "dissatisfied")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT, "rated once");
        let (_, v) = app.get(&format!("/api/v1/cases/{cid}"), &admin).await;
        assert_eq!(v["rating"], "satisfied");
    }
}

#[tokio::test]
async fn inbox_shows_each_role_what_waits_on_it() {
    for app in apps().await {
        let (officer, community) = (app.token("building").await, app.token("community").await);
        let (_, units) = app.get("/api/v1/units?kind=department&q=区城市管理局", &community).await;
        let dept = units["items"][0]["id"].as_str().unwrap().to_string();
        let (_, a) = app
            .post(
                "/api/v1/cases",
                &officer,
                serde_json::json!({"category": "SQ07", "description": "收件箱测试一", "grid": "411602001001001001"}),
            )
            .await;
        let (_, b) = app
            .post(
                "/api/v1/cases",
                &officer,
                serde_json::json!({"category": "SQ07", "description": "收件箱测试二", "grid": "411602001001001001"}),
            )
            .await;
        let (a, b) = (
            a["tracking_code"].as_str().unwrap().to_string(),
            (
                b["id"].as_str().unwrap().to_string(),
                b["tracking_code"].as_str().unwrap().to_string(),
            ),
        );
        for body in [
            serde_json::json!({"action": "accept"}),
            serde_json::json!({"action": "dispatch", "unit": dept}),
            serde_json::json!({"action": "whistle", "units": [dept]}),
        ] {
            let (st, v) = app.post(&format!("/api/v1/cases/{}/actions", b.0), &community, body).await;
            assert_eq!(st, StatusCode::OK, "{v}");
        }
        let staff = sign_in(&app, "community").await;
        let (st, html) = page(&app, &staff, "/console/inbox").await;
        assert_eq!(st, StatusCode::OK);
        let waiting = &html[html.find("待立案（").unwrap()..html.find("已立案，待派遣或本级处置（").unwrap()];
        assert!(
            waiting.contains(&a) && !waiting.contains(&b.1),
            "[{}] the reported case waits for acceptance",
            app.engine
        );
        let dept_cookie = sign_in(&app, "department").await;
        let (_, html) = page(&app, &dept_cookie, "/console/inbox").await;
        let assigned = &html[html.find("派给本单位的案件（").unwrap()..html.find("正在处置（").unwrap()];
        assert!(assigned.contains(&b.1) && !assigned.contains(&a));
        let whistles = &html[html.find("吹哨报到（").unwrap()..html.find("时限预警（").unwrap()];
        assert!(whistles.contains(&b.1), "[{}] the summoned department sees the whistle", app.engine);
    }
}

#[tokio::test]
async fn the_board_filters_by_grid_and_unit() {
    for app in apps().await {
        let street = sign_in(&app, "street").await;
        let (st, html) = page(&app, &street, "/console/cases?grid=411602001002").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("网格编码") && html.contains("承办单位"));
        let (st, _) = page(&app, &street, "/console/cases?grid=411603").await;
        assert_eq!(st, StatusCode::NOT_FOUND, "outside the caller's grid");
        // Every listed case under the chosen community: compare with the API's answer.
        let t = app.token("street").await;
        let (_, api) = app.get("/api/v1/cases?grid=411602001002&per_page=30", &t).await;
        assert!(!api["items"].as_array().unwrap().is_empty(), "the community has cases to compare");
        for c in api["items"].as_array().unwrap() {
            assert!(html.contains(c["tracking_code"].as_str().unwrap()), "[{}]", app.engine);
        }
        let total = api["total"].as_i64().unwrap();
        assert!(
            html.contains(&format!("案件（{total}）")),
            "[{}] the page counts what the API counts",
            app.engine
        );
        let officer = sign_in(&app, "building").await;
        let (_, html) = page(&app, &officer, "/console/cases/new").await;
        assert!(html.contains("<datalist id=\"buildings\">") && html.contains("411602001001001001"));
    }
}

#[tokio::test]
async fn api_keys_page_is_the_districts_and_checks_its_forms() {
    for app in apps().await {
        let community = sign_in(&app, "community").await;
        let (st, _) = page(&app, &community, "/console/api-keys").await;
        assert_eq!(st, StatusCode::FORBIDDEN, "only the district issues keys");
        let (_, home) = page(&app, &community, "/console").await;
        assert!(!home.contains("/console/api-keys"));

        let admin = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &admin, "/console/api-keys").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("接口密钥") && html.contains("尚未签发密钥"));
        let csrf = csrf_of(&html);
        let before = app.count("api_keys").await;
        let (st, _, _) = post(
            &app,
            &admin,
            "/console/api-keys",
            &[("csrf", "forged"), ("name", "甲"), ("grid", "411602"), ("per_minute", "60")],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        for (grid, per, says) in [
            ("411699", "60", "本区"),
            ("411602999", "60", "不存在"),
            ("411602", "0", "1至10000"),
            ("411602", "many", "整数"),
        ] {
            let (st, html, _) = post(
                &app,
                &admin,
                "/console/api-keys",
                &[("csrf", &csrf), ("name", "市热线"), ("grid", grid), ("per_minute", per)],
            )
            .await;
            assert_eq!(st, StatusCode::OK);
            assert!(
                html.contains("class=\"error\"") && html.contains(says),
                "{grid}/{per}: expected {says}"
            );
        }
        assert_eq!(app.count("api_keys").await, before, "refused forms store nothing");
        let (_, html, _) = post(
            &app,
            &admin,
            "/console/api-keys",
            &[("csrf", &csrf), ("name", "市热线"), ("grid", "411602001"), ("per_minute", "30")],
        )
        .await;
        let at = html.find("id=\"new-key\"").expect("the new key is shown");
        let secret: String = html[at..].split('>').nth(1).unwrap().chars().take(43).collect();
        let key = gongzhi::apikeys::find(&app.db, &secret)
            .await
            .unwrap()
            .expect("the shown key works");
        assert_eq!((key.grid_code.as_str(), key.per_minute), ("411602001", 30));
        let (st, _, loc) = post(&app, &admin, &format!("/console/api-keys/{}/revoke", key.id), &[("csrf", &csrf)]).await;
        assert_eq!((st, loc.as_deref()), (StatusCode::SEE_OTHER, Some("/console/api-keys")));
        assert!(gongzhi::apikeys::find(&app.db, &secret).await.unwrap().is_none(), "revoked");
        let (_, html) = page(&app, &admin, "/console/api-keys").await;
        assert!(html.contains("已停用"));

        // The officer's report form marks a case private (不公开).
        let building = sign_in(&app, "building").await;
        let (_, form) = page(&app, &building, "/console/cases/new").await;
        assert!(form.contains("name=\"private\""));
        let csrf = csrf_of(&form);
        let (st, _, loc) = post(
            &app,
            &building,
            "/console/cases/new",
            &[
                ("csrf", &csrf),
                ("category", "SQ07"),
                ("description", "邻居家门口堆物"),
                ("grid", "411602001001001001"),
                ("private", "1"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let loc = loc.unwrap();
        let id = loc.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
        let r = app
            .client
            .get(format!("{}/open311/v2/requests/{id}.json", app.base))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
        assert_eq!(v[0]["service_request_id"], id.as_str(), "{v}");
        assert!(
            v[0].get("description").is_some_and(|d| d.is_null()),
            "a private case's description is withheld: {v}"
        );

        // The picked category's extra questions are asked and stored; another category's are ignored.
        assert!(form.contains("data-category=\"SQ03\"") && form.contains("name=\"attr.SQ03.floor\""));
        let base = [
            ("csrf", csrf.as_str()),
            ("category", "SQ03"),
            ("description", "楼道飞线充电"),
            ("grid", "411602001001001001"),
        ];
        let mut bad = base.to_vec();
        bad.push(("attr.SQ03.floor", "六楼"));
        let (st, html, _) = post(&app, &building, "/console/cases/new", &bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("所在楼层") && html.contains("应为数字") && html.contains("value=\"六楼\""),
            "error in Chinese, input kept"
        );
        let mut good = base.to_vec();
        good.extend([
            ("attr.SQ03.floor", "6"),
            ("attr.SQ03.vehicle", "emoto"),
            ("attr.SQ01.kind", "garbage"),
        ]);
        let (st, _, loc) = post(&app, &building, "/console/cases/new", &good).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let loc = loc.unwrap();
        let (_, detail) = page(&app, &building, &loc).await;
        assert!(
            detail.contains("所在楼层") && detail.contains("电动摩托车"),
            "answers shown by their names"
        );
        let id = loc.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
        let token = app.token("building").await;
        let (_, c) = app.get(&format!("/api/v1/cases/{id}"), &token).await;
        assert_eq!(c["attributes"], serde_json::json!({"floor": "6", "vehicle": "emoto"}));
        assert_eq!(c["private"], false);
    }
}

/// 按完整号码查找 on the console: a POST with a reason for those who may reveal; a whole number in
/// the search box is refused, and a building officer has no such form (issue 11, item 1).
#[tokio::test]
async fn console_lookup_by_whole_number() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let (_, list) = app.get("/api/v1/residents?per_page=1", &admin).await;
        let rid = list["items"][0]["id"].as_str().unwrap().to_string();
        let (_, full) = app
            .post(
                &format!("/api/v1/residents/{rid}/reveal"),
                &admin,
                serde_json::json!({"reason": "测试准备"}),
            )
            .await;
        let phone = full["phone"].as_str().unwrap().to_string();

        let cookie = sign_in(&app, "community").await;
        let (st, html) = page(&app, &cookie, &format!("/console/residents?q={phone}")).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("按完整号码查找"), "points to the lookup form");
        let csrf = csrf_of(&html);
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/residents/lookup",
            &[("csrf", &csrf), ("number", &phone), ("reason", "")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("事由"));
        let (st, html, _) = post(
            &app,
            &cookie,
            "/console/residents/lookup",
            &[("csrf", &csrf), ("number", &phone), ("reason", "核实来电人")],
        )
        .await;
        assert_eq!(st, StatusCode::OK, "[{}]", app.engine);
        assert!(html.contains(&format!("/console/residents/{rid}")), "the person is listed");
        assert!(html.contains("记入审计日志"));
        assert!(!html.contains(&phone), "the number is not echoed back in full");

        let cookie = sign_in(&app, "building").await;
        let (_, html) = page(&app, &cookie, "/console/residents").await;
        assert!(!html.contains("/console/residents/lookup"), "no lookup form for a building officer");
        let csrf = csrf_of(&html);
        let (st, _, _) = post(
            &app,
            &cookie,
            "/console/residents/lookup",
            &[("csrf", &csrf), ("number", &phone), ("reason", "核实来电人")],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{}]", app.engine);
    }
}
