//! Where a case is: the case page's full place, its map with the point, the 导航 link, and the
//! answers to the category's questions, for cases from the API, `/g/{code}`, Open311 and the demo.

use gongzhi::audit::Actor;
use gongzhi::cases::place;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, page, sign_in};

const BUILDING: &str = "411602001001001001";

/// "street › community › compound › building" for a building, from the grid API (as the
/// district, who may read every node).
async fn expected_label(app: &App, token: &str, code: &str) -> (String, Vec<String>) {
    let mut names = Vec::new();
    for n in [9, 12, 15, 18] {
        let (st, g) = app.get(&format!("/api/v1/grids/{}", &code[..n]), token).await;
        assert_eq!(st, StatusCode::OK);
        names.push(g["name"].as_str().unwrap().to_string());
    }
    (names.join(" › "), names)
}

/// The number in `attr="…"` after `from`.
fn number_after(html: &str, from: usize, attr: &str) -> f64 {
    let at = html[from..].find(attr).unwrap_or_else(|| panic!("{attr} after {from}")) + from + attr.len();
    html[at..].split('"').next().unwrap().parse().unwrap()
}

/// The case map's view box and its pin's centre, if it has one.
fn map_of(html: &str) -> (Vec<f64>, Option<(f64, f64)>) {
    let svg = html.find("<svg class=\"map case-map\"").expect("the case map");
    let vb: Vec<f64> = html[svg..]
        .split("viewBox=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let end = svg + html[svg..].find("</svg>").unwrap();
    let pin = html[svg..end].find("class=\"pin\"").map(|p| {
        let p = svg + p;
        (number_after(html, p, "cx=\""), number_after(html, p, "cy=\""))
    });
    assert!(html[svg..end].matches("class=\"pin\"").count() <= 1);
    (vb, pin)
}

fn answer_shown(html: &str, question: &str, answer: &str) -> bool {
    html.contains(&format!("<dt>{question}</dt><dd>{answer}</dd>"))
}

async fn case_page(app: &App, cookie: &str, id: &str) -> String {
    let (st, html) = page(app, cookie, &format!("/console/cases/{id}")).await;
    assert_eq!(st, StatusCode::OK, "[{}] {id}", app.engine);
    html
}

#[tokio::test]
async fn the_case_page_shows_the_place_the_map_the_link_and_the_answers() {
    for app in apps().await {
        let token = app.token("building").await;
        let cookie = sign_in(&app, "building").await;
        let admin = app.token("admin").await;
        let (label, names) = expected_label(&app, &admin, BUILDING).await;

        // Through the API, with a point and answers.
        let (_, g) = app.get(&format!("/api/v1/grids/{BUILDING}"), &token).await;
        let (lat, lng) = (g["center"]["lat"].as_f64().unwrap(), g["center"]["lng"].as_f64().unwrap());
        let (st, c) = app
            .post(
                "/api/v1/cases",
                &token,
                json!({"category": "SQ03", "description": "楼道内飞线充电", "lat": lat, "lng": lng,
                       "attributes": {"floor": "6", "vehicle": "ebike"}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        let html = case_page(&app, &cookie, c["id"].as_str().unwrap()).await;
        assert!(html.contains(&format!(">{label}</p>")), "[{}] the full place {label}", app.engine);
        let (vb, pin) = map_of(&html);
        let (x, y) = pin.expect("the point is marked");
        assert!(
            x > vb[0] && x < vb[0] + vb[2] && y > vb[1] && y < vb[1] + vb[3],
            "pin {x},{y} inside {vb:?}"
        );
        // The building is drawn inside its compound, among its neighbours.
        assert!(html.contains(&format!("<title>{}</title>", names[2])) && html.contains("class=\"self\""));
        let geo = place::geo_uri(lat, lng, &format!("飞线充电 {} {}", names[2], names[3]));
        assert!(html.contains(&format!("href=\"{geo}\">导航</a>")), "[{}] {geo}", app.engine);
        assert!(!html.contains("未标注位置，"));
        assert!(answer_shown(&html, "所在楼层", "6") && answer_shown(&html, "车辆类型", "电动自行车"));

        // From the public grid page: no point and no questions asked; the page says so.
        let r = app.client.get(format!("{}/g/{BUILDING}", app.base)).send().await.unwrap();
        let form = r.text().await.unwrap();
        let key_at = form.find("name=\"key\" value=\"").unwrap() + "name=\"key\" value=\"".len();
        let r = app
            .client
            .post(format!("{}/g/{BUILDING}/report", app.base))
            .form(&[
                ("key", &form[key_at..key_at + 36]),
                ("category", "SQ03"),
                ("description", "有人在楼道里给电动车充电"),
                ("phone", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let tracking = r.headers()["location"]
            .to_str()
            .unwrap()
            .trim_start_matches("/track/")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let row = gongzhi::cases::store::by_tracking_code(&app.db, &tracking).await.unwrap().unwrap();
        let html = case_page(&app, &cookie, &row.id.to_string()).await;
        assert!(html.contains(&format!(">{label}</p>")));
        let (_, pin) = map_of(&html);
        assert!(pin.is_none() && html.contains("未标注位置") && !html.contains("geo:"));
        assert!(answer_shown(&html, "所在楼层", "未填写") && answer_shown(&html, "车辆类型", "未填写"));

        // Through Open311 with an address and no point: the address is shown apart.
        let key = gongzhi::apikeys::add(&app.db, Actor::System("test"), "411602", "测试接入", 100)
            .await
            .unwrap()
            .1;
        let r = app
            .client
            .post(format!("{}/open311/v2/requests.json", app.base))
            .form(&[
                ("api_key", key.as_str()),
                ("jurisdiction_id", "411602"),
                ("service_code", "SQ03"),
                ("address_id", BUILDING),
                ("address_string", "3单元东侧车棚"),
                ("description", "车棚里拉线充电"),
                ("attribute[floor]", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        let html = case_page(&app, &cookie, v[0]["service_request_id"].as_str().unwrap()).await;
        assert!(html.contains(&format!(">{label}</p>")) && html.contains("地址：3单元东侧车棚"));
        assert!(html.contains("未标注位置") && answer_shown(&html, "所在楼层", "1"));
        assert!(answer_shown(&html, "车辆类型", "未填写"));

        // A demo case answers its category's questions, and shows them by name.
        let admin_cookie = sign_in(&app, "admin").await;
        let rows: Vec<(uuid::Uuid, String, String)> = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
            "SELECT id, grid_code, attributes FROM cases WHERE category_code = 'SQ03' AND reporter_id IS NULL \
             AND source <> 'open311' AND attributes LIKE '%vehicle%' ORDER BY id LIMIT 1"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        let (id, grid, answers) = rows.first().expect("a demo 飞线充电 case with answers");
        let answers: Value = serde_json::from_str(answers).unwrap();
        let vehicle = match answers["vehicle"].as_str().unwrap() {
            "ebike" => "电动自行车",
            "emoto" => "电动摩托车",
            _ => "其他",
        };
        let html = case_page(&app, &admin_cookie, &id.to_string()).await;
        assert!(answer_shown(&html, "车辆类型", vehicle), "[{}] demo answers shown", app.engine);
        let (label, _) = expected_label(&app, &admin, grid).await;
        assert!(html.contains(&format!(">{label}</p>")) && map_of(&html).1.is_some() && html.contains("geo:"));
    }
}

#[tokio::test]
async fn places_for_a_page_of_cases_come_at_once() {
    for app in apps().await {
        let codes: Vec<String> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT DISTINCT grid_code FROM cases WHERE district = '411602' ORDER BY grid_code LIMIT 100"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert!(codes.len() > 20);
        let mut asked: Vec<&str> = codes.iter().map(String::as_str).collect();
        asked.push("411602001");
        asked.push("411602999999");
        let places = place::describe_many(&app.db, "411602", &asked).await.unwrap();
        assert_eq!(places.len(), asked.len());
        for c in &codes {
            let p = &places[c];
            assert_eq!(p.path.len(), 4, "{c}: {p:?}");
            assert_eq!(p.path[3].0, *c);
            assert_eq!(p.label.split(" › ").count(), 4);
        }
        assert_eq!(places["411602001"].path.len(), 1);
        // A code with no node is shown as the code, not a made-up name.
        assert_eq!(places["411602999999"].label, "411602999999");
        assert!(places["411602999999"].path.is_empty());
        // Another district's name is never borrowed.
        let other = place::describe_many(&app.db, "110101", &["411602001"]).await.unwrap();
        assert_eq!(other["411602001"].label, "411602001");
    }
}
