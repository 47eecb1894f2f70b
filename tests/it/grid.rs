//! The grid API and the public grid page.

use geo::{BoundingRect, Contains, Intersects, Polygon, polygon};
use gongzhi::grid::rules;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{apps, code};

fn square(lng: f64, lat: f64, s: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lng, lat], [lng + s, lat], [lng + s, lat + s], [lng, lat + s], [lng, lat]]]})
}

#[tokio::test]
async fn grid_shape_and_counts() {
    for app in apps().await {
        let t = app.token("admin").await;
        let (st, g) = app.get("/api/v1/grids/411602", &t).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(g["code"], "411602");
        assert_eq!(g["level"], 1);
        assert!(g["parent"].is_null());
        assert!(g["leader"]["name"].as_str().unwrap().chars().count() >= 2);
        assert!(g["leader"]["phone"].as_str().unwrap().len() >= 11);
        assert_eq!(g["boundary"]["type"], "Polygon");
        let (lat, lng) = (g["center"]["lat"].as_f64().unwrap(), g["center"]["lng"].as_f64().unwrap());
        assert!((33.5..33.8).contains(&lat) && (114.5..114.8).contains(&lng), "around Zhoukou");
        assert_eq!(
            g["counts"]["residents"].as_i64().unwrap(),
            app.count("residents").await,
            "[{}]",
            app.engine
        );
        assert_eq!(g["counts"]["households"].as_i64().unwrap(), app.count("households").await);
        assert_eq!(g["counts"]["children"], 1);

        // Walk down to a building: every level's counts add up to its parent's.
        let mut code_ = "411602".to_string();
        for level in 2..=5 {
            let (st, kids) = app.get(&format!("/api/v1/grids/{code_}/children?per_page=100"), &t).await;
            assert_eq!(st, StatusCode::OK);
            let items = kids["items"].as_array().unwrap();
            assert_eq!(kids["total"].as_i64().unwrap() as usize, items.len());
            let (_, parent) = app.get(&format!("/api/v1/grids/{code_}"), &t).await;
            let sum: i64 = items.iter().map(|k| k["counts"]["residents"].as_i64().unwrap()).sum();
            assert_eq!(
                sum,
                parent["counts"]["residents"].as_i64().unwrap(),
                "[{}] residents under {code_}",
                app.engine
            );
            for k in items {
                assert_eq!(k["level"], level);
                assert_eq!(k["parent"], code_.as_str());
                assert!(k["leader"]["name"].is_string());
            }
            code_ = items[0]["code"].as_str().unwrap().to_string();
        }
        assert_eq!(code_.len(), 18);

        // Paging.
        let (_, page) = app.get("/api/v1/grids/411602001/children?per_page=1&page=2", &t).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        assert_eq!(page["items"][0]["code"], "411602001002");
        let (st, v) = app.get("/api/v1/grids/411602001/children?per_page=1000", &t).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code(&v), "invalid_per_page");
        let (st, _) = app.get("/api/v1/grids/411602999", &t).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn creating_a_grid_checks_code_kind_polygon_and_fit() {
    for app in apps().await {
        let t = app.token("admin").await;
        let (_, compound) = app.get("/api/v1/grids/411602001001001", &t).await;
        // Boundaries are cells, not rectangles: work from the compound's box and find open ground.
        let outline = rules::parse_boundary(&compound["boundary"]).unwrap();
        let (min_lat, min_lng, max_lat, max_lng) = outline.bbox;
        let (_, kids) = app.get("/api/v1/grids/411602001001001/children?per_page=100", &t).await;
        let footprints: Vec<Value> = kids["items"].as_array().unwrap().iter().map(|k| k["boundary"].clone()).collect();
        let buildings: Vec<_> = footprints.iter().map(|b| rules::parse_boundary(b).unwrap().polygon).collect();
        let open_a = free_square(&outline.polygon, &buildings, None);
        let open_b = free_square(&outline.polygon, &buildings, Some(&open_a));
        let existing = compound["counts"]["children"].as_i64().unwrap();
        let grids_before = app.count("grids").await;
        let audit_before = app.count("audit_log").await;
        let leader = json!({"name": "周建国", "phone": "13903941234"});
        let new_code = format!("411602001001001{:03}", existing + 1);
        let base = |boundary: Value| json!({"parent": "411602001001001", "code": new_code, "name": "新建楼", "kind": "building", "boundary": boundary, "leader": leader});

        let bowtie = json!({"type": "Polygon", "coordinates": [[[min_lng, min_lat], [max_lng, max_lat], [max_lng, min_lat], [min_lng, max_lat], [min_lng, min_lat]]]});
        let cases: Vec<(Value, &str)> = vec![
            (base(bowtie), "invalid_boundary"),
            (
                base(json!({"type": "Polygon", "coordinates": [[[min_lng, min_lat], [max_lng, min_lat], [max_lng, max_lat]]]})),
                "invalid_boundary",
            ),
            (
                base(json!({"type": "Point", "coordinates": [min_lng, min_lat]})),
                "invalid_boundary",
            ),
            (base(square(min_lng - 0.05, min_lat - 0.05, 0.01)), "boundary_outside_parent"),
            // The first building's own footprint overlaps it.
            (base(footprints[0].clone()), "boundary_overlap"),
            (
                {
                    let mut v = base(square(min_lng, min_lat, 0.0001));
                    v["code"] = json!("411602001001002001");
                    v
                },
                "invalid_grid_code",
            ),
            (
                {
                    let mut v = base(square(min_lng, min_lat, 0.0001));
                    v["kind"] = json!("compound");
                    v
                },
                "invalid_grid_kind",
            ),
            (
                {
                    let mut v = base(square(min_lng, min_lat, 0.0001));
                    v["leader"]["phone"] = json!("12345");
                    v
                },
                "invalid_phone",
            ),
        ];
        for (body, want) in cases {
            let (st, v) = app.post("/api/v1/grids", &t, body).await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {want}: {v}", app.engine);
            assert_eq!(code(&v), want, "[{}]", app.engine);
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "Chinese message"
            );
        }
        assert_eq!(app.count("grids").await, grids_before, "nothing half-written");
        assert_eq!(app.count("audit_log").await, audit_before);

        // A small square on open ground between the footprints fits.
        let ok = base(to_json(&open_a));
        let (st, v) = app.post("/api/v1/grids", &t, ok.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {v}", app.engine);
        assert_eq!(v["level"], 5);
        assert_eq!(v["leader"]["name"], "周建国");
        let (_, parent) = app.get("/api/v1/grids/411602001001001", &t).await;
        assert_eq!(parent["counts"]["children"].as_i64().unwrap(), existing + 1);
        let (st, v) = app.post("/api/v1/grids", &t, ok).await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert_eq!(code(&v), "duplicate_grid_code");
        let (st, _) = app.post("/api/v1/grids", &t, json!({"parent": "411602009", "code": "411602009001", "name": "x", "kind": "community", "boundary": square(0.0, 0.0, 1.0), "leader": leader})).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(app.count("audit_log").await, audit_before + 1);

        // Shrinking the compound so that it no longer holds its buildings is refused, unchanged.
        let small = to_json(&open_a);
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/grids/411602001001001",
                Some(&t),
                Some(json!({"boundary": small})),
            )
            .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "boundary_excludes_child"),
            "[{}] {v}",
            app.engine
        );
        let (_, after) = app.get("/api/v1/grids/411602001001001", &t).await;
        assert_eq!(
            after["boundary"], compound["boundary"],
            "[{}] the boundary is unchanged",
            app.engine
        );

        // Racing creations of overlapping siblings: the check runs in the writing transaction, so
        // exactly one of them lands.
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let (client, base, t) = (app.client.clone(), app.base.clone(), t.clone());
                let mut body = base_for_race(&new_code, i, to_json(&open_b));
                body["leader"] = leader.clone();
                tokio::spawn(async move {
                    let r = client
                        .post(format!("{base}/api/v1/grids"))
                        .bearer_auth(t)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    let st = r.status();
                    (st, r.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut created = 0;
        for r in racers {
            let (st, v) = r.await.unwrap();
            match st {
                StatusCode::CREATED => created += 1,
                _ => assert_eq!(code(&v), "boundary_overlap", "[{}] {v}", app.engine),
            }
        }
        assert_eq!(created, 1, "[{}] one of the overlapping siblings", app.engine);
    }
}

/// A small square inside `parent` clear of every footprint and of `avoid`, found by a scan.
fn free_square(parent: &Polygon<f64>, footprints: &[Polygon<f64>], avoid: Option<&Polygon<f64>>) -> Polygon<f64> {
    let r = parent.bounding_rect().unwrap();
    let side = r.width().min(r.height()) * 0.04;
    for i in 1..40 {
        for j in 1..40 {
            let (x, y) = (r.min().x + r.width() * i as f64 / 40.0, r.min().y + r.height() * j as f64 / 40.0);
            let sq = polygon![(x: x, y: y), (x: x + side, y: y), (x: x + side, y: y + side), (x: x, y: y + side), (x: x, y: y)];
            // A margin round the square, so rounding to 1e-7 degrees cannot make it touch.
            let grown = polygon![(x: x - side * 0.2, y: y - side * 0.2), (x: x + side * 1.2, y: y - side * 0.2), (x: x + side * 1.2, y: y + side * 1.2), (x: x - side * 0.2, y: y + side * 1.2), (x: x - side * 0.2, y: y - side * 0.2)];
            if parent.contains(&grown) && !footprints.iter().chain(avoid).any(|b| b.intersects(&grown)) {
                return sq;
            }
        }
    }
    panic!("no open ground in the compound");
}

fn to_json(p: &Polygon<f64>) -> Value {
    serde_json::from_str(&rules::to_geojson(p)).unwrap()
}

/// A new building under 411602001001001 numbered after `taken`, `i` places on.
fn base_for_race(taken: &str, i: u64, boundary: Value) -> Value {
    let next: u64 = taken[15..].parse::<u64>().unwrap() + 1 + i;
    json!({"parent": "411602001001001", "code": format!("411602001001001{next:03}"), "name": format!("竞争楼{i}"), "kind": "building", "boundary": boundary})
}

#[tokio::test]
async fn changing_a_leader_shows_on_the_public_page() {
    for app in apps().await {
        let t = app.token("street").await;
        let building = "411602001001001001";
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/grids/{building}"),
                Some(&t),
                Some(json!({"leader": {"name": "李秀英", "phone": "139 0394 5678"}})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        assert_eq!(v["leader"]["phone"], "13903945678");
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/grids/{building}"),
                Some(&t),
                Some(json!({"leader": {"name": "", "phone": "13903945678"}})),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code(&v), "invalid_leader");

        // Public, no login: this grid's people and the chain up to the street.
        let r = app.client.get(format!("{}/g/{building}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("李秀英") && html.contains("tel:13903945678"), "[{}]", app.engine);
        let (_, street) = app.get("/api/v1/grids/411602001", &t).await;
        assert!(html.contains(street["name"].as_str().unwrap()));
        assert!(html.contains(street["leader"]["name"].as_str().unwrap()));
        assert!(!html.contains("川汇区</h2>"), "the district's own leaders are not listed");
        let r = app.client.get(format!("{}/g/411602999999", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.text().await.unwrap().contains("不存在"));
    }
}
