//! Excel ledgers (台账): every export read back with calamine against its list's total, masking
//! and the audited full file, imports that store everything or nothing and never twice.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{App, apps, code, id_number};

/// GET an export: status and the sheet's rows as text (empty when not 200).
async fn export(app: &App, token: &str, path: &str) -> (StatusCode, Vec<Vec<String>>) {
    let r = app
        .client
        .get(format!("{}{}", app.base, path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status != StatusCode::OK {
        return (status, Vec::new());
    }
    assert!(
        r.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"),
        "[{}] {path}: an .xlsx",
        app.engine
    );
    let bytes = r.bytes().await.unwrap();
    let mut wb = Xlsx::new(Cursor::new(bytes.to_vec())).expect("a workbook calamine reads");
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows = range
        .rows()
        .map(|row| {
            row.iter()
                .map(|d| match d {
                    Data::Empty => String::new(),
                    Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    (status, rows)
}

fn is_full_id(s: &str) -> bool {
    s.len() == 18 && s.is_ascii() && s[..17].bytes().all(|b| b.is_ascii_digit())
}

fn is_full_phone(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test]
async fn every_export_reads_back_with_its_lists_total_and_chinese_headers() {
    for app in apps().await {
        let t = app.token("admin").await;
        let community = "411602001001";
        let pairs = [
            ("residents.xlsx", "/api/v1/residents"),
            ("residents.xlsx?tag=党员", "/api/v1/residents?tag=党员"),
            (
                "residents.xlsx?grid=411602001001001001",
                "/api/v1/residents?grid=411602001001001001",
            ),
            ("households.xlsx", "/api/v1/households"),
            ("units.xlsx", "/api/v1/units"),
            ("units.xlsx?kind=department", "/api/v1/units?kind=department"),
            ("places.xlsx", "/api/v1/places"),
            ("devices.xlsx", "/api/v1/devices"),
            ("cases.xlsx", "/api/v1/cases"),
            ("cases.xlsx?status=closed", "/api/v1/cases?status=closed"),
            ("volunteers.xlsx", "/api/v1/volunteers"),
            ("activities.xlsx", "/api/v1/activities"),
            ("points.xlsx", "/api/v1/points/transactions"),
            ("party_members.xlsx", "/api/v1/party/members"),
            ("party_members.xlsx?status=reported", "/api/v1/party/members?status=reported"),
            ("party_members.xlsx?cadre=true", "/api/v1/party/members?cadre=true"),
            ("needs.xlsx", "/api/v1/needs"),
            ("resources.xlsx", "/api/v1/resources"),
            ("projects.xlsx", "/api/v1/projects"),
            ("results.xlsx", "/api/v1/results"),
            ("needs.xlsx?grid=411602001001", "/api/v1/needs?grid=411602001001"),
            ("care_due.xlsx", "/api/v1/care/due"),
            ("care_due.xlsx?within=7", "/api/v1/care/due?within=7"),
        ];
        // The assessment ranks every unit (a list without `total`).
        let (st, report) = app.get("/api/v1/assessment?by=unit&from=2020-01-01", &t).await;
        assert_eq!(st, StatusCode::OK);
        let (st, rows) = export(&app, &t, "/api/v1/exports/assessment.xlsx?by=unit&from=2020-01-01").await;
        assert_eq!(st, StatusCode::OK, "[{}] assessment", app.engine);
        assert_eq!(
            rows.len() - 1,
            report["items"].as_array().unwrap().len(),
            "[{}] assessment",
            app.engine
        );
        assert!(rows.len() > 1);
        for (file, list) in pairs {
            let sep = if list.contains('?') { '&' } else { '?' };
            let (st, listed) = app.get(&format!("{list}{sep}per_page=1"), &t).await;
            assert_eq!(st, StatusCode::OK, "[{}] {list}", app.engine);
            let (st, rows) = export(&app, &t, &format!("/api/v1/exports/{file}")).await;
            assert_eq!(st, StatusCode::OK, "[{}] {file}", app.engine);
            let total = listed["total"].as_i64().unwrap();
            assert_eq!(rows.len() as i64 - 1, total, "[{}] {file}: rows = the list's total", app.engine);
            assert!(total > 0, "[{}] {file}: the demo has rows", app.engine);
            assert!(
                rows[0].iter().all(|h| !h.is_empty() && !h.is_ascii()),
                "[{}] {file}: Chinese headers {:?}",
                app.engine,
                rows[0]
            );
        }
        // Device alarms: every stored alarm of the district (the list shows the newest 200).
        let alarms = app.count("device_alarms").await;
        let (st, rows) = export(&app, &t, "/api/v1/exports/alarms.xlsx").await;
        assert_eq!(st, StatusCode::OK, "[{}] alarms", app.engine);
        assert_eq!(rows.len() as i64 - 1, alarms, "[{}] alarms", app.engine);
        assert!(alarms > 0, "[{}] the demo has alarms", app.engine);
        // Proxy matters (代办): the list (a plain array, at most 500) of the subtree, by status,
        // and an agent's own; names masked in the subtree's file, as in its list.
        for q in ["", "?status=done", "?status=open"] {
            let (st, listed) = app.get(&format!("/api/v1/proxy/matters{q}"), &t).await;
            assert_eq!(st, StatusCode::OK);
            let n = listed.as_array().unwrap().len();
            assert!(n < 500, "the demo's matters fit the list");
            let (st, rows) = export(&app, &t, &format!("/api/v1/exports/proxy_matters.xlsx{q}")).await;
            assert_eq!(st, StatusCode::OK, "[{}] proxy {q}", app.engine);
            assert_eq!(rows.len() - 1, n, "[{}] proxy {q}", app.engine);
            for (r, m) in rows.iter().skip(1).zip(listed.as_array().unwrap()) {
                assert_eq!(r[1], m["person"].as_str().unwrap(), "[{}] masked as listed", app.engine);
            }
        }
        assert!(export(&app, &t, "/api/v1/exports/proxy_matters.xlsx").await.1.len() > 1);
        let (st, _) = export(&app, &t, "/api/v1/exports/proxy_matters.xlsx?status=lost").await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let at = app.token("agent").await;
        let (_, mine) = app.get("/api/v1/proxy/matters?mine=true", &at).await;
        let (st, rows) = export(&app, &at, "/api/v1/exports/proxy_matters.xlsx?mine=true").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(rows.len() - 1, mine.as_array().unwrap().len(), "[{}] an agent's own", app.engine);
        // The four lists and party members: a resident reads none of them.
        let rt = app.token("resident").await;
        for f in ["needs", "resources", "projects", "results", "party_members", "proxy_matters"] {
            let (st, _) = export(&app, &rt, &format!("/api/v1/exports/{f}.xlsx")).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "[{}] resident: {f}", app.engine);
        }
        // Disputes: the list (a plain array, the newest 200) as the community's staff see it.
        let ct = app.token("community").await;
        let (st, listed) = app.get("/api/v1/mediation/disputes", &ct).await;
        assert_eq!(st, StatusCode::OK);
        let (st, rows) = export(&app, &ct, "/api/v1/exports/disputes.xlsx").await;
        assert_eq!(st, StatusCode::OK, "[{}] disputes", app.engine);
        assert_eq!(rows.len() - 1, listed.as_array().unwrap().len(), "[{}] disputes", app.engine);
        let bt = app.token("resident").await;
        assert_eq!(
            export(&app, &bt, "/api/v1/exports/disputes.xlsx").await.0,
            StatusCode::FORBIDDEN,
            "[{}]",
            app.engine
        );
        // A community's staff export their own community only: same total as their list.
        let (_, listed) = app.get("/api/v1/residents?per_page=1", &ct).await;
        let (_, rows) = export(&app, &ct, "/api/v1/exports/residents.xlsx").await;
        assert_eq!(rows.len() as i64 - 1, listed["total"].as_i64().unwrap(), "[{}]", app.engine);
        assert!(rows.iter().skip(1).all(|r| r[5].starts_with(community)), "[{}] scoped", app.engine);
        // Outside the caller's scope: hidden, as the list.
        let (st, _) = export(&app, &ct, "/api/v1/exports/residents.xlsx?grid=411602001002").await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{}]", app.engine);
        // A department reads no residents, and an unknown ledger is not found.
        let dt = app.token("department").await;
        assert_eq!(export(&app, &dt, "/api/v1/exports/residents.xlsx").await.0, StatusCode::FORBIDDEN);
        assert_eq!(export(&app, &t, "/api/v1/exports/nothing.xlsx").await.0, StatusCode::NOT_FOUND);
        assert_eq!(export(&app, &t, "/api/v1/exports/residents").await.0, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_masked_file_has_no_full_number_and_a_full_one_needs_the_right_a_reason_and_an_audit_row() {
    for app in apps().await {
        let t = app.token("admin").await;
        let building = "411602001001001001";
        let (st, masked) = export(&app, &t, &format!("/api/v1/exports/residents.xlsx?grid={building}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(masked.len() > 1);
        for row in &masked {
            // Every cell but the building's code (18 digits too).
            for (i, cell) in row.iter().enumerate().filter(|(i, _)| *i != 5) {
                assert!(
                    !is_full_id(cell) && !is_full_phone(cell),
                    "[{}] masked file holds {cell} in column {i}",
                    app.engine
                );
            }
        }
        let audited = || async {
            gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'ledger.export_full'"
            )
            .fetch_one(p)
            .await)
            .unwrap()
        };
        // The building's officer may not reveal; no reason is refused; neither writes an audit row.
        let bt = app.token("building").await;
        let (st, _) = export(&app, &bt, "/api/v1/exports/residents.xlsx?full=1&reason=核对名册").await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{}]", app.engine);
        let (st, _) = export(&app, &t, &format!("/api/v1/exports/residents.xlsx?grid={building}&full=1")).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}]", app.engine);
        assert_eq!(audited().await, 0);
        let (st, full) = export(
            &app,
            &t,
            &format!("/api/v1/exports/residents.xlsx?grid={building}&full=1&reason=核对名册"),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "[{}]", app.engine);
        assert_eq!(full.len(), masked.len());
        assert!(
            full.iter().skip(1).all(|r| is_full_id(&r[3]) && is_full_phone(&r[4])),
            "[{}]",
            app.engine
        );
        assert_eq!(audited().await, 1, "[{}] the full file is audited", app.engine);
        // The same row masked and in full: the masked one is the full one's mask.
        assert_eq!(masked[1][3], gongzhi::identity::mask_id_number(&full[1][3]));
        // A ledger without personal numbers has no full file.
        let (st, _) = export(&app, &t, "/api/v1/exports/places.xlsx?full=1&reason=核对名册").await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// An .xlsx of these rows (the first is the header), every cell text.
fn book(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

async fn import(app: &App, token: &str, ledger: &str, dry_run: bool, body: Vec<u8>) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}/api/v1/imports/{ledger}?dry_run={dry_run}", app.base))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

const RESIDENT_HEADER: [&str; 8] = [
    "姓名＊",
    "身份证号＊",
    "手机号＊",
    "楼栋编码＊",
    "单元＊",
    "房号＊",
    "与户主关系",
    "标签",
];

#[tokio::test]
async fn a_resident_import_with_bad_rows_stores_nothing_and_the_corrected_one_stores_each_row_once() {
    for app in apps().await {
        let t = app.token("admin").await;
        let building = "411602001001001001";
        let ids: Vec<String> = (0..3).map(|i| id_number("411602", "19800101", 900 + i)).collect();
        let mut bad_id = ids[1].clone();
        let last = bad_id.pop().unwrap();
        bad_id.push(if last == '0' { '1' } else { '0' });
        let residents_before = app.count("residents").await;
        let households_before = app.count("households").await;
        let bad = book(&[
            row(&RESIDENT_HEADER),
            row(&["导入甲", &ids[0], "13900000001", building, "9", "901", "户主", "党员"]),
            row(&["导入乙", &bad_id, "13900000002", building, "9", "901", "配偶", ""]),
            row(&["导入丙", &ids[2], "1390000", "411602999999999999", "9", "902", "", ""]),
            row(&["导入丁", &ids[0], "13900000004", building, "0", "", "表亲", "不存在的标签"]),
        ]);
        let (st, out) = import(&app, &t, "residents", false, bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {out}", app.engine);
        let errors: Vec<(i64, String)> = out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap().to_string()))
            .collect();
        for want in [
            (3, "身份证号"),
            (4, "手机号"),
            (4, "楼栋编码"),
            (5, "单元"),
            (5, "房号"),
            (5, "与户主关系"),
            (5, "标签"),
        ] {
            assert!(
                errors.iter().any(|(r, c)| *r == want.0 && c == want.1),
                "[{}] {want:?} in {errors:?}",
                app.engine
            );
        }
        let messages: Vec<&str> = out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert!(messages.iter().any(|m| m.contains("校验位")), "[{}] {messages:?}", app.engine);
        assert!(messages.iter().all(|m| !m.is_ascii()), "Chinese reasons");
        assert_eq!(out["created"], 0);
        assert_eq!(app.count("residents").await, residents_before, "[{}] nothing stored", app.engine);
        assert_eq!(app.count("households").await, households_before);

        // A duplicate within the file is named with its first row.
        let dup = book(&[
            row(&RESIDENT_HEADER),
            row(&["导入甲", &ids[0], "13900000001", building, "9", "901", "户主", ""]),
            row(&["导入戊", &ids[0], "13900000005", building, "9", "901", "子女", ""]),
        ]);
        let (st, out) = import(&app, &t, "residents", true, dup).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(out["errors"][0]["row"], 3);
        assert!(out["errors"][0]["message"].as_str().unwrap().contains("第2行"), "{out}");

        // A missing required column is an error at the header row.
        let (st, out) = import(
            &app,
            &t,
            "residents",
            true,
            book(&[row(&["姓名", "手机号"]), row(&["导入甲", "13900000001"])]),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(out["errors"][0]["row"], 1);

        // Not an .xlsx at all.
        let (st, out) = import(&app, &t, "residents", true, b"name,id\n".to_vec()).await;
        assert_eq!((st, code(&out)), (StatusCode::UNPROCESSABLE_ENTITY, "not_xlsx"));

        // The corrected file: a dry run stores nothing, the import stores every row once (with
        // their new household), the same file again stores nothing more.
        let good = book(&[
            row(&RESIDENT_HEADER),
            row(&["导入甲", &ids[0], "13900000001", building, "9", "901", "户主", "党员"]),
            row(&["导入乙", &ids[1], "１３９００００００02", building, "9", "901", "配偶", ""]),
            row(&["导入丙", &ids[2], "13900000003", building, "9单元", "902室", "", ""]),
        ]);
        let (st, out) = import(&app, &t, "residents", true, good.clone()).await;
        assert_eq!(st, StatusCode::OK, "[{}] {out}", app.engine);
        assert_eq!((out["rows"].as_i64(), out["created"].as_i64()), (Some(3), Some(0)));
        assert_eq!(app.count("residents").await, residents_before);
        let (st, out) = import(&app, &t, "residents", false, good.clone()).await;
        assert_eq!(st, StatusCode::OK, "[{}] {out}", app.engine);
        assert_eq!(out["created"], 3);
        assert_eq!(app.count("residents").await, residents_before + 3);
        assert_eq!(app.count("households").await, households_before + 2);
        let (st, out) = import(&app, &t, "residents", false, good).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            (out["created"].as_i64(), out["skipped"].as_i64()),
            (Some(0), Some(3)),
            "[{}]",
            app.engine
        );
        assert_eq!(app.count("residents").await, residents_before + 3, "[{}] not doubled", app.engine);
        // The building's counts and the household's members follow.
        let (_, g) = app.get(&format!("/api/v1/grids/{building}"), &t).await;
        let (_, listed) = app.get(&format!("/api/v1/residents?grid={building}&per_page=1"), &t).await;
        assert_eq!(g["counts"]["residents"], listed["total"], "[{}]", app.engine);
        let audit: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'ledger.import'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(audit, 1, "[{}] the import that stored rows is audited", app.engine);

        // A registered person elsewhere is refused, without saying where.
        let (st, out) = import(
            &app,
            &t,
            "residents",
            true,
            book(&[
                row(&RESIDENT_HEADER),
                row(&["导入甲", &ids[0], "13900000001", building, "9", "903", "", ""]),
            ]),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(out["errors"][0]["column"], "身份证号");

        // Outside the importer's scope: the building is unknown to them.
        let ct = app.token("community").await;
        let (st, out) = import(
            &app,
            &ct,
            "residents",
            true,
            book(&[
                row(&RESIDENT_HEADER),
                row(&[
                    "导入己",
                    &id_number("411602", "19800101", 950),
                    "13900000009",
                    "411602001002001001",
                    "1",
                    "101",
                    "",
                    "",
                ]),
            ]),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {out}", app.engine);
        assert_eq!(out["errors"][0]["column"], "楼栋编码");
        // No right to import at all.
        let dt = app.token("department").await;
        let (st, _) = import(&app, &dt, "residents", true, book(&[row(&RESIDENT_HEADER)])).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn templates_carry_the_columns_and_households_and_hotline_tickets_import_once() {
    for app in apps().await {
        let t = app.token("admin").await;
        for (ledger, first) in [("residents", "姓名＊"), ("households", "楼栋编码＊"), ("hotline", "工单编号＊")] {
            let (st, rows) = export(&app, &t, &format!("/api/v1/imports/{ledger}/template.xlsx")).await;
            assert_eq!(st, StatusCode::OK, "[{}] {ledger}", app.engine);
            assert_eq!(rows[0][0], first);
        }
        // Households: a room twice in one file is refused; once, it is stored once.
        let building = "411602001001001001";
        let before = app.count("households").await;
        let header = row(&["楼栋编码", "单元", "房号"]);
        let (st, _) = import(
            &app,
            &t,
            "households",
            false,
            book(&[header.clone(), row(&[building, "8", "801"]), row(&[building, "8", "801"])]),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let file = book(&[header.clone(), row(&[building, "8", "801"]), row(&[building, "8", "802"])]);
        for _ in 0..2 {
            let (st, out) = import(&app, &t, "households", false, file.clone()).await;
            assert_eq!(st, StatusCode::OK, "[{}] {out}", app.engine);
        }
        assert_eq!(app.count("households").await, before + 2, "[{}]", app.engine);

        // Units: a bad credit code and an unknown kind are row errors; the good file stores each
        // unit once, its kind read from the Chinese name.
        let units_before = app.count("units").await;
        let header = row(&["名称", "类型", "所在网格编码", "统一社会信用代码", "联系人", "联系电话"]);
        let (st, out) = import(
            &app,
            &t,
            "units",
            false,
            book(&[
                header.clone(),
                row(&["导入物业", "物业公司", "", "911111111111111111", "", ""]),
                row(&["导入商会", "不存在的类型", "", "", "", ""]),
            ]),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {out}", app.engine);
        assert_eq!(out["errors"].as_array().unwrap().len(), 2, "[{}] {out}", app.engine);
        let file = book(&[
            header,
            row(&["导入志愿服务队", "志愿服务队", "411602001001", "", "王五", "13900000011"]),
        ]);
        for _ in 0..2 {
            let (st, out) = import(&app, &t, "units", false, file.clone()).await;
            assert_eq!(st, StatusCode::OK, "[{}] {out}", app.engine);
        }
        assert_eq!(app.count("units").await, units_before + 1, "[{}] one unit", app.engine);

        // Hotline tickets become hotline cases dated when the hotline took them, once each.
        let cases_before = app.count("cases").await;
        let header = row(&["工单编号", "问题类别编码", "问题描述", "网格编码", "受理时间"]);
        let bad = book(&[
            header.clone(),
            row(&["T-001", "SQ03", "楼道里有人飞线充电", building, "2026-11-20 09:30"]),
            row(&["T-002", "NOPE", "路灯不亮", building, "明天"]),
        ]);
        let (st, out) = import(&app, &t, "hotline", false, bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {out}", app.engine);
        assert_eq!(out["errors"].as_array().unwrap().len(), 2);
        assert_eq!(app.count("cases").await, cases_before);
        let good = book(&[
            header,
            row(&["T-001", "SQ03", "楼道里有人飞线充电", building, "2026-11-20 09:30"]),
            row(&["T-002", "SQ03", "车棚里有电动车在充电，电线拖在地上", building, "2026-11-21"]),
        ]);
        for _ in 0..2 {
            let (st, out) = import(&app, &t, "hotline", false, good.clone()).await;
            assert_eq!(st, StatusCode::OK, "[{}] {out}", app.engine);
        }
        assert_eq!(app.count("cases").await, cases_before + 2, "[{}] each ticket once", app.engine);
        let (_, listed) = app.get("/api/v1/cases?per_page=100", &t).await;
        let _ = listed;
        let hotline: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM cases WHERE source = 'hotline' AND reported_at < due_at AND description LIKE '%飞线%'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert!(hotline >= 1, "[{}]", app.engine);
        // All or nothing: a ticket whose category now asks a required question (which a hotline
        // row cannot answer) fails the file, and the good ticket beside it is not stored either.
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&t),
                Some(serde_json::json!({"fields": [{"code": "floor", "datatype": "number", "required": true, "description": "所在楼层"}]})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let before = app.count("cases").await;
        let mixed = book(&[
            row(&["工单编号", "问题类别编码", "问题描述", "网格编码", "受理时间"]),
            row(&["T-003", "SQ03", "三楼楼道有人飞线充电", building, "2026-11-22 10:00"]),
            row(&["T-004", "SQ07", "楼道里堆满了纸箱", building, "2026-11-22 11:00"]),
        ]);
        let (st, out) = import(&app, &t, "hotline", false, mixed.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {out}", app.engine);
        assert_eq!(out["error"]["code"], "attribute_required", "[{}] {out}", app.engine);
        assert!(
            out["error"]["message"].as_str().unwrap().contains("T-004"),
            "[{}] {out}",
            app.engine
        );
        assert_eq!(app.count("cases").await, before, "[{}] nothing stored", app.engine);
        let (st, _) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&t),
                Some(serde_json::json!({"fields": []})),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let (st, out) = import(&app, &t, "hotline", false, mixed).await;
        assert_eq!(st, StatusCode::OK, "[{}] {out}", app.engine);
        assert_eq!(
            (out["created"].as_i64(), app.count("cases").await),
            (Some(2), before + 2),
            "[{}] {out}",
            app.engine
        );
        // Only the district imports hotline tickets.
        let ct = app.token("community").await;
        let (st, _) = import(&app, &ct, "hotline", true, good).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

/// Devices (设施设备): a file with a bad row (unknown kind, a serial twice, half a position, a
/// grid out of reach) stores nothing and names each; the corrected file stores each device once,
/// at its grid's centre when it has no position, and a second import skips them; the alarms
/// feature then knows them by serial.
#[tokio::test]
async fn a_device_import_stores_each_serial_once_or_nothing() {
    for app in apps().await {
        let community = app.token("community").await; // community_staff at 411602001001
        let (st, rows) = export(&app, &community, "/api/v1/imports/devices/template.xlsx").await;
        assert_eq!((st, rows[0][0].as_str()), (StatusCode::OK, "序列号＊"), "[{}]", app.engine);
        let before = app.count("devices").await;
        let header = row(&["序列号", "名称", "类型", "网格编码", "纬度", "经度"]);
        let building = "411602001001001001";
        let (st, out) = import(
            &app,
            &community,
            "devices",
            false,
            book(&[
                header.clone(),
                row(&["IMP-0001", "1号楼烟感", "烟感报警器", building, "", ""]),
                row(&["IMP-0002", "不明设备", "雷达", building, "", ""]),
                row(&["IMP-0001", "重复", "井盖", building, "", ""]),
                row(&["IMP-0003", "半个位置", "井盖", building, "33.6", ""]),
                row(&["IMP-0004", "别的社区", "井盖", "411602001002", "", ""]),
            ]),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {out}", app.engine);
        let bad: Vec<(u64, String)> = out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            bad,
            vec![(3, "类型".into()), (4, "序列号".into()), (5, "纬度".into()), (6, "网格编码".into())],
            "[{}] {out}",
            app.engine
        );
        assert_eq!(app.count("devices").await, before, "[{}] nothing stored", app.engine);
        let file = book(&[
            header,
            row(&["IMP-0001", "1号楼烟感", "烟感报警器", building, "", ""]),
            row(&["IMP-0003", "1号楼井盖", "well", building, "33.61", "114.64"]),
        ]);
        let (st, out) = import(&app, &community, "devices", false, file.clone()).await;
        assert_eq!((st, out["created"].as_u64()), (StatusCode::OK, Some(2)), "[{}] {out}", app.engine);
        let (st, out) = import(&app, &community, "devices", false, file).await;
        assert_eq!((st, out["skipped"].as_u64()), (StatusCode::OK, Some(2)), "[{}] {out}", app.engine);
        assert_eq!(app.count("devices").await, before + 2, "[{}] each once", app.engine);
        let (st, list) = app.get(&format!("/api/v1/devices?grid={building}&per_page=100"), &community).await;
        assert_eq!(st, StatusCode::OK, "[{}] {list}", app.engine);
        let imported = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["serial"] == "IMP-0001")
            .cloned()
            .expect("listed");
        assert_eq!(imported["kind"], "fire_alarm", "{imported}");
        assert!(imported["lat"].as_f64().unwrap() > 0.0, "at its grid's centre: {imported}");
        // A resident may not import.
        let resident = app.token("resident").await;
        let (st, _) = import(&app, &resident, "devices", true, book(&[row(&["序列号"])])).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{}]", app.engine);
    }
}
