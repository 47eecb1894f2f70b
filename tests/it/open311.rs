//! Open311 GeoReport v2: every endpoint in JSON and XML (parsed with a real XML parser), POST from
//! the form body and the query string, the spec's errors, keys (CLI and scope), privacy.

use gongzhi::apikeys as keys;
use gongzhi::audit::Actor;
use quick_xml::events::Event;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, sha256_hex};

pub(crate) const DISTRICT: &str = "411602";
pub(crate) const BUILDING: &str = "411602001001001001";
const OTHER_BUILDING: &str = "411602001002001001";

/// An element of a parsed XML document.
#[derive(Debug, Default, Clone)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Node>,
}

impl Node {
    pub(crate) fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:?}", self.name))
    }
    pub(crate) fn text_of(&self, name: &str) -> &str {
        &self.child(name).text
    }
    pub(crate) fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

/// Parse with quick-xml: the declaration must say UTF-8; returns the root element.
pub(crate) fn parse_xml(text: &str) -> Node {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut declared_utf8 = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Decl(d) => {
                let enc = d.encoding().expect("encoding declared").expect("readable");
                declared_utf8 = enc.eq_ignore_ascii_case(b"utf-8");
            }
            Event::Start(e) => stack.push(Node {
                name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let n = Node {
                    name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                    ..Node::default()
                };
                stack.last_mut().unwrap().children.push(n);
            }
            Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.unescape().unwrap()),
            Event::End(_) => {
                let n = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(n);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(declared_utf8, "XML declaration with encoding=\"utf-8\": {text}");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children.pop().unwrap()
}

/// GET a path; returns status, content type and body text.
pub(crate) async fn fetch(app: &App, path: &str) -> (StatusCode, String, String) {
    let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    (r.status(), ct, r.text().await.unwrap())
}

pub(crate) async fn json_at(app: &App, path: &str) -> (StatusCode, Value) {
    let (st, ct, body) = fetch(app, path).await;
    assert_eq!(ct, "application/json; charset=utf-8", "{path}");
    (
        st,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON from {path}: {body}")),
    )
}

pub(crate) async fn xml_at(app: &App, path: &str) -> (StatusCode, Node) {
    let (st, ct, body) = fetch(app, path).await;
    assert_eq!(ct, "text/xml; charset=utf-8", "{path}");
    (st, parse_xml(&body))
}

pub(crate) async fn post_form(app: &App, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = app.client.post(format!("{}{path}", app.base)).form(form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

pub(crate) async fn key(app: &App, grid: &str, per_minute: i64) -> String {
    keys::add(&app.db, Actor::System("test"), grid, "测试接入", per_minute)
        .await
        .unwrap()
        .1
}

pub(crate) async fn centre(app: &App, code: &str) -> (String, String) {
    let t = app.token("admin").await;
    let (_, g) = app.get(&format!("/api/v1/grids/{code}"), &t).await;
    (
        g["center"]["lat"].as_f64().unwrap().to_string(),
        g["center"]["lng"].as_f64().unwrap().to_string(),
    )
}

/// The spec's error list in JSON: `[{code, description}]`, code the HTTP status.
pub(crate) fn assert_json_error(v: &Value, status: StatusCode) {
    let list = v.as_array().unwrap_or_else(|| panic!("error list: {v}"));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["code"], json!(status.as_u16()), "{v}");
    assert!(!list[0]["description"].as_str().unwrap().is_empty());
}

pub(crate) fn is_rfc3339_with_offset(s: &str) -> bool {
    s.parse::<jiff::Timestamp>().is_ok() && (s.ends_with("+08:00") || s.ends_with('Z'))
}

/// The field rules of a GeoReport v2 request in JSON.
pub(crate) fn assert_request_fields(r: &Value) {
    for f in ["service_request_id", "service_code", "service_name", "address_id", "status_notes"] {
        assert!(r[f].is_string(), "{f} is a string: {r}");
    }
    assert!(matches!(r["status"].as_str(), Some("open" | "closed")), "{r}");
    for f in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        assert!(is_rfc3339_with_offset(r[f].as_str().unwrap()), "{f}: {r}");
    }
    assert!(r["description"].is_string() || r["description"].is_null());
    assert!(r["lat"].is_number() || r["lat"].is_null());
    assert!(r["long"].is_number() || r["long"].is_null());
    assert!(r["extended_attributes"]["workflow_status"].is_string());
    let text = r.to_string();
    for personal in ["reporter", "phone", "email", "first_name", "last_name", "id_number"] {
        assert!(!text.contains(personal), "no {personal} leaves: {text}");
    }
}

#[tokio::test]
async fn discovery_and_services_in_both_formats() {
    for app in apps().await {
        let (st, d) = json_at(&app, "/open311/v2/discovery.json").await;
        assert_eq!(st, StatusCode::OK);
        let ep = &d["endpoints"][0];
        assert_eq!(ep["specification"], "http://wiki.open311.org/GeoReport_v2");
        assert!(ep["url"].as_str().unwrap().ends_with("/open311/v2"));
        assert_eq!(ep["formats"], json!(["text/xml", "application/json"]));
        assert!(is_rfc3339_with_offset(d["changeset"].as_str().unwrap()));
        let (_, x) = xml_at(&app, "/open311/v2/discovery.xml").await;
        assert_eq!(x.name, "discovery");
        let ep = x.child("endpoints").child("endpoint");
        assert_eq!(ep.text_of("type"), "production");
        let formats: Vec<&str> = ep.child("formats").all("format").iter().map(|f| f.text.as_str()).collect();
        assert_eq!(formats, ["text/xml", "application/json"]);

        let (st, services) = json_at(&app, "/open311/v2/services.json").await;
        assert_eq!(st, StatusCode::OK);
        let list = services.as_array().unwrap();
        assert!(list.len() >= 15, "every leaf category is a service");
        for s in list {
            assert!(s["service_code"].is_string() && s["service_name"].is_string() && s["group"].is_string());
            assert!(s["metadata"].is_boolean());
            assert_eq!(s["type"], "realtime");
        }
        let fire = list.iter().find(|s| s["service_code"] == "SQ03").unwrap();
        assert_eq!(fire["service_name"], "飞线充电");
        assert_eq!(fire["group"], "社区治理");
        assert_eq!(fire["metadata"], true);
        let (_, x) = xml_at(&app, &format!("/open311/v2/services.xml?jurisdiction_id={DISTRICT}")).await;
        assert_eq!(x.name, "services");
        assert_eq!(x.all("service").len(), list.len());
        let sq03 = x.all("service").into_iter().find(|s| s.text_of("service_code") == "SQ03").unwrap();
        assert_eq!(sq03.text_of("metadata"), "true");
        assert_eq!(sq03.text_of("service_name"), "飞线充电");

        let (st, def) = json_at(&app, "/open311/v2/services/SQ03.json").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(def["service_code"], "SQ03");
        let attrs = def["attributes"].as_array().unwrap();
        assert_eq!(attrs[0]["code"], "floor");
        assert_eq!(attrs[0]["datatype"], "number");
        assert_eq!(attrs[0]["variable"], true);
        assert_eq!(attrs[0]["order"], 1);
        assert_eq!(attrs[1]["datatype"], "singlevaluelist");
        assert_eq!(attrs[1]["values"][0], json!({"key": "ebike", "name": "电动自行车"}));
        let (_, x) = xml_at(&app, "/open311/v2/services/SQ03.xml").await;
        assert_eq!(x.name, "service_definition");
        let a = x.child("attributes").all("attribute");
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].child("values").all("value")[1].text_of("name"), "电动摩托车");

        // Errors, in the format asked for.
        let (st, e) = json_at(&app, "/open311/v2/services/ZZ99.json").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_json_error(&e, StatusCode::NOT_FOUND);
        let (st, x) = xml_at(&app, "/open311/v2/services/SQ.xml").await;
        assert_eq!(st, StatusCode::NOT_FOUND, "a group is not a service");
        assert_eq!(x.name, "errors");
        assert_eq!(x.child("error").text_of("code"), "404");
        let (st, e) = json_at(&app, "/open311/v2/services.json?jurisdiction_id=999999").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert!(e[0]["description"].as_str().unwrap().contains("jurisdiction_id"));
        let (st, _, _) = fetch(&app, "/open311/v2/services.html").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn post_from_form_body_and_query_string_then_follow() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 100).await;
        let (lat, lng) = centre(&app, BUILDING).await;
        let (st, body) = post_form(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", k.as_str()),
                ("jurisdiction_id", DISTRICT),
                ("service_code", "SQ03"),
                ("lat", lat.as_str()),
                ("long", lng.as_str()),
                ("description", "2单元有人从窗口拉线给电动车充电，联系13812345678"),
                ("attribute[floor]", "6"),
                ("attribute[vehicle]", "ebike"),
                ("media_url", "https://city.example/photos/1.jpg"),
                ("email", "someone@example.com"),
                ("first_name", "明"),
                ("last_name", "李"),
                ("phone", "13812345678"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::OK, "[{}] {body}", app.engine);
        let v: Value = serde_json::from_str(&body).unwrap();
        let id = v[0]["service_request_id"].as_str().expect("id as a string").to_string();
        let token = v[0]["token"].as_str().unwrap().to_string();
        assert!(v[0]["service_notice"].is_string());
        assert!(v[0]["account_id"].is_null());

        // Stored as a case of the grid it was located to, with everything the client sent.
        let admin = app.token("admin").await;
        let (_, c) = app.get(&format!("/api/v1/cases/{id}"), &admin).await;
        assert_eq!(c["grid"]["code"], BUILDING);
        assert_eq!(c["source"], "open311");
        assert_eq!(c["status"], "reported");
        let stored: (String, String, String) = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
            "SELECT r.email, r.media_url, c.attributes FROM open311_requests r JOIN cases c ON c.id = r.case_id WHERE r.token = $1"
        )
        .bind(&token)
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(stored.0, "someone@example.com");
        assert_eq!(stored.1, "https://city.example/photos/1.jpg");
        assert_eq!(
            serde_json::from_str::<Value>(&stored.2).unwrap(),
            json!({"floor": "6", "vehicle": "ebike"})
        );

        // Followed by id and by token, in both formats; nothing personal comes back.
        let (st, r) = json_at(&app, &format!("/open311/v2/requests/{id}.json")).await;
        assert_eq!(st, StatusCode::OK);
        let r = &r.as_array().unwrap()[0];
        assert_request_fields(r);
        assert_eq!(r["service_request_id"], id.as_str());
        assert_eq!(r["status"], "open");
        assert_eq!(r["service_code"], "SQ03");
        assert_eq!(r["extended_attributes"]["workflow_status"], "reported");
        assert_eq!(r["media_url"], "https://city.example/photos/1.jpg");
        let d = r["description"].as_str().unwrap();
        assert!(d.contains("拉线") && !d.contains("13812345678"), "numbers masked: {d}");
        assert!(!r.to_string().contains("李明"));
        let (_, x) = xml_at(&app, &format!("/open311/v2/requests/{id}.xml")).await;
        assert_eq!(x.name, "service_requests");
        let req = x.child("request");
        assert_eq!(req.text_of("service_request_id"), id);
        assert_eq!(req.text_of("status"), "open");
        assert!(is_rfc3339_with_offset(req.text_of("requested_datetime")));
        assert_eq!(req.child("extended_attributes").text_of("workflow_status_label"), "已上报");
        let (_, t) = json_at(&app, &format!("/open311/v2/tokens/{token}.json")).await;
        assert_eq!(t, json!([{"service_request_id": id, "token": token}]));
        let (_, x) = xml_at(&app, &format!("/open311/v2/tokens/{token}.xml")).await;
        assert_eq!(x.child("request").text_of("service_request_id"), id);
        let (st, _) = json_at(&app, "/open311/v2/tokens/NOSUCHTOKEN.json").await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // Everything in the query string, XML answer, a grid code instead of a point.
        let r = app
            .client
            .post(format!("{}/open311/v2/requests.xml", app.base))
            .query(&[
                ("api_key", k.as_str()),
                ("service_code", "SQ07"),
                ("address_id", OTHER_BUILDING),
                ("description", "3楼楼道堆放杂物"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/xml; charset=utf-8");
        let x = parse_xml(&r.text().await.unwrap());
        let id2 = x.child("request").text_of("service_request_id").to_string();
        let (_, c) = app.get(&format!("/api/v1/cases/{id2}"), &admin).await;
        assert_eq!(c["grid"]["code"], OTHER_BUILDING);
        assert_eq!(c["description"], "3楼楼道堆放杂物");

        // An address alone goes to the key's grid, with the address kept in the description.
        let (st, body) = post_form(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ01"),
                ("address_string", "人民路12号门口"),
                ("description", "垃圾堆积"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let id3 = serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, c) = app.get(&format!("/api/v1/cases/{id3}"), &admin).await;
        assert_eq!(c["grid"]["code"], DISTRICT);
        assert!(c["description"].as_str().unwrap().contains("人民路12号门口"));

        // A retried POST with the same Idempotency-Key makes one case.
        let before = app.count("cases").await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let r = app
                .client
                .post(format!("{}/open311/v2/requests.json", app.base))
                .header("Idempotency-Key", "retry-1")
                .form(&[
                    ("api_key", k.as_str()),
                    ("service_code", "SQ07"),
                    ("address_id", BUILDING),
                    ("description", "楼道堆物"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            ids.push(r.json::<Value>().await.unwrap()[0]["service_request_id"].clone());
        }
        assert_eq!(ids[0], ids[1]);
        assert_eq!(app.count("cases").await, before + 1);
    }
}

#[tokio::test]
async fn errors_follow_the_spec_and_leave_nothing_behind() {
    for app in apps().await {
        let k = key(&app, BUILDING, 1000).await;
        let (lat, lng) = centre(&app, BUILDING).await;
        let (olat, olng) = centre(&app, OTHER_BUILDING).await;
        let before = (app.count("cases").await, app.count("open311_requests").await);
        let too_long = "楼".repeat(4001);
        type Refusal<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);
        let cases: Vec<Refusal> = vec![
            (
                vec![("service_code", "SQ07"), ("address_id", BUILDING), ("description", "楼道堆物")],
                StatusCode::FORBIDDEN,
                "api_key",
            ),
            (
                vec![
                    ("api_key", "gz_wrong"),
                    ("service_code", "SQ07"),
                    ("address_id", BUILDING),
                    ("description", "楼道堆物"),
                ],
                StatusCode::FORBIDDEN,
                "api_key",
            ),
            (
                vec![("api_key", k.as_str()), ("address_id", BUILDING), ("description", "楼道堆物")],
                StatusCode::BAD_REQUEST,
                "service_code",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "XX01"),
                    ("address_id", BUILDING),
                    ("description", "楼道堆物"),
                ],
                StatusCode::NOT_FOUND,
                "service_code",
            ),
            (
                vec![("api_key", k.as_str()), ("service_code", "SQ07"), ("description", "楼道堆物")],
                StatusCode::BAD_REQUEST,
                "location",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "SQ07"),
                    ("lat", "north"),
                    ("long", lng.as_str()),
                    ("description", "楼道堆物"),
                ],
                StatusCode::BAD_REQUEST,
                "lat",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "SQ07"),
                    ("lat", lat.as_str()),
                    ("description", "楼道堆物"),
                ],
                StatusCode::BAD_REQUEST,
                "together",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "SQ07"),
                    ("lat", olat.as_str()),
                    ("long", olng.as_str()),
                    ("description", "楼道堆物"),
                ],
                StatusCode::FORBIDDEN,
                "outside_key_scope",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "SQ07"),
                    ("address_id", BUILDING),
                    ("description", too_long.as_str()),
                ],
                StatusCode::BAD_REQUEST,
                "description",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "SQ03"),
                    ("address_id", BUILDING),
                    ("description", "飞线"),
                    ("attribute[floor]", "六"),
                ],
                StatusCode::BAD_REQUEST,
                "invalid_attribute",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "SQ03"),
                    ("address_id", BUILDING),
                    ("description", "飞线"),
                    ("attribute[colour]", "red"),
                ],
                StatusCode::BAD_REQUEST,
                "unknown_attribute",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("jurisdiction_id", "110101"),
                    ("service_code", "SQ07"),
                    ("address_id", BUILDING),
                    ("description", "楼道堆物"),
                ],
                StatusCode::NOT_FOUND,
                "jurisdiction_id",
            ),
            (
                vec![
                    ("api_key", k.as_str()),
                    ("service_code", "SQ07"),
                    ("address_id", BUILDING),
                    ("description", "楼道堆物"),
                    ("media_url", "file:///etc/passwd"),
                ],
                StatusCode::BAD_REQUEST,
                "media_url",
            ),
        ];
        for (form, status, says) in cases {
            for ext in ["json", "xml"] {
                let (st, body) = post_form(&app, &format!("/open311/v2/requests.{ext}"), &form).await;
                assert_eq!(st, status, "[{}] {form:?}: {body}", app.engine);
                let description = if ext == "json" {
                    let v: Value = serde_json::from_str(&body).unwrap();
                    assert_json_error(&v, status);
                    v[0]["description"].as_str().unwrap().to_string()
                } else {
                    let x = parse_xml(&body);
                    assert_eq!(x.name, "errors");
                    assert_eq!(x.child("error").text_of("code"), status.as_u16().to_string());
                    x.child("error").text_of("description").to_string()
                };
                assert!(description.contains(says), "{form:?}: {description}");
            }
        }
        assert_eq!(
            (app.count("cases").await, app.count("open311_requests").await),
            before,
            "refusals store nothing"
        );

        // A revoked key stops at once; a slow key is held to its rate.
        let revoked = keys::find(&app.db, &k).await.unwrap().unwrap();
        keys::revoke(&app.db, Actor::System("test"), revoked.id, "test").await.unwrap();
        let (st, _) = post_form(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ07"),
                ("address_id", BUILDING),
                ("description", "楼道堆物"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let slow = key(&app, BUILDING, 2).await;
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let (st, e) = json_at(&app, &format!("/open311/v2/services.json?api_key={slow}")).await;
            if st == StatusCode::TOO_MANY_REQUESTS {
                assert_json_error(&e, st);
            }
            statuses.push(st);
        }
        // Five calls at two a minute: whichever minute they fall in, some are refused.
        assert_eq!(statuses[..2], [StatusCode::OK, StatusCode::OK]);
        assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
        let (st, _) = post_form(&app, "/open311/v2/discovery.json", &[]).await;
        assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    }
}

#[tokio::test]
async fn search_filters_scope_and_withholds_private_descriptions() {
    for app in apps().await {
        let (st, all) = json_at(&app, "/open311/v2/requests.json").await;
        assert_eq!(st, StatusCode::OK);
        let all = all.as_array().unwrap().clone();
        assert!(!all.is_empty() && all.len() <= 1000);
        let now = jiff::Timestamp::now();
        let ninety = jiff::SignedDuration::from_hours(24 * 90);
        for r in &all {
            assert_request_fields(r);
            let at: jiff::Timestamp = r["requested_datetime"].as_str().unwrap().parse().unwrap();
            assert!(
                at >= now - ninety - jiff::SignedDuration::from_secs(60),
                "default: the last 90 days"
            );
        }
        // Private cases (disputes) keep their descriptions in.
        let (_, private) = json_at(&app, "/open311/v2/requests.json?service_code=SQ08").await;
        let private = private.as_array().unwrap();
        assert!(!private.is_empty(), "the demo has disputes");
        for r in private {
            assert_eq!(r["service_code"], "SQ08");
            assert!(r["description"].is_null(), "{r}");
            assert_eq!(r["extended_attributes"]["private"], true);
        }
        let (_, x) = xml_at(&app, "/open311/v2/requests.xml?service_code=SQ08").await;
        let requests = x.all("request");
        assert_eq!(requests.len(), private.len(), "the XML lists the same disputes");
        assert!(requests.iter().all(|r| r.text_of("description").is_empty()));

        // Status filters.
        let (_, closed) = json_at(&app, "/open311/v2/requests.json?status=closed").await;
        let closed = closed.as_array().unwrap();
        assert!(!closed.is_empty() && closed.iter().all(|r| r["status"] == "closed"));
        let (_, open) = json_at(&app, "/open311/v2/requests.json?status=open").await;
        let open = open.as_array().unwrap();
        assert!(!open.is_empty() && open.iter().all(|r| r["status"] == "open"));
        let (_, both) = json_at(&app, "/open311/v2/requests.json?status=open,closed").await;
        assert_eq!(both.as_array().unwrap().len(), all.len());

        // A date window, and ids (which override every other filter).
        let (_, week) = json_at(
            &app,
            "/open311/v2/requests.json?start_date=2026-01-01T00:00:00%2B08:00&end_date=2026-01-08T00:00:00%2B08:00",
        )
        .await;
        for r in week.as_array().unwrap() {
            let at = r["requested_datetime"].as_str().unwrap();
            assert!(("2026-01-01".."2026-01-08").contains(&&at[..10]), "{at}");
        }
        let ids: Vec<&str> = all.iter().take(3).map(|r| r["service_request_id"].as_str().unwrap()).collect();
        let (_, some) = json_at(
            &app,
            &format!(
                "/open311/v2/requests.json?service_request_id={}&status=closed&service_code=ZZ",
                ids.join(",")
            ),
        )
        .await;
        let mut got: Vec<&str> = some
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap())
            .collect();
        let mut want = ids.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        let (_, x) = xml_at(&app, &format!("/open311/v2/requests.xml?service_request_id={}", ids.join(","))).await;
        assert_eq!(x.all("request").len(), 3);

        // The pagination extension, and a key limited to one building sees only that building.
        let (_, page) = json_at(&app, "/open311/v2/requests.json?page_size=5&page=2").await;
        let page: Vec<&Value> = page.as_array().unwrap().iter().collect();
        assert_eq!(page.len(), 5.min(all.len().saturating_sub(5)));
        if all.len() > 5 {
            assert_eq!(page[0]["service_request_id"], all[5]["service_request_id"]);
        }
        let k = key(&app, BUILDING, 100).await;
        let (_, mine) = json_at(&app, &format!("/open311/v2/requests.json?api_key={k}")).await;
        assert!(!mine.as_array().unwrap().is_empty(), "the building has requests in the window");
        // (A private case is placed no finer than its community.)
        assert!(mine.as_array().unwrap().iter().all(|r| {
            let at = r["address_id"].as_str().unwrap();
            at.starts_with(BUILDING) || (r["extended_attributes"]["private"] == true && BUILDING.starts_with(at))
        }));
        let outside = all
            .iter()
            .find(|r| !r["address_id"].as_str().unwrap().starts_with(BUILDING))
            .unwrap();
        let (st, _) = json_at(
            &app,
            &format!(
                "/open311/v2/requests/{}.json?api_key={k}",
                outside["service_request_id"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // Bad filters.
        for q in [
            "start_date=yesterday",
            "status=pending",
            "service_request_id=42",
            "page_size=5000",
            "end_date=2026-01-01T00:00:00Z&start_date=2026-02-01T00:00:00Z",
        ] {
            let (st, e) = json_at(&app, &format!("/open311/v2/requests.json?{q}")).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{q}");
            assert_json_error(&e, StatusCode::BAD_REQUEST);
        }
        let (st, _) = json_at(&app, "/open311/v2/requests/not-an-id.json").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn cli_issues_and_revokes_keys() {
    for app in apps().await {
        let bin = env!("CARGO_BIN_EXE_gongzhi");
        let run = |args: Vec<String>| {
            let url = app.url.clone();
            std::process::Command::new(bin)
                .arg("api-key")
                .args(&args[..1])
                .arg("--database-url")
                .arg(url)
                .args(&args[1..])
                .output()
                .unwrap()
        };
        let out = run(vec![
            "add".into(),
            "--grid".into(),
            BUILDING.into(),
            "--name".into(),
            "市12345热线".into(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let secret = stdout.lines().last().unwrap().trim().to_string();
        assert!(secret.starts_with("gz_"), "{stdout}");
        let form = [
            ("api_key", secret.as_str()),
            ("service_code", "SQ07"),
            ("address_id", BUILDING),
            ("description", "楼道堆物"),
        ];
        let (st, body) = post_form(&app, "/open311/v2/requests.json", &form).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let list = run(vec!["list".into()]);
        assert!(String::from_utf8(list.stdout).unwrap().contains("市12345热线"));
        let out = run(vec![
            "revoke".into(),
            "--key".into(),
            secret.clone(),
            "--reason".into(),
            "合同到期".into(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (st, _) = post_form(&app, "/open311/v2/requests.json", &form).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let again = run(vec!["revoke".into(), "--key".into(), secret.clone()]);
        assert!(!again.status.success(), "a revoked key cannot be revoked again");
        // Issued and revoked: both in the audit log.
        let admin = app.token("admin").await;
        let (_, log) = app.get("/api/v1/audit?action=api_key.revoke", &admin).await;
        assert_eq!(log["items"][0]["reason"], "合同到期");
        // A secret is never stored: the key row holds its SHA-256, and no column of the keys or of
        // the audit log holds the secret itself.
        let hashes: Vec<String> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, String>("SELECT key_hash FROM api_keys")
            .fetch_all(p)
            .await)
        .unwrap();
        assert!(
            hashes.contains(&sha256_hex(&secret)),
            "the key is stored as the SHA-256 of its secret"
        );
        let rows: Vec<String> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, String>(
            "SELECT key_hash || '|' || key_prefix || '|' || name FROM api_keys \
             UNION ALL SELECT target_id || '|' || reason || '|' || detail FROM audit_log"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| !r.contains(&secret)), "the secret is in no key or audit row");
    }
}

#[tokio::test]
async fn a_districts_new_question_becomes_a_service_attribute() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let fields = json!([{"code": "blocked", "datatype": "singlevaluelist", "required": true, "description": "是否堵塞消防通道",
                              "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]}]);
        let (st, bad) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&admin),
                Some(json!({"fields": [{"code": "x y", "datatype": "string", "description": "?"}]})),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let (st, c) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&admin),
                Some(json!({"fields": fields})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["fields"], fields);
        let (_, def) = json_at(&app, "/open311/v2/services/SQ07.json").await;
        assert_eq!(def["attributes"][0]["code"], "blocked");
        assert_eq!(def["attributes"][0]["required"], true);
        let k = key(&app, DISTRICT, 100).await;
        let form = [
            ("api_key", k.as_str()),
            ("service_code", "SQ07"),
            ("address_id", BUILDING),
            ("description", "楼道堆物"),
        ];
        let (st, body) = post_form(&app, "/open311/v2/requests.json", &form).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(body.contains("attribute_required") && body.contains("是否堵塞消防通道"), "{body}");
        let mut answered = form.to_vec();
        answered.push(("attribute[blocked]", "yes"));
        let (st, body) = post_form(&app, "/open311/v2/requests.json", &answered).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        // The JSON API takes the same answers.
        let (st, c) = app
            .post(
                "/api/v1/cases",
                &admin,
                json!({"category": "SQ07", "description": "楼道堆物", "grid": BUILDING, "attributes": {"blocked": "no"}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        let (_, c) = app.get(&format!("/api/v1/cases/{}", c["id"].as_str().unwrap()), &admin).await;
        assert_eq!(c["attributes"], json!({"blocked": "no"}));
    }
}

/// Two revocations of one key racing: one succeeds, the other is told it is already revoked, and
/// the audit log holds one entry.
#[tokio::test]
async fn a_racing_double_revoke_is_logged_once() {
    for app in apps().await {
        let (key, _) = keys::add(&app.db, Actor::System("test"), "411602", "race", 10).await.unwrap();
        let (a, b) = tokio::join!(
            keys::revoke(&app.db, Actor::System("one"), key.id, "到期"),
            keys::revoke(&app.db, Actor::System("two"), key.id, "到期")
        );
        let codes = [
            a.map(|_| "ok").unwrap_or_else(|e| e.code),
            b.map(|_| "ok").unwrap_or_else(|e| e.code),
        ];
        assert!(
            codes.contains(&"ok") && codes.contains(&"already_revoked"),
            "[{}] {codes:?}",
            app.engine
        );
        let id = key.id.to_string();
        let logged: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'api_key.revoke' AND target_id = $1"
        )
        .bind(&id)
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(logged, 1, "[{}]", app.engine);
    }
}
