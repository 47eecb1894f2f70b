//! Reporting and rating from a phone: photos in the report's own POST (console and `/g`), the
//! phone's position bounded, no category picked for the resident, and /track's rating.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, csrf_of, page, sign_in};

const BUILDING: &str = "411602001001001001";
/// The smallest bytes each kind of photo is recognised by.
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1];
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D];
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00";

/// A multipart/form-data body as a browser sends it: the fields, then each photo as a `photo`
/// file part (and an empty file part, as an input left empty sends).
fn multipart(fields: &[(&str, &str)], photos: &[&[u8]]) -> (String, Vec<u8>) {
    let boundary = "----gongzhi-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    for (i, bytes) in photos.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// POST a multipart form (with a session cookie, or none): status, HTML and redirect target.
async fn send(
    app: &App,
    cookie: Option<&str>,
    path: &str,
    fields: &[(&str, &str)],
    photos: &[&[u8]],
) -> (StatusCode, String, Option<String>) {
    let (content_type, body) = multipart(fields, photos);
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (r.status(), r.text().await.unwrap(), loc)
}

fn key_of(html: &str) -> String {
    let at = html.find("name=\"key\" value=\"").unwrap() + "name=\"key\" value=\"".len();
    html[at..at + 36].to_string()
}

/// The `<select name="category">` element of a page.
fn category_select(html: &str) -> &str {
    let at = html.find("<select name=\"category\"").expect("a category select");
    &html[at..at + html[at..].find("</select>").unwrap()]
}

async fn case_by_code(app: &App, admin: &str, code: &str) -> Value {
    let id: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT id FROM cases WHERE tracking_code = $1")
        .bind(code)
        .fetch_one(p)
        .await)
    .unwrap();
    app.get(&format!("/api/v1/cases/{id}"), admin).await.1
}

async fn grid_name(app: &App, code: &str) -> String {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT name FROM grids WHERE code = $1")
        .bind(code)
        .fetch_one(p)
        .await)
    .unwrap()
}

#[tokio::test]
async fn the_console_report_takes_its_photos_in_the_same_post() {
    for app in apps().await {
        let officer = sign_in(&app, "building").await;
        let admin = app.token("admin").await;
        let (st, html) = page(&app, &officer, "/console/cases/new").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("enctype=\"multipart/form-data\"") && html.contains("name=\"photo\""));
        // Grouped by 大类, and no two choices read alike.
        let select = category_select(&html);
        for group in ["社区治理", "部件", "事件"] {
            assert!(
                select.contains(&format!("<optgroup label=\"{group}\">")),
                "[{}] no group {group}",
                app.engine
            );
        }
        let labels: Vec<&str> = select
            .split("</option>")
            .filter_map(|x| x.rsplit_once('>').map(|(_, label)| label))
            .filter(|x| !x.is_empty() && *x != "请选择问题类别")
            .collect();
        assert!(labels.len() >= 18, "{labels:?}");
        let unique: std::collections::BTreeSet<&&str> = labels.iter().collect();
        assert_eq!(unique.len(), labels.len(), "[{}] repeated choices in {labels:?}", app.engine);
        assert!(
            labels.contains(&"市容环境（部件）") && labels.contains(&"市容环境（事件）"),
            "{labels:?}"
        );

        // A 大类 never gets a second 小类 of the same name.
        let twin = json!({"code": "SQ09", "parent": "SQ", "name": "环境卫生", "limit_hours": 24, "close_level": 3});
        let (st, v) = app.post("/api/v1/case-categories", &admin, twin).await;
        assert_eq!((st, crate::support::code(&v)), (StatusCode::CONFLICT, "duplicate_name"), "{v}");

        let (csrf, key) = (csrf_of(&html), key_of(&html));
        let before = (app.count("cases").await, app.count("case_attachments").await);
        let fields = [
            ("csrf", csrf.as_str()),
            ("key", key.as_str()),
            ("category", "SQ07"),
            ("description", "3单元楼道堆放纸箱，堵住消防通道"),
            ("grid", BUILDING),
            ("lat", ""),
            ("lng", ""),
        ];
        // A photo that is not an image refuses the whole report: no case without its photo.
        let (st, html, _) = send(&app, Some(&officer), "/console/cases/new", &fields, &[JPEG, GIF]).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}]", app.engine);
        assert!(html.contains("只接受 JPEG、PNG 或 WebP 格式的照片") && html.contains("3单元楼道堆放纸箱"));
        let (st, html, _) = send(&app, Some(&officer), "/console/cases/new", &fields, &[JPEG, PNG, JPEG, PNG]).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("最多上传3张照片"), "[{}]", app.engine);
        let mut big = JPEG.to_vec();
        big.resize(10 * 1024 * 1024 + 1, 0);
        let (st, html, _) = send(&app, Some(&officer), "/console/cases/new", &fields, &[&big]).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("每张照片不超过10MB") && html.contains("3单元楼道堆放纸箱"),
            "[{}]",
            app.engine
        );
        let far = [fields[0], fields[1], fields[2], fields[3], ("lat", "91"), ("lng", "114.6")];
        let (st, html, _) = send(&app, Some(&officer), "/console/cases/new", &far, &[JPEG]).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("位置信息有误"));
        assert_eq!((app.count("cases").await, app.count("case_attachments").await), before);

        // Fields and two photos in one POST: one case carrying both.
        let (st, body, loc) = send(&app, Some(&officer), "/console/cases/new", &fields, &[JPEG, PNG]).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{}] {body}", app.engine);
        let loc = loc.unwrap();
        let id = loc.trim_start_matches("/console/cases/").split('?').next().unwrap().to_string();
        let (_, v) = app.get(&format!("/api/v1/cases/{id}"), &admin).await;
        let mimes: Vec<&str> = v["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["mime"].as_str().unwrap())
            .collect();
        assert_eq!(mimes.len(), 2, "[{}] {v}", app.engine);
        assert!(mimes.contains(&"image/jpeg") && mimes.contains(&"image/png"));
        assert_eq!(v["category"]["code"], "SQ07", "{v}");
        // The photo is served to whoever may see the case.
        let url = v["attachments"][0]["url"].as_str().unwrap();
        let r = app
            .client
            .get(format!("{}{url}", app.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // A double-tapped submit lands on the same case, and its photos are not doubled.
        let (st, _, loc2) = send(&app, Some(&officer), "/console/cases/new", &fields, &[JPEG, PNG]).await;
        assert_eq!((st, loc2.as_deref()), (StatusCode::SEE_OTHER, Some(loc.as_str())));
        assert_eq!(
            (app.count("cases").await, app.count("case_attachments").await),
            (before.0 + 1, before.1 + 2)
        );
        // Without a session's CSRF token nothing is taken.
        let forged = [("csrf", "0"), fields[1], fields[2], fields[3], fields[4]];
        let (st, _, _) = send(&app, Some(&officer), "/console/cases/new", &forged, &[JPEG]).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // The old urlencoded form (no photos) is still read.
        let form = [
            ("csrf", csrf.as_str()),
            ("key", "plain-form"),
            ("category", "SQ01"),
            ("description", "门口垃圾桶满溢"),
            ("grid", BUILDING),
        ];
        let (st, _, _) = crate::support::post(&app, &officer, "/console/cases/new", &form).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn a_resident_reports_from_the_grid_page_with_a_photo_and_the_phones_position() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let r = app.client.get(format!("{}/g/{BUILDING}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        // The title names the compound, the building and the street.
        let (compound, building, street) = (
            grid_name(&app, &BUILDING[..15]).await,
            grid_name(&app, BUILDING).await,
            grid_name(&app, &BUILDING[..9]).await,
        );
        let title = format!("{compound} {building} · {street}");
        assert!(
            html.contains(&format!("<title>{title} - 网格公示</title>")),
            "[{}] no title {title}",
            app.engine
        );
        assert!(html.contains(&format!("<h1>{title} ")));
        // The property company serving the compound, with its phone, when there is one.
        let property: Option<(String, String)> = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
            "SELECT u.name, u.contact_phone FROM grids g JOIN units u ON u.id = g.property_company_id WHERE g.code = $1"
        )
        .bind(&BUILDING[..15])
        .fetch_optional(p)
        .await)
        .unwrap();
        let (company, phone) = property.expect("the demo's first compound has a property company");
        assert!(html.contains("物业服务") && html.contains(&company) && html.contains(&format!("href=\"tel:{phone}\"")));
        // No category is picked for the resident: a required choice under a placeholder.
        let select = category_select(&html);
        assert!(select.contains("required") && select.contains("<option value=\"\">请选择问题类别</option>"));
        assert!(!select.contains("selected"), "[{}] a category is preselected", app.engine);
        assert!(
            select.contains("<optgroup label=\"社区治理\">") && !select.contains("部件"),
            "residents report community matters"
        );
        assert!(html.contains("使用当前位置") && html.contains("name=\"lat\"") && html.contains("name=\"photo\""));

        let key = key_of(&html);
        let path = format!("/g/{BUILDING}/report");
        let before = (app.count("cases").await, app.count("case_attachments").await);
        let no_category = [
            ("key", key.as_str()),
            ("category", ""),
            ("description", "楼下路灯不亮"),
            ("phone", ""),
        ];
        let (st, html, _) = send(&app, None, &path, &no_category, &[JPEG]).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}]", app.engine);
        assert!(
            html.contains("问题类别") && html.contains("楼下路灯不亮"),
            "the error is shown and the words kept"
        );
        // The position is bounded and validated: both numbers in range, and in this district.
        let (lat, lng): (f64, f64) = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
            "SELECT center_lat, center_lng FROM grids WHERE code = $1"
        )
        .bind(BUILDING)
        .fetch_one(p)
        .await)
        .unwrap();
        let (lat, lng) = (format!("{lat:.7}"), format!("{lng:.7}"));
        for (bad_lat, bad_lng, says) in [
            ("91", "114.6", "位置信息有误"),
            (lat.as_str(), "", "位置信息有误"),
            ("abc", lng.as_str(), "位置信息有误"),
            ("NaN", lng.as_str(), "位置信息有误"),
            ("0", "0", "不在本区范围内"),
        ] {
            let fields = [
                ("key", key.as_str()),
                ("category", "SQ03"),
                ("description", "楼道里有电动车飞线充电"),
                ("phone", "13912341234"),
                ("lat", bad_lat),
                ("lng", bad_lng),
            ];
            let (st, html, _) = send(&app, None, &path, &fields, &[JPEG]).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {bad_lat},{bad_lng}", app.engine);
            assert!(html.contains(says), "[{}] {bad_lat},{bad_lng}: expected {says}", app.engine);
            assert!(html.contains("楼道里有电动车飞线充电") && html.contains("name=\"lat\" id=\"lat\" value=\"\""));
        }
        assert_eq!((app.count("cases").await, app.count("case_attachments").await), before);

        let fields = [
            ("key", key.as_str()),
            ("category", "SQ03"),
            ("description", "楼道里有电动车飞线充电"),
            ("phone", "13912341234"),
            ("lat", lat.as_str()),
            ("lng", lng.as_str()),
        ];
        let (st, body, loc) = send(&app, None, &path, &fields, &[PNG]).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{}] {body}", app.engine);
        let loc = loc.unwrap();
        assert!(loc.starts_with("/track/") && loc.ends_with("?new=1"), "{loc}");
        let code = loc.trim_start_matches("/track/").split('?').next().unwrap();
        let v = case_by_code(&app, &admin, code).await;
        assert_eq!(v["grid"]["code"], BUILDING, "filed at the page's grid: {v}");
        assert!((v["lat"].as_f64().unwrap() - lat.parse::<f64>().unwrap()).abs() < 1e-6, "{v}");
        assert_eq!(v["attachments"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["attachments"][0]["mime"], "image/png");
        // Refreshing the submit (the same form again) is the same case, one photo.
        let (_, _, again) = send(&app, None, &path, &fields, &[PNG]).await;
        assert_eq!(again.as_deref(), Some(loc.as_str()));
        assert_eq!(
            (app.count("cases").await, app.count("case_attachments").await),
            (before.0 + 1, before.1 + 1)
        );
    }
}

#[tokio::test]
async fn track_names_the_unit_and_a_rating_redirects() {
    for app in apps().await {
        let (admin, dept) = (app.token("admin").await, app.token("department").await);
        let r = app.client.get(format!("{}/g/{BUILDING}", app.base)).send().await.unwrap();
        let key = key_of(&r.text().await.unwrap());
        let fields = [
            ("key", key.as_str()),
            ("category", "SQ01"),
            ("description", "单元门口垃圾堆放多日"),
            ("phone", ""),
        ];
        let (st, _, loc) = send(&app, None, &format!("/g/{BUILDING}/report"), &fields, &[]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let code = loc.unwrap().trim_start_matches("/track/").split('?').next().unwrap().to_string();
        let id = case_by_code(&app, &admin, &code).await["id"].as_str().unwrap().to_string();
        let track = |app: &App, path: String| {
            let (client, base) = (app.client.clone(), app.base.clone());
            async move {
                let r = client.get(format!("{base}{path}")).send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let (_, html) = track(&app, format!("/track/{code}")).await;
        assert!(!html.contains("承办单位</dt>"), "no unit before dispatch");
        let (_, units) = app.get("/api/v1/units?kind=department&q=区城市管理局", &admin).await;
        let unit = units["items"][0]["id"].as_str().unwrap().to_string();
        for (who, body) in [
            (&admin, json!({"action": "accept"})),
            (&admin, json!({"action": "dispatch", "unit": unit})),
            (&dept, json!({"action": "start"})),
            (&dept, json!({"action": "handle", "note": "已清运"})),
            (&admin, json!({"action": "verify"})),
            (&admin, json!({"action": "close"})),
        ] {
            let (st, v) = app.post(&format!("/api/v1/cases/{id}/actions"), who, body).await;
            assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        }
        let (_, html) = track(&app, format!("/track/{code}")).await;
        assert!(
            html.contains("<dt>承办单位</dt><dd>区城市管理局</dd>"),
            "[{}] the unit is named",
            app.engine
        );
        for choice in ["满意", "基本满意", "不满意"] {
            assert!(html.contains(&format!("</b> {choice}</span>")), "no star choice {choice}");
        }
        assert!(html.contains("type=\"radio\" name=\"rating\"") && html.contains("name=\"comment\""));

        let rate = |rating: &'static str, comment: String| {
            let (client, base, code) = (app.client.clone(), app.base.clone(), code.clone());
            async move {
                let r = client
                    .post(format!("{base}/track/{code}/rate"))
                    .form(&[("rating", rating), ("comment", comment.as_str())])
                    .send()
                    .await
                    .unwrap();
                let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
                (r.status(), r.text().await.unwrap(), loc)
            }
        };
        let (st, html, _) = rate("", "很好".into()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("请选择满意程度") && html.contains(">很好</textarea>"),
            "the comment is kept"
        );
        let (st, html, _) = rate("satisfied", "好".repeat(501)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("评价内容不超过500字"));
        let (_, v) = app.get(&format!("/api/v1/cases/{id}"), &admin).await;
        assert_eq!(v["rating"], Value::Null, "nothing was rated yet");

        let (st, _, loc) = rate("basically_satisfied", "清运及时，希望多巡查".into()).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{}] a rating redirects", app.engine);
        assert_eq!(loc.as_deref(), Some(format!("/track/{code}?rated=1").as_str()));
        let (st, html) = track(&app, loc.unwrap()).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("感谢您的评价") && html.contains("<dt>您的评价</dt><dd>基本满意</dd>"));
        assert!(
            html.contains("基本满意：清运及时，希望多巡查"),
            "[{}] the comment is on the timeline",
            app.engine
        );
        assert!(!html.contains("name=\"rating\""), "rated once, no form again");
        let (st, html, _) = rate("dissatisfied", String::new()).await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert!(html.contains("该案件已评价"));
        let (_, v) = app.get(&format!("/api/v1/cases/{id}"), &admin).await;
        assert_eq!(v["rating"], "basically_satisfied");
    }
}

#[tokio::test]
async fn the_grid_page_asks_the_categorys_questions_and_keeps_the_answers() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let r = app.client.get(format!("{}/g/{BUILDING}", app.base)).send().await.unwrap();
        let html = r.text().await.unwrap();
        assert!(
            html.contains("data-category=\"SQ03\"") && html.contains("所在楼层") && html.contains("name=\"attr.SQ03.vehicle\""),
            "[{}] the public form asks 飞线充电's questions",
            app.engine
        );
        let key = key_of(&html);
        let fields = [
            ("key", key.as_str()),
            ("category", "SQ03"),
            ("description", "楼道里电动车飞线充电"),
            ("attr.SQ03.floor", "６"),
            ("attr.SQ03.vehicle", "ebike"),
            // Another category's answers are not this report's.
            ("attr.SQ01.kind", "garbage"),
        ];
        let (st, _, loc) = send(&app, None, &format!("/g/{BUILDING}/report"), &fields, &[]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let code = loc.unwrap().trim_start_matches("/track/").split('?').next().unwrap().to_string();
        let case = case_by_code(&app, &admin, &code).await;
        assert_eq!(case["attributes"]["vehicle"], "ebike", "{case}");
        assert!(
            case["attributes"]["floor"] == 6 || case["attributes"]["floor"] == "6" || case["attributes"]["floor"] == 6.0,
            "{case}"
        );
        assert!(case["attributes"].get("kind").is_none());
        // A choice that is not one of the question's is refused, and the form comes back as typed.
        let r = app.client.get(format!("{}/g/{BUILDING}", app.base)).send().await.unwrap();
        let key = key_of(&r.text().await.unwrap());
        let bad = [
            ("key", key.as_str()),
            ("category", "SQ03"),
            ("description", "楼道里电动车飞线充电"),
            ("attr.SQ03.vehicle", "tank"),
        ];
        let (st, html, _) = send(&app, None, &format!("/g/{BUILDING}/report"), &bad, &[]).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("楼道里电动车飞线充电"));
    }
}
