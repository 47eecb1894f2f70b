//! Open311 privacy (issue 11, item 3): numbers in any digits and with any separators masked,
//! private cases placed no finer than a neighbourhood, reads without a key limited per address.

use reqwest::StatusCode;
use serde_json::Value;

use crate::open311::{BUILDING, DISTRICT, assert_json_error, centre, fetch, json_at, key, parse_xml, post_form, xml_at};
use crate::open311_conformance::serve_like_production;
use crate::support::apps;

const MASK: &str = "[号码已隐去]";

#[tokio::test]
async fn numbers_in_any_digits_and_separators_are_masked() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        // Each number as the probe (and Chinese input methods) wrote it, between words.
        let numbers = [
            "138.1234.5678",
            "138_1234_5678",
            "１３８，１２３４，５６７８",
            "138—1234—5678",
            "138\t1234\t5678",
            "١٣٨١٢٣٤٥٦٧٨",
            "１３８１２３４５６７８",
            "411602.19900101.123X",
            "4116 0219 9001 0112 3x",
        ];
        let mut description = String::from("楼道有人飞线充电");
        for (i, n) in numbers.iter().enumerate() {
            description.push_str(&format!("联系{i}号{n}谢谢"));
        }
        description.push_str("，2026-11-25 在3号楼2单元");
        let (st, body) = post_form(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ03"),
                ("address_id", BUILDING),
                ("description", description.as_str()),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let id = serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut want = String::from("楼道有人飞线充电");
        for i in 0..numbers.len() {
            want.push_str(&format!("联系{i}号{MASK}谢谢"));
        }
        want.push_str("，2026-11-25 在3号楼2单元");
        // Read without a key, in both formats, alone and in the search.
        let (_, one) = json_at(&app, &format!("/open311/v2/requests/{id}.json")).await;
        assert_eq!(one[0]["description"], want.as_str(), "[{}]", app.engine);
        let (_, x) = xml_at(&app, &format!("/open311/v2/requests/{id}.xml")).await;
        assert_eq!(x.child("request").text_of("description"), want);
        let (_, all) = json_at(&app, "/open311/v2/requests.json?service_code=SQ03").await;
        let found = all
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service_request_id"] == id.as_str())
            .unwrap();
        assert_eq!(found["description"], want.as_str());
        // Staff still read what was written.
        let admin = app.token("admin").await;
        let (_, c) = app.get(&format!("/api/v1/cases/{id}"), &admin).await;
        assert_eq!(c["description"], description.as_str());
    }
}

/// At most two decimals: a hundredth of a degree.
fn coarse(x: &Value) -> bool {
    x.as_f64().is_some_and(|v| ((v * 100.0).round() - v * 100.0).abs() < 1e-6)
}

#[tokio::test]
async fn private_cases_publish_neither_point_nor_address() {
    for app in apps().await {
        let k = key(&app, DISTRICT, 1000).await;
        let (lat, lng) = centre(&app, BUILDING).await;
        let (st, body) = post_form(
            &app,
            "/open311/v2/requests.json",
            &[
                ("api_key", k.as_str()),
                ("service_code", "SQ08"),
                ("lat", lat.as_str()),
                ("long", lng.as_str()),
                ("address_string", "幸福路8号3单元501"),
                ("description", "邻居漏水纠纷"),
                ("media_url", "https://city.example/dispute.jpg"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let id = serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, r) = json_at(&app, &format!("/open311/v2/requests/{id}.json")).await;
        let r = &r[0];
        assert_eq!(r["extended_attributes"]["private"], true);
        for withheld in ["description", "address", "media_url"] {
            assert!(r[withheld].is_null(), "[{}] {withheld}: {r}", app.engine);
        }
        let (exact_lat, exact_lng): (f64, f64) = (lat.parse().unwrap(), lng.parse().unwrap());
        assert!(coarse(&r["lat"]) && coarse(&r["long"]), "[{}] {r}", app.engine);
        assert!((r["lat"].as_f64().unwrap() - exact_lat).abs() <= 0.005 + 1e-9);
        assert!((r["long"].as_f64().unwrap() - exact_lng).abs() <= 0.005 + 1e-9);
        let community = &BUILDING[..12];
        assert_eq!(r["address_id"], community, "no finer than the community");
        assert_eq!(r["extended_attributes"]["grid_code"], community);
        let (_, _, xml) = fetch(&app, &format!("/open311/v2/requests/{id}.xml")).await;
        let req = parse_xml(&xml).child("request").clone();
        assert_eq!(req.text_of("address"), "");
        assert!(req.text_of("lat").len() <= "114.62".len(), "{req:?}");
        assert!(!xml.contains("幸福路") && !xml.contains(&lat) && !xml.contains(BUILDING), "{xml}");
        // The demo's disputes in a search, read with a key or without: the same.
        let (_, keyed) = json_at(&app, &format!("/open311/v2/requests.json?service_code=SQ08&api_key={k}")).await;
        let (_, open) = json_at(&app, "/open311/v2/requests.json?service_code=SQ08").await;
        assert!(keyed.as_array().unwrap().len() > 1);
        for r in keyed.as_array().unwrap().iter().chain(open.as_array().unwrap()) {
            assert!(r["address"].is_null() && r["description"].is_null(), "{r}");
            assert!(r["lat"].is_null() || (coarse(&r["lat"]) && coarse(&r["long"])), "{r}");
            assert!(r["address_id"].as_str().unwrap().len() <= 12, "{r}");
        }
    }
}

#[tokio::test]
async fn reads_without_a_key_are_limited_per_client_address() {
    for app in apps().await {
        // Through `gongzhi serve`'s own serving function: the peer's address reaches the handler;
        // being on this host, the test speaks as a reverse proxy would (X-Forwarded-For).
        let (base, server) = serve_like_production(&app, None).await;
        // Start well inside a minute, so that the sixty-first call falls in the same one.
        let into_minute = gongzhi::db::now_ms().rem_euclid(60_000);
        if into_minute > 45_000 {
            tokio::time::sleep(std::time::Duration::from_millis((60_100 - into_minute) as u64)).await;
        }
        let get = |path: &str, from: &str| {
            app.client
                .get(format!("{base}/open311/v2/{path}"))
                .header("x-forwarded-for", from)
                .send()
        };
        for i in 0..60 {
            let path = if i % 2 == 0 { "discovery.json" } else { "services.xml" };
            let r = get(path, "198.51.100.7").await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "[{}] call {i}", app.engine);
        }
        let r = get("requests.json", "198.51.100.7").await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "[{}] the 61st read in a minute",
            app.engine
        );
        let after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&after));
        assert_json_error(&r.json().await.unwrap(), StatusCode::TOO_MANY_REQUESTS);
        let r = get("requests.xml", "198.51.100.7").await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(parse_xml(&r.text().await.unwrap()).child("error").text_of("code"), "429");
        // Another address has its own count; a key its own rate.
        let r = get("services.json", "198.51.100.8").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let k = key(&app, DISTRICT, 100).await;
        let r = get(&format!("services.json?api_key={k}"), "198.51.100.7").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "a key's reads count against the key");
        server.abort();
    }
}
