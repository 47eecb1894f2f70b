//! The console's frame over HTTP: each demo role lands on its work, every nav link it is shown
//! opens, unknown and malformed URLs answer in Chinese (HTML for pages, JSON for the API), and the
//! pages say times, actions and places in words.

use reqwest::StatusCode;

use crate::support::{App, apps, page, sign_in};

/// Each demo account, where `/console` sends it, and the nav it is shown (by link text).
const ROLES: [(&str, &str, &[&str]); 9] = [
    (
        "admin",
        "/console/command",
        &[
            "指挥中心",
            "网格",
            "待办",
            "通知",
            "案件",
            "值班通话",
            "议事协商",
            "党建",
            "红色物业",
            "为民服务",
            "门前三包",
            "专项行动",
            "居民",
            "志愿服务",
            "考核",
            "组织单位",
            "接口密钥",
            "审计日志",
        ],
    ),
    (
        "street",
        "/console/inbox",
        &[
            "指挥中心",
            "网格",
            "待办",
            "通知",
            "案件",
            "值班通话",
            "议事协商",
            "党建",
            "红色物业",
            "为民服务",
            "门前三包",
            "专项行动",
            "居民",
            "志愿服务",
            "考核",
            "组织单位",
        ],
    ),
    (
        "community",
        "/console/inbox",
        &[
            "指挥中心",
            "网格",
            "待办",
            "通知",
            "案件",
            "值班通话",
            "议事协商",
            "党建",
            "红色物业",
            "为民服务",
            "门前三包",
            "专项行动",
            "居民",
            "志愿服务",
            "考核",
            "组织单位",
        ],
    ),
    (
        "compound",
        "/console/inbox",
        &[
            "网格",
            "待办",
            "通知",
            "案件",
            "值班通话",
            "议事协商",
            "党建",
            "红色物业",
            "为民服务",
            "门前三包",
            "专项行动",
            "居民",
            "志愿服务",
        ],
    ),
    (
        "building",
        "/console/inbox",
        &[
            "网格",
            "待办",
            "通知",
            "案件",
            "值班通话",
            "议事协商",
            "党建",
            "红色物业",
            "为民服务",
            "门前三包",
            "专项行动",
            "居民",
            "志愿服务",
        ],
    ),
    ("department", "/console/inbox", &["待办", "通知", "案件", "党建", "组织单位"]),
    ("property", "/console/inbox", &["待办", "通知", "案件", "红色物业", "组织单位"]),
    (
        "resident",
        "/console/me",
        &["我的", "议事协商", "党建", "红色物业", "为民服务", "志愿服务"],
    ),
    ("keeper", "/console/shop", &["兑换"]),
];

/// The header's nav links: (href, text).
fn nav_links(html: &str) -> Vec<(String, String)> {
    let start = html.find("<header class=\"top\">").expect("the console header");
    let header = &html[start..start + html[start..].find("</header>").expect("header end")];
    let nav = &header[header.find("<nav>").expect("nav")..header.find("</nav>").expect("nav end")];
    nav.split("<a href=\"")
        .skip(1)
        .map(|a| {
            let href = a[..a.find('"').unwrap()].to_string();
            let text = a[a.find('>').unwrap() + 1..a.find("</a>").unwrap()].to_string();
            (href, text)
        })
        .collect()
}

/// The text a person reads: tags, scripts and styles removed, entities left as they are.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tag = &rest[i..];
        let skip_to = if tag.starts_with("<script") {
            tag.find("</script>").map(|j| j + 9)
        } else if tag.starts_with("<style") {
            tag.find("</style>").map(|j| j + 8)
        } else {
            tag.find('>').map(|j| j + 1)
        };
        out.push(' ');
        rest = &tag[skip_to.unwrap_or(tag.len())..];
    }
    out.push_str(rest);
    out
}

/// ISO timestamps, UUIDs and dotted action codes a person should never have to read.
fn technical_bits(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "，。：；（）、·›|<>\"'".contains(c)) {
        let b = word.as_bytes();
        let iso = b.len() >= 13 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-' && b[10] == b'T';
        let uuid = word.len() >= 36
            && word.split('-').map(str::len).take(5).eq([8, 4, 4, 4, 12])
            && word.chars().take(36).all(|c| c.is_ascii_hexdigit() || c == '-');
        let code = word.split_once('.').is_some_and(|(a, z)| {
            !a.is_empty()
                && !z.is_empty()
                && a.chars().all(|c| c.is_ascii_lowercase())
                && z.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        if iso || uuid || code {
            found.push(word.to_string());
        }
    }
    found
}

async fn landing(app: &App, cookie: &str) -> String {
    let r = app
        .client
        .get(format!("{}/console", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    r.headers()["location"].to_str().unwrap().to_string()
}

#[test]
fn the_checks_themselves_find_what_they_look_for() {
    let bits = technical_bits(&visible_text(
        "<p>2026-11-26T22:18:00+08:00 <b>case.close</b> 0190c0de-0000-7000-8000-000000000000</p><script>a.b</script>",
    ));
    assert_eq!(bits.len(), 3, "{bits:?}");
    assert!(
        technical_bits(&visible_text("<p>11月26日 22:18 结案 app.css</p>")).len() == 1,
        "app.css looks like a code too"
    );
    assert!(technical_bits(&visible_text("<p title=\"case.close\">11月26日 22:18 结案</p>")).is_empty());
}

#[tokio::test]
async fn each_role_lands_on_its_work_and_every_nav_link_opens() {
    for app in apps().await {
        for (user, land, labels) in ROLES {
            let cookie = sign_in(&app, user).await;
            assert_eq!(landing(&app, &cookie).await, land, "[{}] {user} lands", app.engine);
            let (st, html) = page(&app, &cookie, land).await;
            assert_eq!(st, StatusCode::OK, "[{}] {user} {land}", app.engine);
            let links = nav_links(&html);
            let texts: Vec<&str> = links.iter().map(|l| l.1.as_str()).collect();
            assert_eq!(texts, labels.to_vec(), "[{}] {user}'s nav", app.engine);
            // The header names the person once, with the role and the post's place.
            let who = html.split("<div class=\"who\">").nth(1).expect("who").split("</a>").next().unwrap();
            assert!(!who.contains('（') && who.matches(" · ").count() >= 1, "{user}: {who}");
            for (href, text) in links.iter().chain([(String::from("/console/me"), String::from("我的"))].iter()) {
                let (st, html) = page(&app, &cookie, href).await;
                assert_eq!(st, StatusCode::OK, "[{}] {user}: {text} {href}", app.engine);
                let bits = technical_bits(&visible_text(&html));
                assert!(bits.is_empty(), "[{}] {user} {href} shows {bits:?}", app.engine);
            }
        }
    }
}

#[tokio::test]
async fn my_page_shows_who_answers_for_my_building() {
    for app in apps().await {
        let cookie = sign_in(&app, "resident").await;
        let (st, html) = page(&app, &cookie, "/console/me").await;
        assert_eq!(st, StatusCode::OK);
        // The resident's post is at the demo's first building; its leader as the grid API gives it.
        let building = "411602001001001001";
        let token = app.token("admin").await;
        let (_, g) = app.get(&format!("/api/v1/grids/{building}"), &token).await;
        let (name, phone) = (g["leader"]["name"].as_str().unwrap(), g["leader"]["phone"].as_str().unwrap());
        assert!(html.contains(name) && html.contains(&format!("href=\"tel:{phone}\"")), "{html}");
        for link in [
            "/console/cases?mine=1",
            "/console/volunteer",
            "/console/cases/new",
            &format!("/g/{building}"),
        ] {
            assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
        }
        // Staff see who they are and where, without a building's contacts.
        let cookie = sign_in(&app, "keeper").await;
        let (st, html) = page(&app, &cookie, "/console/me").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("爱心超市店员") && !html.contains("我家的网格"));
    }
}

#[tokio::test]
async fn unknown_and_malformed_urls_answer_in_chinese() {
    for app in apps().await {
        let cookie = sign_in(&app, "community").await;
        let r = app
            .client
            .get(format!("{}/console/nosuch", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = r.text().await.unwrap();
        assert!(html.contains("找不到页面") && html.contains("没有这个页面"), "{html}");
        assert!(!nav_links(&html).is_empty(), "in the console frame, with its nav");
        // Signed out: still a Chinese page, not JSON.
        let r = app.client.get(format!("{}/console/nosuch", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.text().await.unwrap().contains("找不到页面"));
        // The API keeps its JSON.
        let r = app.client.get(format!("{}/api/v1/nosuch", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "no_such_endpoint");
        // A malformed id in a page's URL: a Chinese page; in the API's: the JSON error.
        for path in ["/console/cases/xyz", "/console/residents/xyz", "/console/households/xyz"] {
            let (st, html) = page(&app, &cookie, path).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
            assert!(
                html.contains("<html lang=\"zh-CN\">") && html.contains("编号有误"),
                "{path}: {html}"
            );
            assert!(!html.contains("Invalid URL") && !html.contains("Cannot parse"), "{path}");
        }
        let token = app.token("community").await;
        let (st, v) = app.get("/api/v1/cases/xyz", &token).await;
        assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        assert!(v["error"]["message"].as_str().unwrap().contains("编号有误"));
        // The site icon is served by the binary.
        let r = app.client.get(format!("{}/favicon.ico", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert!(r.text().await.unwrap().starts_with("<svg"));
    }
}

#[tokio::test]
async fn the_audit_page_says_actions_in_words() {
    for app in apps().await {
        let admin = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &admin, "/console/audit").await;
        assert_eq!(st, StatusCode::OK);
        let text = visible_text(&html);
        assert!(text.contains("登录") && text.contains("账号：admin"), "{text}");
        assert_eq!(technical_bits(&text), Vec::<String>::new());
        // The filter still filters by code; its options say the words.
        let (st, html) = page(&app, &admin, "/console/audit?action=auth.login").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("<option value=\"auth.login\" selected>登录</option>"));
    }
}

#[tokio::test]
async fn the_boundary_is_edited_on_the_map_with_geojson_kept_as_advanced() {
    for app in apps().await {
        let admin = sign_in(&app, "admin").await;
        let (st, html) = page(&app, &admin, "/console/grids/411602001001").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("data-edit-map") && html.contains("data-boundary=\"{&quot;type&quot;:&quot;Polygon&quot;"));
        let advanced = html.find("高级：直接填写边界数据").expect("the GeoJSON field under 高级");
        assert!(html[advanced..].contains("name=\"boundary\""));
        // Who may not change the boundary gets no editor.
        let building = sign_in(&app, "building").await;
        let (_, html) = page(&app, &building, "/console/grids/411602001001001001").await;
        assert!(!html.contains("data-edit-map"));
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    for app in crate::support::apps().await {
        for path in [
            "/login",
            "/g/411602001001001001",
            "/api/v1/nosuch",
            "/console/nosuch",
            "/static/app.css",
        ] {
            let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            let h = r.headers();
            let csp = h
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            assert!(
                csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
                "{path}: {csp}"
            );
            assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
            assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
            assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
        }
    }
}

#[tokio::test]
async fn a_huge_page_number_is_the_last_page_not_an_error() {
    for app in crate::support::apps().await {
        let admin = crate::support::sign_in(&app, "admin").await;
        let keeper = crate::support::sign_in(&app, "keeper").await;
        let resident = crate::support::sign_in(&app, "resident").await;
        let huge = "page=9223372036854775807";
        for (who, path) in [
            (&admin, format!("/console/cases?{huge}")),
            (&admin, format!("/console/grids/411602?{huge}")),
            (&admin, format!("/console/residents?{huge}")),
            (&admin, format!("/console/volunteers?{huge}")),
            (&admin, format!("/console/points?{huge}")),
            (&admin, format!("/console/audit?{huge}")),
            (&keeper, format!("/console/shop?{huge}")),
            (&resident, format!("/console/volunteer/shop?{huge}")),
        ] {
            let (st, _) = crate::support::page(&app, who, &path).await;
            assert_eq!(st, reqwest::StatusCode::OK, "[{}] {path}", app.engine);
        }
    }
}

/// 长辈版: the switch remembers the choice in a cookie and returns to the page it was pressed on
/// (a path on this site only); the public pages and the console draw it; 标准版 forgets it.
#[tokio::test]
async fn the_elder_mode_switch_is_remembered_and_drawn() {
    for app in apps().await {
        let grid = "/g/411602001001001001";
        let switch = |form: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let r = app.client.post(format!("{}/elder", app.base)).form(&form).send().await.unwrap();
                let header = |h: &str| r.headers().get(h).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                (r.status(), header("location"), header("set-cookie"))
            }
        };
        let (status, back, cookie) = switch(vec![("on", "1".into()), ("back", grid.into())]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{}", app.engine);
        assert_eq!(back, grid);
        assert!(cookie.starts_with("gz_elder=1;") && cookie.contains("Max-Age=31536000"), "{cookie}");

        // Anywhere off this site goes to the console instead.
        for away in [
            "//evil.example/x",
            "https://evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "",
        ] {
            let (_, back, _) = switch(vec![("on", "1".into()), ("back", away.into())]).await;
            assert_eq!(back, "/console", "{away:?}");
        }
        let (_, _, cleared) = switch(vec![("on", "0".into()), ("back", grid.into())]).await;
        assert!(cleared.starts_with("gz_elder=;") && cleared.contains("Max-Age=0"), "{cleared}");

        // The public grid page: 18 px by default (roomy), 长辈版 with the cookie.
        let (_, plain) = page(&app, "", grid).await;
        assert!(plain.contains("<html lang=\"zh-CN\" class=\"roomy\">") && plain.contains(">长辈版</button>"));
        let (_, elder) = page(&app, "gz_elder=1", grid).await;
        assert!(
            elder.contains("class=\"roomy elder\"") && elder.contains(">标准版</button>"),
            "{}",
            app.engine
        );
        assert!(elder.contains(&format!("name=\"back\" value=\"{grid}\"")));
        let (_, track) = page(&app, "gz_elder=1", "/track").await;
        assert!(track.contains("class=\"roomy elder\""));
        // The login page keeps where the sign-in goes next.
        let (_, login) = page(&app, "gz_elder=1", "/login?next=/console/me").await;
        assert!(login.contains("<html lang=\"zh-CN\" class=\"elder\">"), "{}", app.engine);
        assert!(login.contains("name=\"back\" value=\"/login?next=/console/me\""), "{login}");

        // The console's frame: the class on <html>, the switch returning to this page.
        let session = sign_in(&app, "resident").await;
        let (_, me) = page(&app, &session, "/console/me").await;
        assert!(me.starts_with("<!doctype html>\n<html lang=\"zh-CN\">") && me.contains(">长辈版</button>"));
        assert!(me.contains("<a class=\"skip\" href=\"#main\">跳到正文</a>") && me.contains("<main id=\"main\""));
        let (_, me) = page(&app, &format!("{session}; gz_elder=1"), "/console/me?x=1").await;
        assert!(me.contains("<html lang=\"zh-CN\" class=\"elder\">"), "{}", app.engine);
        assert!(me.contains("name=\"back\" value=\"/console/me?x=1\"") && me.contains(">标准版</button>"));
    }
}

/// A refused report on the public page names its field: the field is marked invalid and described
/// by the error, so a screen reader reads the error with the field it is about.
#[tokio::test]
async fn a_refused_public_report_ties_its_error_to_the_field() {
    for app in apps().await {
        let grid = "411602001001001001";
        let (_, page_html) = page(&app, "", &format!("/g/{grid}")).await;
        let category = page_html
            .split("<option value=\"")
            .nth(2)
            .and_then(|o| o.split('"').next())
            .expect("a category to pick")
            .to_string();
        let report = |description: &'static str, phone: &'static str| {
            let (app, category) = (&app, category.clone());
            async move {
                let form = [
                    ("category", category.as_str()),
                    ("description", description),
                    ("phone", phone),
                    ("key", ""),
                ];
                let r = app
                    .client
                    .post(format!("{}/g/{grid}/report", app.base))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let marked = |html: &str, field: &str| {
            let at = html
                .find(&format!("name=\"{field}\""))
                .unwrap_or_else(|| panic!("the {field} field"));
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            tag.contains("aria-invalid=\"true\" aria-describedby=\"report-error\"")
        };
        let (status, html) = report("坏", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", app.engine);
        assert!(html.contains("id=\"report-error\"") && html.contains("aria-describedby=\"report-error\">"));
        assert!(marked(&html, "description") && !marked(&html, "phone") && !marked(&html, "category"));

        let (status, html) = report("楼道里堆满了杂物，影响通行", "12345").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", app.engine);
        assert!(marked(&html, "phone") && !marked(&html, "description"), "{}", app.engine);
    }
}
