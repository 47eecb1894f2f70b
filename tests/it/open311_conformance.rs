//! Open311 conformance (issue 11, item 10): what independent GeoReport v2 validators and clients
//! found — characters XML cannot carry, the description's rules, the address, media URLs, closing
//! times, encodings, methods, unknown paths, rate limits, the discovery URL, errors listed together.

use std::net::SocketAddr;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::open311::{BUILDING, DISTRICT, assert_json_error, fetch, json_at, key, parse_xml, post_form, xml_at};
use crate::support::{App, apps};

/// Every character is one XML 1.0 allows (its `Char` production).
fn xml_chars_only(text: &str) -> bool {
    text.chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
}

/// POST a form that must be taken; the new request's id.
async fn posted(app: &App, form: &[(&str, &str)]) -> String {
    let (st, body) = post_form(app, "/open311/v2/requests.json", form).await;
    assert_eq!(st, StatusCode::OK, "[{}] {form:?}: {body}", app.engine);
    serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// One request as JSON, and as XML.
async fn read_back(app: &App, id: &str) -> (Value, crate::open311::Node) {
    let (st, v) = json_at(app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, ct, body) = fetch(app, &format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "text/xml; charset=utf-8"));
    assert!(
        xml_chars_only(&body),
        "requests/{id}.xml holds a character XML 1.0 forbids: {body:?}"
    );
    (v[0].clone(), parse_xml(&body).child("request").clone())
}

/// The spec's error list of a JSON answer: each error's description.
fn error_descriptions(body: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("an error list: {body}"));
    v.as_array()
        .unwrap_or_else(|| panic!("an error list: {body}"))
        .iter()
        .map(|e| e["description"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn characters_xml_forbids_never_reach_requests_xml() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        let id = posted(
            &app,
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ07"),
                ("address_id", BUILDING),
                ("description", "楼道\u{FFFE}堆物\u{FFFF}\u{1}\u{8}\u{1B}完"),
                ("address_string", "人民路\u{FFFF}12号"),
                ("media_url", "https://city.example/a\u{FFFF}.jpg"),
            ],
        )
        .await;
        let (_, x) = read_back(&app, &id).await;
        assert_eq!(x.text_of("description"), "楼道堆物完");
        assert_eq!(x.text_of("address"), "人民路12号");
        // The search too.
        let (st, _, body) = fetch(&app, "/open311/v2/requests.xml").await;
        assert_eq!(st, StatusCode::OK);
        assert!(xml_chars_only(&body), "[{}] requests.xml", app.engine);
        parse_xml(&body);
    }
}

#[tokio::test]
async fn description_is_optional_and_up_to_4000_characters() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        let admin = app.token("admin").await;
        let base = [("api_key", k.as_str()), ("service_code", "SQ07"), ("address_id", BUILDING)];
        // None, empty and blank count as absent: taken, read back as no description.
        for description in [None, Some(""), Some("  \t ")] {
            let mut form = base.to_vec();
            form.extend(description.map(|d| ("description", d)));
            let id = posted(&app, &form).await;
            let (r, x) = read_back(&app, &id).await;
            assert!(r["description"].is_null(), "[{}] {description:?}: {r}", app.engine);
            assert_eq!(x.text_of("description"), "");
            // Staff read a stand-in, not an empty case.
            let (_, c) = app.get(&format!("/api/v1/cases/{id}"), &admin).await;
            assert_eq!(c["description"], "（未填写描述）");
        }
        // One character is a description too.
        let mut form = base.to_vec();
        form.push(("description", "堵"));
        let id = posted(&app, &form).await;
        assert_eq!(read_back(&app, &id).await.0["description"], "堵");
        // 4,000 characters, with an address appended after the length was checked.
        let longest = "楼".repeat(4000);
        let id = posted(
            &app,
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ07"),
                ("address_string", "人民路12号门口"),
                ("description", longest.as_str()),
            ],
        )
        .await;
        let (r, _) = read_back(&app, &id).await;
        assert_eq!(
            r["description"],
            longest.as_str(),
            "the description as sent, without the address line"
        );
        assert_eq!(r["address"], "人民路12号门口");
        // 4,001 is refused, and nothing is stored.
        let before = app.count("cases").await;
        let too_long = "楼".repeat(4001);
        let mut form = base.to_vec();
        form.push(("description", too_long.as_str()));
        let (st, body) = post_form(&app, "/open311/v2/requests.json", &form).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        assert!(error_descriptions(&body)[0].contains("description"), "{body}");
        assert_eq!(app.count("cases").await, before);
    }
}

#[tokio::test]
async fn an_address_string_reads_back_as_the_address() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        let id = posted(
            &app,
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ01"),
                ("address_string", "人民路12号门口"),
                ("description", "垃圾堆积"),
            ],
        )
        .await;
        let (r, x) = read_back(&app, &id).await;
        assert_eq!(r["address"], "人民路12号门口", "[{}] {r}", app.engine);
        assert_eq!(x.text_of("address"), "人民路12号门口");
        assert_eq!(r["description"], "垃圾堆积", "the address is not repeated in the description");
        let (_, all) = json_at(&app, "/open311/v2/requests.json?service_code=SQ01").await;
        let found = all
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service_request_id"] == id.as_str())
            .unwrap();
        assert_eq!(found["address"], "人民路12号门口");
        // Without an address string, the address is the grid's path.
        let id = posted(
            &app,
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ01"),
                ("address_id", BUILDING),
                ("description", "垃圾堆积"),
            ],
        )
        .await;
        let (r, _) = read_back(&app, &id).await;
        assert!(r["address"].as_str().unwrap().contains("号楼"), "{r}");
    }
}

#[tokio::test]
async fn media_url_is_an_absolute_http_uri() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        let with = |url: &'static str| {
            vec![
                ("api_key", k.clone()),
                ("service_code", "SQ07".to_string()),
                ("address_id", BUILDING.to_string()),
                ("description", "楼道堆物".to_string()),
                ("media_url", url.to_string()),
            ]
        };
        // Written in ASCII: spaces and angle brackets percent-encoded, the host in punycode.
        for (sent, served) in [
            (
                "https://city.example/照片 1.jpg?a=1&b=<2>",
                "https://city.example/%E7%85%A7%E7%89%87%201.jpg?a=1&b=%3C2%3E",
            ),
            ("http://例子.测试/a.jpg", "http://xn--fsqu00a.xn--0zwm56d/a.jpg"),
        ] {
            let form = with(sent);
            let form: Vec<(&str, &str)> = form.iter().map(|(a, b)| (*a, b.as_str())).collect();
            let id = posted(&app, &form).await;
            let (r, x) = read_back(&app, &id).await;
            assert_eq!(r["media_url"], served, "[{}] {sent}", app.engine);
            assert_eq!(x.text_of("media_url"), served);
        }
        let before = app.count("cases").await;
        for bad in [
            "http://",
            "https://user:secret@city.example/a.jpg",
            "javascript:alert(1)",
            "//city.example/a.jpg",
            "http://exa mple.com/a.jpg",
        ] {
            let form = with(bad);
            let form: Vec<(&str, &str)> = form.iter().map(|(a, b)| (*a, b.as_str())).collect();
            let (st, body) = post_form(&app, "/open311/v2/requests.json", &form).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "[{}] {bad}: {body}", app.engine);
            assert!(error_descriptions(&body)[0].contains("media_url"), "{body}");
        }
        assert_eq!(app.count("cases").await, before, "refusals store nothing");
    }
}

#[tokio::test]
async fn a_closed_request_was_updated_when_it_was_closed() {
    for app in apps().await {
        // A closed case of the last weeks; a rating two hours after closing moves the row's
        // `updated_at` (every action does), not the request's.
        let (id, closed_at): (uuid::Uuid, i64) = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
            "SELECT id, closed_at FROM cases WHERE status = 'closed' AND closed_at IS NOT NULL ORDER BY reported_at DESC LIMIT 1"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE cases SET updated_at = $1, rating = 'satisfied' WHERE id = $2"
        )
        .bind(closed_at + 2 * 3_600_000)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
        let (r, x) = read_back(&app, &id.to_string()).await;
        assert_eq!(r["status"], "closed");
        let want = gongzhi::time::rfc3339_ms(closed_at);
        assert_eq!(r["updated_datetime"], want.as_str(), "[{}] {r}", app.engine);
        assert_eq!(x.text_of("updated_datetime"), want);
    }
}

#[tokio::test]
async fn text_that_is_not_utf8_is_refused() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        let before = (app.count("cases").await, app.count("open311_requests").await);
        let head = format!("api_key={k}&service_code=SQ07&address_id={BUILDING}&description=");
        for tail in [&b"%FF%FE%E6%A5"[..], &b"\xff\xfe\xe6\xa5"[..], &b"%E6%A5%BC%C0%80"[..]] {
            for ext in ["json", "xml"] {
                let r = app
                    .client
                    .post(format!("{}/open311/v2/requests.{ext}", app.base))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body([head.as_bytes(), tail].concat())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::BAD_REQUEST, "[{}] {tail:?}", app.engine);
                let body = r.text().await.unwrap();
                if ext == "json" {
                    assert!(error_descriptions(&body)[0].contains("UTF-8"), "{body}");
                } else {
                    assert_eq!(parse_xml(&body).name, "errors");
                }
            }
        }
        assert_eq!(
            (app.count("cases").await, app.count("open311_requests").await),
            before,
            "nothing stored as U+FFFD"
        );
        let (st, e) = json_at(&app, "/open311/v2/requests.json?service_code=%FF").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_json_error(&e, st);
    }
}

#[tokio::test]
async fn methods_are_answered_with_allow() {
    for app in apps().await {
        let call = |method: Method, path: &str| app.client.request(method, format!("{}/open311/v2/{path}", app.base)).send();
        let allow = |r: &reqwest::Response| {
            r.headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        // POST where only GET is served: 405, with Allow, as the spec's error list.
        for (path, xml) in [
            ("services.json", false),
            ("discovery.xml", true),
            ("services/SQ03.json", false),
            ("requests/x.xml", true),
        ] {
            let r = call(Method::POST, path).await.unwrap();
            assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "[{}] POST {path}", app.engine);
            let a = allow(&r);
            assert!(a.contains("GET") && !a.contains("POST"), "POST {path}: Allow {a:?}");
            let body = r.text().await.unwrap();
            if xml {
                let x = parse_xml(&body);
                assert_eq!(x.child("error").text_of("code"), "405");
            } else {
                assert_json_error(&serde_json::from_str(&body).unwrap(), StatusCode::METHOD_NOT_ALLOWED);
            }
        }
        for (method, path) in [
            (Method::PUT, "requests.json"),
            (Method::DELETE, "requests.xml"),
            (Method::PATCH, "tokens/T.json"),
        ] {
            let r = call(method.clone(), path).await.unwrap();
            assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(allow(&r).contains("GET"), "{method} {path}: {:?}", allow(&r));
        }
        // OPTIONS tells the truth: POST on requests only.
        for (path, posts) in [
            ("requests.json", true),
            ("requests.xml", true),
            ("services.json", false),
            ("discovery.json", false),
            ("services/SQ03.xml", false),
            ("requests/x.json", false),
            ("tokens/T.json", false),
        ] {
            let r = call(Method::OPTIONS, path).await.unwrap();
            assert!(r.status().is_success(), "OPTIONS {path}: {}", r.status());
            let a = allow(&r);
            assert!(a.contains("GET"), "OPTIONS {path}: {a:?}");
            assert_eq!(a.contains("POST"), posts, "OPTIONS {path}: {a:?}");
        }
        let r = call(Method::HEAD, "services.json").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_json_body_is_told_to_use_the_form_encoding() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        let body = json!({"api_key": k, "service_code": "SQ07", "address_id": BUILDING, "description": "楼道堆物"});
        let r = app
            .client
            .post(format!("{}/open311/v2/requests.json", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "[{}]", app.engine);
        let said = error_descriptions(&r.text().await.unwrap());
        assert!(said[0].contains("application/x-www-form-urlencoded"), "{said:?}");
        let r = app
            .client
            .post(format!("{}/open311/v2/requests.xml", app.base))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "JSON without a Content-Type");
        let x = parse_xml(&r.text().await.unwrap());
        assert!(
            x.child("error")
                .text_of("description")
                .contains("application/x-www-form-urlencoded")
        );
    }
}

#[tokio::test]
async fn unknown_paths_answer_the_error_list() {
    for app in apps().await {
        for path in [
            "/open311/v2/foo/bar.json",
            "/open311/v2/",
            "/open311/v2",
            "/open311/v2/requests/a/b.json",
            "/open311/v2/services/",
        ] {
            let (st, ct, body) = fetch(&app, path).await;
            assert_eq!(st, StatusCode::NOT_FOUND, "[{}] {path}", app.engine);
            assert_eq!(ct, "application/json; charset=utf-8", "{path}");
            assert_json_error(&serde_json::from_str(&body).unwrap(), StatusCode::NOT_FOUND);
        }
        let (st, x) = xml_at(&app, "/open311/v2/requests/a/b.xml").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(x.name, "errors");
        assert_eq!(x.child("error").text_of("code"), "404");
        let (st, body) = post_form(&app, "/open311/v2/nothing/here.json", &[("a", "b")]).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_json_error(&serde_json::from_str(&body).unwrap(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn rate_limited_answers_carry_retry_after() {
    for app in apps().await {
        let slow = key(&app, BUILDING, 1).await;
        let mut limited = None;
        for _ in 0..3 {
            let r = app
                .client
                .get(format!("{}/open311/v2/services.json?api_key={slow}", app.base))
                .send()
                .await
                .unwrap();
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(r);
                break;
            }
        }
        let r = limited.expect("a key of one call a minute is limited within three calls");
        let after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&after), "[{}] Retry-After {after}", app.engine);
        assert_json_error(&r.json().await.unwrap(), StatusCode::TOO_MANY_REQUESTS);
    }
}

/// Serve `app`'s database the way `gongzhi serve` does (the same function), on a free port.
pub(crate) async fn serve_like_production(app: &App, public_url: Option<&str>) -> (String, tokio::task::JoinHandle<()>) {
    let settings = gongzhi::config::Settings {
        database_url: app.url.clone(),
        listen: "127.0.0.1:0".into(),
        data_dir: std::env::temp_dir()
            .join("gongzhi-tests")
            .join(format!("files-{}", uuid::Uuid::now_v7())),
        duplicate_meters: gongzhi::config::DEFAULT_DUPLICATE_METERS,
        duplicate_hours: gongzhi::config::DEFAULT_DUPLICATE_HOURS,
        public_url: public_url.map(String::from),
        key_file: None,
        web: gongzhi::config::WebSettings::resolve(&Default::default(), |_| None).unwrap(),
        devices: Default::default(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let db = app.db.clone();
    let server = tokio::spawn(async move {
        gongzhi::app::serve(db, &settings, move |a| {
            let _ = tx.send(a);
        })
        .await
        .unwrap();
    });
    (format!("http://{}", rx.await.unwrap()), server)
}

#[tokio::test]
async fn the_discovery_url_comes_from_configuration() {
    for app in apps().await {
        // Not from the Host a caller sends.
        let r = app
            .client
            .get(format!("{}/open311/v2/discovery.json", app.base))
            .header("host", "evil.example")
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        let d: Value = r.json().await.unwrap();
        let url = d["endpoints"][0]["url"].as_str().unwrap();
        assert!(!url.contains("evil.example"), "[{}] {url}", app.engine);
        assert_eq!(url, "http://127.0.0.1:8080/open311/v2", "the default listen address");
        // `public_url` when set; `http://{listen}` when not.
        for public_url in [Some("https://gongzhi.example.gov.cn/"), None] {
            let (base, server) = serve_like_production(&app, public_url).await;
            let d: Value = app
                .client
                .get(format!("{base}/open311/v2/discovery.xml"))
                .header("host", "evil.example")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .map(|t| json!(parse_xml(&t).child("endpoints").child("endpoint").text_of("url")))
                .unwrap();
            let want = match public_url {
                Some(_) => "https://gongzhi.example.gov.cn/open311/v2".to_string(),
                None => format!("{base}/open311/v2"),
            };
            assert_eq!(d, want.as_str());
            server.abort();
        }
    }
}

#[tokio::test]
async fn every_error_of_a_post_is_listed() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let fields = json!([{"code": "blocked", "datatype": "singlevaluelist", "required": true, "description": "是否堵塞消防通道",
                              "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]},
                             {"code": "floor", "datatype": "number", "required": false, "description": "所在楼层"}]);
        let (st, c) = app
            .call(
                Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&admin),
                Some(json!({"fields": fields})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        let k = key(&app, DISTRICT, 1000).await;
        let too_long = "楼".repeat(4001);
        let before = app.count("cases").await;
        let (st, body) = post_form(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ07"),
                ("address_id", BUILDING),
                ("description", too_long.as_str()),
                ("attribute[floor]", "六"),
                ("attribute[colour]", "red"),
                ("media_url", "javascript:alert(1)"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "[{}] {body}", app.engine);
        let said = error_descriptions(&body);
        for what in [
            "description",
            "attribute_required",
            "invalid_attribute",
            "unknown_attribute",
            "media_url",
        ] {
            assert_eq!(said.iter().filter(|d| d.contains(what)).count(), 1, "{what} named once: {said:?}");
        }
        assert_eq!(said.len(), 5, "{said:?}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v.as_array().unwrap().iter().all(|e| e["code"] == 400));
        // The same in XML.
        let (st, body) = post_form(
            &app,
            "/open311/v2/requests.xml",
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ07"),
                ("address_id", BUILDING),
                ("description", too_long.as_str()),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(parse_xml(&body).all("error").len(), 2, "{body}");
        assert_eq!(app.count("cases").await, before);
    }
}
