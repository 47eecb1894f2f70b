//! The authorisation matrix (issue 11, item 13): every operation of the OpenAPI document, called
//! anonymously and by every demo account, on an object inside and one outside the caller's
//! scope, against the table in `tests/authz_matrix.md` (how to read it: docs/authorization.md).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use gongzhi::demo::ACCOUNTS;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{App, apps, code};

const TABLE: &str = include_str!("../authz_matrix.md");

/// What a caller got, as the table writes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    /// `Y`: a read answered 2xx; a write got past authorisation.
    Allowed,
    /// `F`: 403.
    Forbidden,
    /// `H`: 404.
    Hidden,
    /// `L`: 401.
    Login,
}

impl Outcome {
    fn letter(self) -> char {
        match self {
            Outcome::Allowed => 'Y',
            Outcome::Forbidden => 'F',
            Outcome::Hidden => 'H',
            Outcome::Login => 'L',
        }
    }

    fn parse(c: char) -> Option<Outcome> {
        [Outcome::Allowed, Outcome::Forbidden, Outcome::Hidden, Outcome::Login]
            .into_iter()
            .find(|o| o.letter() == c)
    }
}

/// A cell: the outcome inside and outside.
type Cell = (Outcome, Outcome);

fn parse_cell(s: &str) -> Result<Cell, String> {
    let letters: Vec<char> = s.chars().collect();
    let one = |c: char| Outcome::parse(c).ok_or_else(|| format!("unknown outcome `{c}` in cell `{s}`"));
    match letters.as_slice() {
        ['S'] => Ok((Outcome::Allowed, Outcome::Hidden)),
        [c] => Ok((one(*c)?, one(*c)?)),
        [a, b] => Ok((one(*a)?, one(*b)?)),
        _ => Err(format!("a cell is `S`, or one or two of Y F H L: `{s}`")),
    }
}

/// The cell as the table would write these outcomes.
fn cell_text(inside: Outcome, outside: Option<Outcome>) -> String {
    match outside {
        None => inside.letter().to_string(),
        Some(o) if o == inside => inside.letter().to_string(),
        Some(Outcome::Hidden) if inside == Outcome::Allowed => "S".into(),
        Some(o) => format!("{}{}", inside.letter(), o.letter()),
    }
}

struct Row {
    line: usize,
    method: Method,
    path: String,
    send: String,
    cells: Vec<Cell>,
}

/// The callers, in the table's column order: no token, then every demo account.
fn callers() -> Vec<&'static str> {
    std::iter::once("anon").chain(ACCOUNTS.iter().map(|a| a.0)).collect()
}

/// The table's cells split, without the outer pipes.
fn cells_of(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

/// Every matrix row, and the placeholder names the file documents.
fn parse_table() -> (Vec<Row>, BTreeSet<String>) {
    let callers = callers();
    let mut rows = Vec::new();
    let mut documented = BTreeSet::new();
    let mut header: Option<String> = None;
    for (i, line) in TABLE.lines().enumerate() {
        let line_no = i + 1;
        if !line.trim_start().starts_with('|') {
            header = None;
            continue;
        }
        let cells = cells_of(line);
        if cells[0].starts_with("---") {
            continue;
        }
        let Some(kind) = header.clone() else {
            header = Some(cells[0].clone());
            if cells[0] == "method" {
                let mut want = vec!["method", "path", "send"];
                want.extend(&callers);
                want.push("rule");
                assert_eq!(
                    cells, want,
                    "authz_matrix.md line {line_no}: the columns are method, path, send, anon, every demo account, rule"
                );
            }
            continue;
        };
        match kind.as_str() {
            "placeholder" => {
                for name in cells[0].split('`').skip(1).step_by(2) {
                    documented.insert(name.to_string());
                }
            }
            "method" => {
                assert_eq!(
                    cells.len(),
                    callers.len() + 4,
                    "authz_matrix.md line {line_no}: wrong number of cells"
                );
                let parsed: Result<Vec<Cell>, String> = cells[3..3 + callers.len()].iter().map(|c| parse_cell(c)).collect();
                rows.push(Row {
                    line: line_no,
                    method: Method::from_bytes(cells[0].as_bytes()).unwrap_or_else(|_| panic!("line {line_no}: method")),
                    path: cells[1].clone(),
                    send: cells[2].trim_matches('`').to_string(),
                    cells: parsed.unwrap_or_else(|e| panic!("authz_matrix.md line {line_no}: {e}")),
                });
            }
            _ => {}
        }
    }
    assert!(rows.len() > 50, "the matrix has its rows: {}", rows.len());
    (rows, documented)
}

/// A path with every `{…}` segment made alike, to match the table's paths to the document's.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') && seg.ends_with('}') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// `{name}` placeholders in a template (JSON's own braces never hold a bare lowercase word).
fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        rest = &rest[at + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('}') {
            out.push(rest[..end].to_string());
        }
    }
    out
}

fn fill(template: &str, vars: &HashMap<String, String>) -> String {
    let mut s = template.to_string();
    for name in placeholders(template) {
        let v = vars
            .get(name.as_str())
            .unwrap_or_else(|| panic!("authz_matrix.md names an unknown object {{{name}}} in `{template}`"));
        s = s.replace(&format!("{{{name}}}"), v);
    }
    s
}

/// The objects the table's placeholders stand for.
struct Objects {
    fixed: HashMap<&'static str, String>,
    inside: HashMap<&'static str, String>,
    outside: HashMap<&'static str, String>,
}

/// A call that must work while the matrix is set up.
async fn ok(app: &App, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let (st, v) = app.call(method.clone(), path, Some(token), body).await;
    assert!(st.is_success(), "[{}] setting up: {method} {path}: {st} {v}", app.engine);
    v
}

async fn unit_of(app: &App, token: &str) -> String {
    let me = ok(app, Method::GET, "/api/v1/me", token, None).await;
    me["posts"][0]["unit_id"].as_str().expect("a unit-held post").to_string()
}

async fn upload(app: &App, token: &str, case: &str, bytes: &[u8]) -> String {
    let r = app
        .client
        .post(format!("{}/api/v1/cases/{case}/attachments", app.base))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "[{}] setting up: a photo", app.engine);
    r.json::<Value>().await.unwrap()["sha256"].as_str().unwrap().to_string()
}

/// Report a case as `reporter`, add a photo, then take it through `steps` (token, action) to closed.
async fn closed_case(app: &App, reporter: &str, grid: &str, photo: &[u8], steps: &[(&str, Value)]) -> (String, String) {
    let body = json!({"category": "SQ03", "description": "矩阵测试：楼道飞线充电", "grid": grid});
    let c = ok(app, Method::POST, "/api/v1/cases", reporter, Some(body)).await;
    let id = c["id"].as_str().unwrap().to_string();
    let sha = upload(app, reporter, &id, photo).await;
    for (token, action) in steps {
        ok(
            app,
            Method::POST,
            &format!("/api/v1/cases/{id}/actions"),
            token,
            Some(action.clone()),
        )
        .await;
    }
    let c = ok(app, Method::GET, &format!("/api/v1/cases/{id}"), reporter, None).await;
    assert_eq!(c["status"], "closed", "[{}] setting up: the case is closed", app.engine);
    (id, sha)
}

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D];

/// Find or make every object the table names, inside and outside.
async fn objects(app: &App) -> Objects {
    let t = |u: &'static str| app.token(u);
    let (admin, community, building, department, property, resident, keeper) = (
        t("admin").await,
        t("community").await,
        t("building").await,
        t("department").await,
        t("property").await,
        t("resident").await,
        t("keeper").await,
    );
    let dept = unit_of(app, &department).await;
    let company = unit_of(app, &property).await;
    let shop_in = unit_of(app, &keeper).await;
    let (building_in, community_in, community_out) = ("411602001001001001", "411602001001", "411602001002");
    let compound = ok(app, Method::GET, "/api/v1/grids/411602001001001", &admin, None).await;
    assert_eq!(
        compound["property_company"]["id"],
        company.as_str(),
        "property serves building 1's compound"
    );

    // People: the resident account's own person and volunteer record; a volunteer of 金桂社区.
    let v_in = ok(app, Method::GET, "/api/v1/volunteers/me", &resident, None).await;
    assert_eq!(v_in["grid"], building_in);
    // An earning of each (points corrections reverse one).
    let earning = |v: Value| {
        let admin = admin.clone();
        async move {
            let path = format!("/api/v1/points/transactions?volunteer={}&per_page=50", v["id"].as_str().unwrap());
            let ledger = ok(app, Method::GET, &path, &admin, None).await;
            let earn = ledger["items"].as_array().unwrap().iter().find(|t| t["kind"] == "earn");
            earn.map(|t| t["id"].as_str().unwrap().to_string())
        }
    };
    let tx_in = earning(v_in.clone()).await.expect("the resident has earned points");
    let vs = ok(
        app,
        Method::GET,
        &format!("/api/v1/volunteers?grid={community_out}&per_page=50"),
        &admin,
        None,
    )
    .await;
    let mut outside = None;
    for v in vs["items"].as_array().unwrap() {
        if let Some(tx) = earning(v.clone()).await {
            outside = Some((v.clone(), tx));
            break;
        }
    }
    let (v_out, tx_out) = outside.expect("a volunteer of 金桂社区 who has earned points");
    assert_eq!(v_out["account_linked"], false, "the outside volunteer is no demo account's");
    let person = |v: &Value| v["resident_id"].as_str().unwrap().to_string();
    let (r_in, r_out) = (
        ok(app, Method::GET, &format!("/api/v1/residents/{}", person(&v_in)), &admin, None).await,
        ok(app, Method::GET, &format!("/api/v1/residents/{}", person(&v_out)), &admin, None).await,
    );
    let reveal = |r: &Value| {
        let path = format!("/api/v1/residents/{}/reveal", r["id"].as_str().unwrap());
        let admin = admin.clone();
        async move { ok(app, Method::POST, &path, &admin, Some(json!({"reason": "权限矩阵测试准备"}))).await["id_number"].clone() }
    };
    let (id_in, id_out) = (reveal(&r_in).await, reveal(&r_out).await);

    // A team of each community with an activity tomorrow, made by the district; the resident
    // leads the inside one.
    let mut teams = Vec::new();
    let mut activities = Vec::new();
    let tomorrow = gongzhi::db::now_ms() + 86_400_000;
    for (grid, name, leader) in [
        (community_in, "矩阵测试阳光队", v_in["id"].clone()),
        (community_out, "矩阵测试金桂队", Value::Null),
    ] {
        let body = json!({"kind": "community_governance", "name": name, "grid": grid, "leader": leader});
        let team = ok(app, Method::POST, "/api/v1/volunteer-teams", &admin, Some(body)).await["id"].clone();
        let body = json!({"title": "矩阵测试活动", "place": "社区广场", "grid": grid, "team": team, "capacity": 30,
            "starts_at": gongzhi::time::rfc3339_ms(tomorrow), "ends_at": gongzhi::time::rfc3339_ms(tomorrow + 7_200_000)});
        activities.push(ok(app, Method::POST, "/api/v1/activities", &admin, Some(body)).await["id"].clone());
        teams.push(team);
    }

    // Shops: the keeper's, and 金桂社区's love supermarket.
    let shops = ok(
        app,
        Method::GET,
        &format!("/api/v1/shops?grid={community_out}&kind=love_supermarket"),
        &admin,
        None,
    )
    .await;
    let shop_out = shops["items"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(shop_out, shop_in);
    let first_item = |shop: String| {
        let admin = admin.clone();
        async move {
            let items = ok(app, Method::GET, &format!("/api/v1/shops/{shop}/items"), &admin, None).await;
            items["items"][0]["id"].as_str().expect("the shop sells something").to_string()
        }
    };
    let (item_in, item_out) = (first_item(shop_in.clone()).await, first_item(shop_out.clone()).await);

    // Cases. Inside: the resident reports in building 1; the building accepts; the community sends
    // it to the department and whistles the property company; the department handles it; the
    // building checks it and the community closes it.
    let (case_in, photo_in) = closed_case(
        app,
        &resident,
        building_in,
        PNG,
        &[
            (&building, json!({"action": "accept"})),
            (&community, json!({"action": "dispatch", "unit": dept})),
            (&community, json!({"action": "whistle", "units": [company]})),
            (&department, json!({"action": "start"})),
            (&department, json!({"action": "handle", "note": "已处置"})),
            (&building, json!({"action": "verify"})),
            (&community, json!({"action": "close"})),
        ],
    )
    .await;
    // Outside: a second department reports in 金桂社区, is sent it and summoned, and handles it; the
    // district does the rest. No demo account but the district's and the street's reaches it.
    let units = ok(app, Method::GET, "/api/v1/units?kind=department&per_page=50", &admin, None).await;
    let dept2 = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .find(|u| *u != dept)
        .expect("a second department");
    let password = "Matrix-Dept2-Passphrase-9";
    let body = json!({"username": "matrixdept2", "password": password, "role": "department_handler", "unit": dept2});
    ok(app, Method::POST, "/api/v1/users", &admin, Some(body)).await;
    let other = app.token_pw("matrixdept2", password).await;
    let building_out = r_out["grid"].as_str().unwrap().to_string();
    let mut png2 = PNG.to_vec();
    png2.extend_from_slice(b"outside");
    let (case_out, photo_out) = closed_case(
        app,
        &other,
        &building_out,
        &png2,
        &[
            (&admin, json!({"action": "accept"})),
            (&admin, json!({"action": "dispatch", "unit": dept2})),
            (&admin, json!({"action": "whistle", "units": [dept2]})),
            (&other, json!({"action": "start"})),
            (&other, json!({"action": "handle", "note": "已处置"})),
            (&admin, json!({"action": "verify"})),
            (&admin, json!({"action": "close"})),
        ],
    )
    .await;

    // Broadcasts: an instruction at 阳光社区 to all its levels; one at 金桂社区 to its community level.
    let body = json!({"grid": community_in, "title": "矩阵指令", "body": "x", "kind": "instruction"});
    let broadcast_in = ok(app, Method::POST, "/api/v1/broadcasts", &admin, Some(body)).await["id"].clone();
    let body = json!({"grid": community_out, "title": "矩阵通知", "body": "x", "levels": [3]});
    let broadcast_out = ok(app, Method::POST, "/api/v1/broadcasts", &admin, Some(body)).await["id"].clone();

    // Councils: building 1's compound's, and 金桂社区's first; an opinion, a meeting, a
    // resolution and a vice-chair of each.
    let council_of = |community: &'static str, compound: Option<&'static str>| {
        let admin = admin.clone();
        async move {
            let list = ok(
                app,
                Method::GET,
                &format!("/api/v1/councils?grid={community}&per_page=100"),
                &admin,
                None,
            )
            .await;
            let c = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| compound.is_none_or(|x| c["compound"] == x))
                .expect("a council")
                .clone();
            let (id, code) = (c["id"].as_str().unwrap().to_string(), c["compound"].as_str().unwrap().to_string());
            let first = |path: String| {
                let admin = admin.clone();
                async move {
                    ok(app, Method::GET, &path, &admin, None).await["items"][0]["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                }
            };
            let opinion = first(format!("/api/v1/opinions?grid={code}")).await;
            let meeting = first(format!("/api/v1/meetings?grid={code}")).await;
            let resolution = first(format!("/api/v1/resolutions?grid={code}")).await;
            let detail = ok(app, Method::GET, &format!("/api/v1/councils/{id}"), &admin, None).await;
            let member = detail["members_list"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["post"] == "vice_chair" && m["ended_at"].is_null())
                .expect("a vice-chair")["id"]
                .as_str()
                .unwrap()
                .to_string();
            [
                ("council", id),
                ("council_grid", code),
                ("opinion", opinion),
                ("meeting", meeting),
                ("resolution", resolution),
                ("member", member),
            ]
        }
    };
    let councils_in = council_of(community_in, Some("411602001001001")).await;
    let councils_out = council_of(community_out, None).await;
    // Renovation: a project over building 1's compound and one over the outside building's, each
    // with a plan v1 (the district creates them).
    let (compound_in, compound_out) = (building_in[..15].to_string(), building_out[..15].to_string());
    let mut renovation = Vec::new();
    for c in [&compound_in, &compound_out] {
        let body = json!({"title": "矩阵改造项目", "compounds": [c]});
        let id = ok(app, Method::POST, "/api/v1/renovation/projects", &admin, Some(body)).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/v1/renovation/projects/{id}/plans");
        ok(app, Method::POST, &path, &admin, Some(json!({"text": "矩阵方案"}))).await;
        let r = app
            .client
            .post(format!("{}/api/v1/renovation/projects/{id}/plans/1/files?name=plan.png", app.base))
            .bearer_auth(&admin)
            .body(PNG.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "[{}] setting up: a plan file", app.engine);
        let sha = r.json::<Value>().await.unwrap()["sha256"].as_str().unwrap().to_string();
        renovation.push((id, sha));
    }

    // Owners' decisions: one open at the first compound, one at 金桂社区's first (both have a
    // property register); a paper ballot with the same photo on each.
    let (estate_in, estate_out) = ("411602001001001", "411602001002001");
    let mut decisions = Vec::new();
    for c in [estate_in, estate_out] {
        let now = gongzhi::db::now_ms();
        let body = json!({"compound": c, "matter": 4, "title": "矩阵表决", "body": "x",
            "opens_at": gongzhi::time::rfc3339_ms(now - 3_600_000), "closes_at": gongzhi::time::rfc3339_ms(now + 172_800_000)});
        let id = ok(app, Method::POST, "/api/v1/decisions", &admin, Some(body)).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (st, _) = app
            .call(Method::POST, &format!("/api/v1/decisions/{id}/open"), Some(&admin), None)
            .await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let register = ok(app, Method::GET, &format!("/api/v1/grids/{c}/property"), &admin, None).await;
        let unit = register["units"][0]["unit"]
            .as_str()
            .expect("the demo register has units")
            .to_string();
        let r = app
            .client
            .post(format!("{}/api/v1/decisions/{id}/paper", app.base))
            .query(&[("unit", unit.as_str()), ("choice", "yes")])
            .bearer_auth(&admin)
            .body(PNG.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "paper ballot: {}", r.text().await.unwrap());
        decisions.push(id);
    }
    // Five-star evidence: the same photo on `community`'s 2026 card (sent back, so still open).
    let r = app
        .client
        .post(format!(
            "{}/api/v1/stars/cards/{community_in}/2026/files?star=party&name=x.png",
            app.base
        ))
        .bearer_auth(&community)
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "five-star evidence: {}", r.text().await.unwrap());
    let ballot_photo: String = {
        use sha2::Digest;
        sha2::Sha256::digest(PNG).iter().map(|b| format!("{b:02x}")).collect()
    };

    let s = |v: &Value| v.as_str().unwrap().to_string();
    let now = gongzhi::db::now_ms();
    // Red property: the last quarter (published by the demo) and one of its black-list corrections.
    let property_period = gongzhi::property::rules::Quarter::of_ms(now).previous().to_string();
    let corrections = ok(
        app,
        Method::GET,
        &format!("/api/v1/property/corrections?period={property_period}"),
        &admin,
        None,
    )
    .await;
    let property_correction = s(&corrections[0]["id"]);
    let fixed = HashMap::from([
        ("property_period", property_period),
        ("property_correction", property_correction),
        ("ballot", ballot_photo),
        ("department", dept),
        ("company", company),
        ("category", "SQ03".to_string()),
        ("rule", "volunteer_hour".to_string()),
        ("now", gongzhi::time::rfc3339_ms(now)),
        ("tomorrow", gongzhi::time::rfc3339_ms(now + 86_400_000)),
        ("tomorrow_end", gongzhi::time::rfc3339_ms(now + 93_600_000)),
        ("version", "1".to_string()),
        ("stars_year", "2026".to_string()),
        ("serial", "CH0000001".to_string()),
        ("residents_xlsx", "residents.xlsx".to_string()),
        ("residents_ledger", "residents".to_string()),
    ]);
    let mut inside = HashMap::from([
        ("building", building_in.to_string()),
        ("community", community_in.to_string()),
        ("resident", s(&r_in["id"])),
        ("household", s(&r_in["household_id"])),
        ("id_number", s(&id_in)),
        ("name", s(&r_in["name"])),
        ("volunteer", s(&v_in["id"])),
        ("case", case_in),
        ("photo", photo_in),
        ("transaction", tx_in),
        ("team", s(&teams[0])),
        ("activity", s(&activities[0])),
        ("shop", shop_in),
        ("item", item_in),
        ("broadcast", s(&broadcast_in)),
        ("compound", compound_in),
        ("renovation", renovation[0].0.clone()),
        ("plan_file", renovation[0].1.clone()),
    ]);
    let mut outside = HashMap::from([
        ("building", building_out),
        ("community", community_out.to_string()),
        ("resident", s(&r_out["id"])),
        ("household", s(&r_out["household_id"])),
        ("id_number", s(&id_out)),
        ("name", s(&r_out["name"])),
        ("volunteer", s(&v_out["id"])),
        ("case", case_out),
        ("photo", photo_out),
        ("transaction", tx_out),
        ("team", s(&teams[1])),
        ("activity", s(&activities[1])),
        ("shop", shop_out),
        ("item", item_out),
        ("broadcast", s(&broadcast_out)),
        ("compound", compound_out),
        ("renovation", renovation[1].0.clone()),
        ("plan_file", renovation[1].1.clone()),
    ]);
    inside.extend(councils_in);
    outside.extend(councils_out);
    inside.extend([("estate", estate_in.to_string()), ("decision", decisions[0].clone())]);
    outside.extend([("estate", estate_out.to_string()), ("decision", decisions[1].clone())]);
    let (party_in, party_out) = (
        party_objects(app, &admin, "411602001001001", "411602001001001001").await,
        party_objects(app, &admin, "411602001002", "411602001002").await,
    );
    inside.extend(party_in);
    outside.extend(party_out);
    // Service sites: each community's 党群服务中心 (the demo's).
    for (grid, side) in [(community_in, &mut inside), (community_out, &mut outside)] {
        let v = ok(app, Method::GET, &format!("/api/v1/sites?grid={grid}&per_page=100"), &admin, None).await;
        let site = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["grid"] == grid && x["kind"] == "party_center")
            .unwrap_or_else(|| panic!("[{}] a centre at {grid}", app.engine));
        side.insert("site", s(&site["id"]));
    }
    inside.extend(services_proxy_objects(app, "411602001001001001").await);
    outside.extend(services_proxy_objects(app, "411602001002").await);
    for (at, side) in [("411602001001", &mut inside), ("411602001002", &mut outside)] {
        let id: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT id FROM frontage_agreements WHERE grid_code >= $1 AND grid_code < $2 ORDER BY grid_code, shop_name, id LIMIT 1"
        )
        .bind(at)
        .bind(format!("{at}:"))
        .fetch_one(p)
        .await
        .unwrap_or_else(|e| panic!("[{}] a frontage agreement under {at}: {e}", app.engine)));
        side.insert("frontage_agreement", id.to_string());
    }
    // Campaigns: the street's 小菜园 drive and its spot in building 1; the 空中飞线 drive in 金桂.
    let (garden, wires): (uuid::Uuid, uuid::Uuid) = gongzhi::on_pool!(&app.db, |p| {
        let garden: uuid::Uuid = sqlx::query_scalar("SELECT id FROM campaigns WHERE kind = 'vegetable_plots' ORDER BY created_at LIMIT 1")
            .fetch_one(p)
            .await
            .unwrap_or_else(|e| panic!("[{}] the demo's 小菜园 drive: {e}", app.engine));
        let wires: uuid::Uuid = sqlx::query_scalar("SELECT id FROM campaigns WHERE kind = 'flying_wires' ORDER BY created_at LIMIT 1")
            .fetch_one(p)
            .await
            .unwrap_or_else(|e| panic!("[{}] the demo's 空中飞线 drive: {e}", app.engine));
        (garden, wires)
    });
    for (campaign, grid, side) in [(garden, "411602001001001001", &mut inside), (wires, "411602001002", &mut outside)] {
        let spot: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| {
            sqlx::query_scalar(
            "SELECT id FROM campaign_spots WHERE campaign_id = $1 AND grid_code >= $2 AND grid_code < $3 AND phase = 'persuading' ORDER BY found_at, id LIMIT 1"
        )
        .bind(campaign)
        .bind(grid)
        .bind(format!("{grid}:"))
        .fetch_one(p)
        .await
        .unwrap_or_else(|e| panic!("[{}] a spot under {grid}: {e}", app.engine))
        });
        side.insert("campaign", campaign.to_string());
        side.insert("campaign_spot", spot.to_string());
    }
    // The 创文 测评 drive over the first street, and its latest inspection of each side's compound.
    let drive: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
        "SELECT id FROM campaigns WHERE kind = 'civilised_city' ORDER BY created_at LIMIT 1"
    )
    .fetch_one(p)
    .await
    .unwrap_or_else(|e| panic!("[{}] the demo's 创文 drive: {e}", app.engine)));
    for side in [&mut inside, &mut outside] {
        let compound = side["compound"].clone();
        let inspection: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT id FROM campaign_inspections WHERE campaign_id = $1 AND grid_code = $2 ORDER BY at_ms DESC, id DESC LIMIT 1"
        )
        .bind(drive)
        .bind(&compound)
        .fetch_one(p)
        .await
        .unwrap_or_else(|e| panic!("[{}] an inspection of {compound}: {e}", app.engine)));
        side.insert("checklist_drive", drive.to_string());
        side.insert("campaign_inspection", inspection.to_string());
    }
    Objects { fixed, inside, outside }
}

/// Red proxy and mediation objects under `at` (the demo's): a matter in hand (taken by its
/// agent, a document held), that document, and an open dispute of the place's community.
async fn services_proxy_objects(app: &App, at: &str) -> [(&'static str, String); 3] {
    let upper = format!("{at}:");
    let community = at[..12].to_string();
    let community_upper = format!("{community}:");
    let (matter, document, dispute): (uuid::Uuid, uuid::Uuid, uuid::Uuid) = gongzhi::on_pool!(&app.db, |p| {
        let matter: uuid::Uuid = sqlx::query_scalar(
            "SELECT m.id FROM proxy_matters m WHERE m.status = 'taken' AND m.grid_code >= $1 AND m.grid_code < $2 \
             AND EXISTS (SELECT 1 FROM proxy_documents d WHERE d.matter_id = m.id AND d.state = 'held') ORDER BY m.created_at DESC LIMIT 1",
        )
        .bind(at)
        .bind(&upper)
        .fetch_one(p)
        .await
        .unwrap_or_else(|e| panic!("[{}] a proxy matter under {at}: {e}", app.engine));
        let document: uuid::Uuid = sqlx::query_scalar("SELECT id FROM proxy_documents WHERE matter_id = $1 AND state = 'held' LIMIT 1")
            .bind(matter)
            .fetch_one(p)
            .await
            .unwrap();
        let dispute: uuid::Uuid = sqlx::query_scalar(
            "SELECT id FROM disputes WHERE status = 'open' AND grid_code >= $1 AND grid_code < $2 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(&community)
        .bind(&community_upper)
        .fetch_one(p)
        .await
        .unwrap_or_else(|e| panic!("[{}] an open dispute in {community}: {e}", app.engine));
        (matter, document, dispute)
    });
    [
        ("proxy_matter", matter.to_string()),
        ("proxy_document", document.to_string()),
        ("dispute", dispute.to_string()),
    ]
}

/// Party objects at a place: the first compound branch under `org_at`, a resident member living
/// under `member_at`, a post the district gives them at their compound, and a model household
/// nominated for 2025 (the demo's are this year's).
async fn party_objects(app: &App, admin: &str, org_at: &str, member_at: &str) -> [(&'static str, String); 4] {
    let one = |sql: String| async move {
        gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, uuid::Uuid>(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(p)
            .await)
        .unwrap_or_else(|e| panic!("[{}] {sql}: {e}", app.engine))
        .to_string()
    };
    let org = one(format!(
        "SELECT id FROM party_orgs WHERE kind = 'branch' AND grid_code LIKE '{org_at}%' ORDER BY grid_code LIMIT 1"
    ))
    .await;
    let member = one(format!(
        "SELECT id FROM party_members WHERE kind = 'resident' AND grid_code LIKE '{member_at}%' ORDER BY grid_code, id LIMIT 1"
    ))
    .await;
    let detail = ok(app, Method::GET, &format!("/api/v1/party/members/{member}"), admin, None).await;
    let resident = ok(
        app,
        Method::GET,
        &format!("/api/v1/residents/{}", detail["resident"].as_str().unwrap()),
        admin,
        None,
    )
    .await;
    let household = resident["household_id"].as_str().unwrap().to_string();
    let compound = detail["grid"].as_str().unwrap()[..15].to_string();
    let body = json!({"post": "policy", "grid": compound, "consent": false});
    let post = ok(
        app,
        Method::POST,
        &format!("/api/v1/party/members/{member}/posts"),
        admin,
        Some(body),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"household": household, "year": 2025});
    let model = ok(app, Method::POST, "/api/v1/party/model-households", admin, Some(body)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    [
        ("party_org", org),
        ("party_member", member),
        ("party_post", post),
        ("party_model", model),
    ]
}

/// Every table but the sessions (signing in and out is part of the matrix).
async fn tables(app: &App) -> Vec<String> {
    let sql = if app.engine == "sqlite" {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    } else {
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    };
    let names: Vec<String> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, String>(sql).fetch_all(p).await).unwrap();
    let names: Vec<String> = names.into_iter().filter(|n| n != "sessions" && !n.starts_with("_sqlx")).collect();
    assert!(names.len() > 20, "[{}] the schema's tables: {names:?}", app.engine);
    names
}

/// Row counts of every table, in one statement.
async fn counts(app: &App, tables: &[String]) -> Vec<(String, i64)> {
    let sql = tables
        .iter()
        .map(|t| format!("SELECT '{t}', COUNT(*) FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut rows = gongzhi::on_pool!(&app.db, |p| sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql.clone()))
        .fetch_all(p)
        .await)
    .unwrap();
    // A UNION ALL keeps no order: PostgreSQL's parallel append returns its branches as they end.
    rows.sort();
    rows
}

/// Sort an answer into the table's outcomes, or say why it is no outcome at all.
fn classify(method: &Method, st: StatusCode, body: &Value) -> Result<Outcome, String> {
    let refused = match st {
        StatusCode::UNAUTHORIZED => Some(Outcome::Login),
        StatusCode::FORBIDDEN => Some(Outcome::Forbidden),
        StatusCode::NOT_FOUND => Some(Outcome::Hidden),
        _ => None,
    };
    if let Some(o) = refused {
        // The one error format, and nothing beside it.
        let only_error = body.as_object().is_some_and(|m| m.len() == 1) && !code(body).is_empty();
        return if only_error {
            Ok(o)
        } else {
            Err(format!("refused with {st} but the body is not the error format alone: {body}"))
        };
    }
    if st.is_server_error() {
        return Err(format!("server error {st}: {body}"));
    }
    if st == StatusCode::BAD_REQUEST || ["invalid_body", "invalid_query_string", "unsupported_media_type"].contains(&code(body)) {
        return Err(format!(
            "the server could not read the matrix's request ({st} {}): fix the row",
            code(body)
        ));
    }
    let allowed = if *method == Method::GET {
        st.is_success()
    } else {
        st.is_success() || [409, 413, 415, 422, 429].contains(&st.as_u16())
    };
    if allowed {
        Ok(Outcome::Allowed)
    } else {
        Err(format!("unexpected {st}: {body}"))
    }
}

enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

async fn send(app: &App, method: &Method, url: &str, token: Option<&str>, body: &Body) -> (StatusCode, Value) {
    let mut req = app.client.request(method.clone(), format!("{}{url}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req = match body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Raw(b) => req.header("content-type", "image/png").body(b.clone()),
    };
    let r = req.send().await.unwrap();
    let st = r.status();
    // An event stream never ends: its status and headers are the answer.
    if r.headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    {
        return (st, Value::Null);
    }
    let text = r.text().await.unwrap();
    (st, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The row's request: path and query, and body.
fn request(row: &Row, vars: &HashMap<String, String>) -> (String, Body) {
    let send = fill(&row.send, vars);
    let (query, rest) = match send.strip_prefix('?') {
        // A `+` in a time's offset is a space in a query string.
        Some(q) => match q.split_once(' ') {
            Some((q, rest)) => (format!("?{}", q.replace('+', "%2B")), rest.trim().to_string()),
            None => (format!("?{}", q.replace('+', "%2B")), String::new()),
        },
        None => (String::new(), send.trim().to_string()),
    };
    let body = if rest.is_empty() {
        Body::None
    } else if let Some(raw) = rest.strip_prefix("raw:") {
        Body::Raw(raw.as_bytes().to_vec())
    } else {
        Body::Json(serde_json::from_str(&rest).unwrap_or_else(|e| panic!("authz_matrix.md line {}: the body is not JSON: {e}", row.line)))
    };
    (format!("{}{query}", fill(&row.path, vars)), body)
}

/// One call: its outcome, and what is wrong with it (a refused write that changed a table, an
/// answer that is no outcome, or not the expected one).
#[allow(clippy::too_many_arguments)]
async fn probe(
    app: &App,
    method: &Method,
    url: &str,
    token: Option<&str>,
    body: &Body,
    want: Outcome,
    tables: &[String],
    what: &str,
) -> (Outcome, Vec<String>) {
    let mut problems = Vec::new();
    let write = *method != Method::GET;
    let before = if write && want != Outcome::Allowed {
        Some(counts(app, tables).await)
    } else {
        None
    };
    let (st, answer) = send(app, method, url, token, body).await;
    let outcome = match classify(method, st, &answer) {
        Ok(o) => {
            if o != want {
                problems.push(format!(
                    "{what}: expected {}, got {} ({st} {})",
                    want.letter(),
                    o.letter(),
                    code(&answer)
                ));
            }
            o
        }
        Err(e) => {
            problems.push(format!("{what}: {e}"));
            want
        }
    };
    if let Some(before) = before
        && st.is_client_error()
    {
        let after = counts(app, tables).await;
        let changed: Vec<String> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b.1 != a.1)
            .map(|(b, a)| format!("{} {} → {}", b.0, b.1, a.1))
            .collect();
        if !changed.is_empty() {
            problems.push(format!("{what}: refused, yet it changed {changed:?}"));
        }
    }
    (outcome, problems)
}

#[tokio::test]
async fn every_role_every_operation_inside_and_outside_its_scope() {
    let (rows, documented) = parse_table();
    let callers = callers();
    for app in apps().await {
        let started = Instant::now();

        // Every operation of the document has a row, and every row an operation.
        let (st, doc) = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(st, StatusCode::OK);
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for m in item.as_object().unwrap().keys() {
                operations.insert((m.to_uppercase(), shape(path)));
            }
        }
        let covered: BTreeSet<(String, String)> = rows.iter().map(|r| (r.method.to_string(), shape(&r.path))).collect();
        let missing: Vec<_> = operations.difference(&covered).collect();
        assert!(
            missing.is_empty(),
            "operations of the OpenAPI document with no row in tests/authz_matrix.md (decide who may call them): {missing:?}"
        );
        let stale: Vec<_> = covered.difference(&operations).collect();
        assert!(
            stale.is_empty(),
            "rows of tests/authz_matrix.md naming no operation of the document: {stale:?}"
        );

        let objects = objects(&app).await;
        let bound: BTreeSet<String> = objects.fixed.keys().chain(objects.inside.keys()).map(|k| k.to_string()).collect();
        assert_eq!(
            bound, documented,
            "the placeholders the test binds are the ones tests/authz_matrix.md describes"
        );
        // `{inside_x}` and `{outside_x}` name one side's object on both calls.
        let pinned: HashMap<String, String> = objects
            .inside
            .iter()
            .map(|(k, v)| (format!("inside_{k}"), v.clone()))
            .chain(objects.outside.iter().map(|(k, v)| (format!("outside_{k}"), v.clone())))
            .collect();
        let vars = |outside: bool| {
            let mut v: HashMap<String, String> = pinned.clone();
            v.extend(objects.fixed.iter().map(|(k, x)| (k.to_string(), x.clone())));
            v.extend(
                (if outside { &objects.outside } else { &objects.inside })
                    .iter()
                    .map(|(k, x)| (k.to_string(), x.clone())),
            );
            v
        };
        let (inside_vars, outside_vars) = (vars(false), vars(true));
        let mut tokens: Vec<Option<String>> = vec![None];
        for (user, _, _) in ACCOUNTS {
            tokens.push(Some(app.token(user).await));
        }
        let tables = tables(&app).await;

        // Reads first, then writes in the table's order: no write can change what a read finds.
        let mut order: Vec<&Row> = rows.iter().filter(|r| r.method == Method::GET).collect();
        order.extend(rows.iter().filter(|r| r.method != Method::GET));
        let mut failures = Vec::new();
        let mut calls = 0;
        for row in order {
            let varies = placeholders(&format!("{} {}", row.path, row.send))
                .iter()
                .any(|p| objects.inside.contains_key(p.as_str()));
            let sides: &[bool] = if varies { &[false, true] } else { &[false] };
            if !varies && row.cells.iter().any(|(i, o)| i != o) {
                failures.push(format!(
                    "line {}: the row names no object inside or outside, so a cell is one letter",
                    row.line
                ));
            }
            // What each caller got, inside then outside.
            let mut got: Vec<Vec<Outcome>> = vec![Vec::new(); callers.len()];
            let mut wrong = false;
            for &outside in sides {
                let (url, body) = request(row, if outside { &outside_vars } else { &inside_vars });
                let want = |ci: usize| if outside { row.cells[ci].1 } else { row.cells[ci].0 };
                // Refused callers first: what an allowed caller wrote could hide a refused caller's write.
                let mut order: Vec<usize> = (0..callers.len()).collect();
                order.sort_by_key(|&ci| want(ci) == Outcome::Allowed);
                for ci in order {
                    let want = want(ci);
                    // Signing out ends the token: that row signs in afresh.
                    let fresh = match &tokens[ci] {
                        Some(_) if row.path == "/api/v1/auth/logout" => Some(app.token(callers[ci]).await),
                        t => t.clone(),
                    };
                    let side = if outside { "outside" } else { "inside" };
                    let what = format!("line {}: {} {url} as {} ({side})", row.line, row.method, callers[ci]);
                    let (o, mut problems) = probe(&app, &row.method, &url, fresh.as_deref(), &body, want, &tables, &what).await;
                    calls += 1;
                    wrong |= o != want;
                    failures.append(&mut problems);
                    got[ci].push(o);
                }
            }
            if wrong {
                let cells: Vec<String> = got.iter().map(|g| cell_text(g[0], g.get(1).copied())).collect();
                failures.push(format!(
                    "line {} as it behaves: | {} | {} | {} | {} |",
                    row.line,
                    row.method,
                    row.path,
                    if row.send.is_empty() {
                        String::new()
                    } else {
                        format!("`{}`", row.send)
                    },
                    cells.join(" | ")
                ));
            }
        }
        eprintln!(
            "[{}] authorisation matrix: {} rows, {calls} calls in {:.1} s",
            app.engine,
            rows.len(),
            started.elapsed().as_secs_f64()
        );
        assert!(
            failures.is_empty(),
            "[{}] {} differences from tests/authz_matrix.md:\n{}",
            app.engine,
            failures.len(),
            failures.join("\n")
        );
    }
}
