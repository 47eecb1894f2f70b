//! The demo district: a deterministic Chuanhui at real scale (or one small street), loaded in one transaction.

pub mod alarms;
pub mod basemap;
pub mod broadcasts;
pub mod calls;
pub mod campaigns;
pub mod cells;
pub mod councils;
pub mod decisions;
pub mod descriptions;
pub mod frontage;
pub mod history;
pub mod names;
pub mod party;
pub mod plan;
pub mod property;
pub mod renovation;
pub mod services_care;
pub mod services_lists;
pub mod services_proxy;
pub mod stars;
pub mod volunteers;

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::auth::{password, store as auth_store};
use crate::db::{Db, Tx};
use crate::grid::rules;
use crate::on_tx;

pub const DEMO_PASSWORD: &str = "gongzhi-demo";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// 9 streets, 88 communities, 995 compounds, 2,640 buildings, ~100,000 households.
    District,
    /// One street, for quick tests.
    Small,
}

/// The demo accounts: username, role, where.
pub const ACCOUNTS: [(&str, &str, &str); 9] = [
    ("admin", "district_admin", "区指挥中心（川汇区 411602）"),
    ("street", "street_staff", "第一个街道"),
    ("community", "community_staff", "该街道的第一个社区"),
    ("compound", "compound_leader", "该社区的第一个小区"),
    ("building", "building_officer", "该小区的1号楼"),
    ("department", "department_handler", "区城市管理局"),
    ("property", "property_staff", "第一家物业公司"),
    ("resident", "resident", "1号楼的居民，也是志愿者"),
    ("keeper", "shop_keeper", "第一家爱心超市的店员"),
];

/// Residents who hold a post of a feature (a council's chair …); the authorisation matrix walks
/// the accounts above, these have tests of their own.
pub const FEATURE_ACCOUNTS: [(&str, &str, &str); 6] = [
    ("council", "resident", "第一个小区党群议事会主任（居民本人账号）"),
    ("owner", "resident", "第一个小区的业主，可参加业主表决（居民本人账号）"),
    ("party", "resident", "第一个小区党支部书记，党员（居民本人账号）"),
    ("member", "resident", "住在1号楼的党员，楼栋党员中心户（居民本人账号）"),
    (
        "agent",
        "community_staff",
        "第一个社区的社区工作者，红色代办员（演示回执确认码 123456）",
    ),
    ("mediator", "community_staff", "第一个社区的社区工作者，社区人民调解委员会调解员"),
];

pub fn accounts_text() -> String {
    let mut s = format!("演示账号 demo accounts (password 密码: {DEMO_PASSWORD}):\n");
    for (u, r, w) in ACCOUNTS.iter().chain(FEATURE_ACCOUNTS.iter()) {
        s.push_str(&format!("  {u:<11} {r:<19} {w}\n"));
    }
    s
}

pub async fn is_loaded(db: &Db) -> sqlx::Result<bool> {
    let n: i64 = crate::on_pool!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM districts WHERE code = '411602'")
        .fetch_one(p)
        .await)?;
    Ok(n > 0)
}

/// A value for a bulk insert. Nulls carry their type: PostgreSQL will not put a text NULL in a uuid column.
enum V {
    T(String),
    /// A string the program holds for its whole run (the district's code, an enum's key).
    S(&'static str),
    I(i64),
    F(f64),
    U(Uuid),
    NullT,
    NullU,
    NullI,
    B(bool),
}

/// Insert rows in multi-row statements, within the open transaction.
async fn bulk(tx: &mut Tx, table: &str, cols: &[&str], rows: Vec<Vec<V>>, pb: &ProgressBar) -> sqlx::Result<()> {
    // sqlx-sqlite asks SQLite the name of every parameter, a scan of the statement's named
    // parameters each time: `$n` makes binding quadratic in the parameter count (30,000 took 214 s
    // for the district), anonymous `?` keeps it linear. `OR FAIL` spares SQLite a statement
    // journal (a copy of every page each statement touches): a failed row fails the whole load,
    // whose transaction is rolled back anyway. PostgreSQL: `$n`, bigger statements.
    let sqlite = matches!(tx, Tx::Sqlite(_));
    let started = Instant::now();
    let n_rows = rows.len();
    // A big table's secondary indexes are built once after its rows are in (a sort) rather than
    // row by row (a B-tree insert per index per row, in random key order): SQLite only, where the
    // demo's time is counted.
    let indexes = if sqlite && n_rows >= BULK_REINDEX_ROWS {
        drop_indexes(tx, table).await?
    } else {
        Vec::new()
    };
    let budget = if sqlite { 2_000 } else { 6_000 };
    let per = (budget / cols.len()).max(1);
    let verb = if sqlite { "INSERT OR FAIL" } else { "INSERT" };
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        // Taken by value: each string moves into its bind instead of being copied.
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let len = chunk.len();
        let mut sql = format!("{verb} INTO {table} ({}) VALUES ", cols.join(", "));
        let mut n = 0;
        for i in 0..len {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..cols.len() {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                if sqlite {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${n}"));
                }
            }
            sql.push(')');
        }
        on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for v in row {
                    q = match v {
                        V::T(s) => q.bind(s),
                        V::S(s) => q.bind(s),
                        V::I(i) => q.bind(i),
                        V::F(f) => q.bind(f),
                        V::U(u) => q.bind(u),
                        V::NullT => q.bind(Option::<String>::None),
                        V::NullU => q.bind(Option::<Uuid>::None),
                        V::NullI => q.bind(Option::<i64>::None),
                        V::B(b) => q.bind(b),
                    };
                }
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        pb.inc(len as u64);
    }
    let n_indexes = indexes.len();
    for sql in indexes {
        on_tx!(&mut *tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
    }
    tracing::debug!(
        table,
        rows = n_rows,
        reindexed = n_indexes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo: bulk"
    );
    Ok(())
}

/// Rows from which `bulk` drops a table's secondary indexes and recreates them after the load.
const BULK_REINDEX_ROWS: usize = 20_000;

/// SQLite: drop `table`'s own indexes (not those behind its keys and UNIQUE constraints, which
/// SQLite names `sqlite_autoindex_…` and keeps no SQL for) and return the statements that recreate them.
async fn drop_indexes(tx: &mut Tx, table: &str) -> sqlx::Result<Vec<String>> {
    let found: Vec<(String, String)> = on_tx!(&mut *tx, |c| sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
    )
    .bind(table)
    .fetch_all(&mut *c)
    .await)?;
    let mut sqls = Vec::with_capacity(found.len());
    for (name, sql) in found {
        on_tx!(&mut *tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
        sqls.push(sql);
    }
    Ok(sqls)
}

/// Fill an empty database with the demo district. Everything or nothing: one transaction.
pub async fn load(db: &Db, scale: Scale, seed: u64, progress: bool) -> anyhow::Result<String> {
    let started = Instant::now();
    let sizes = match scale {
        Scale::District => plan::DISTRICT,
        Scale::Small => plan::SMALL,
    };
    let p = plan::plan(sizes, seed);
    let planned = started.elapsed();
    // Hash the one shared demo password once, off the async threads.
    let hash = password::hash(DEMO_PASSWORD.to_string()).await?;
    let total = (p.grids.len() * 2 + p.households.len() + p.residents.len() * 2 + p.units.len() + p.places.len() + p.devices.len()) as u64;
    let pb = if progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    pb.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let now = plan::BASE_MS;
    db.bulk_load_cache(true).await?;
    let mut tx = db.begin().await?;
    if matches!(tx, Tx::Sqlite(_)) {
        // Foreign keys checked once, at the commit: an immediate check makes SQLite keep a
        // statement journal for every multi-row insert. Reset by the commit itself.
        on_tx!(&mut tx, |c| sqlx::query("PRAGMA defer_foreign_keys = ON")
            .execute(c)
            .await
            .map(|_| ()))?;
    }
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO districts (code, name, created_at) VALUES ($1, $2, $3)"
    )
    .bind(p.district_code)
    .bind(p.district_name)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;

    pb.set_message("网格");
    let mut rows = Vec::with_capacity(p.grids.len());
    let mut contacts = Vec::new();
    for g in &p.grids {
        let b = rules::parse_boundary(&g.shape.geojson()).map_err(|e| anyhow::anyhow!("demo boundary {}: {e}", g.code))?;
        rows.push(vec![
            V::T(g.code.clone()),
            V::S(p.district_code),
            V::I(g.level),
            V::S(g.kind),
            V::T(g.name.clone()),
            g.parent.clone().map(V::T).unwrap_or(V::NullT),
            V::T(b.geojson),
            V::F(b.center.0),
            V::F(b.center.1),
            V::F(b.bbox.0),
            V::F(b.bbox.1),
            V::F(b.bbox.2),
            V::F(b.bbox.3),
            V::I(g.children),
            V::I(g.households),
            V::I(g.residents),
            V::I(now),
            V::I(now),
        ]);
        for (i, (role, name, phone)) in g.contacts.iter().enumerate() {
            contacts.push(vec![
                V::U(Uuid::now_v7()),
                V::S(p.district_code),
                V::T(g.code.clone()),
                V::T(role.to_string()),
                V::T(name.clone()),
                V::T(phone.clone()),
                V::I(i as i64),
            ]);
        }
    }
    // Parents first: rows are in tree order, so each parent row precedes its children.
    bulk(
        &mut tx,
        "grids",
        &[
            "code",
            "district",
            "level",
            "kind",
            "name",
            "parent_code",
            "boundary",
            "center_lat",
            "center_lng",
            "min_lat",
            "min_lng",
            "max_lat",
            "max_lng",
            "children",
            "households",
            "residents",
            "created_at",
            "updated_at",
        ],
        rows,
        &pb,
    )
    .await?;
    bulk(
        &mut tx,
        "grid_contacts",
        &["id", "district", "grid_code", "role", "name", "phone", "position"],
        contacts,
        &pb,
    )
    .await?;

    pb.set_message("住户");
    let code_of = |i: usize| p.grids[i].code.clone();
    let rows = p
        .households
        .iter()
        .map(|h| {
            vec![
                V::U(h.id),
                V::S(p.district_code),
                V::T(code_of(h.grid)),
                V::I(h.unit_no),
                V::T(h.room.clone()),
                V::T(h.address.clone()),
                V::I(h.members),
                V::I(now),
            ]
        })
        .collect();
    bulk(
        &mut tx,
        "households",
        &["id", "district", "grid_code", "unit_no", "room", "address", "members", "created_at"],
        rows,
        &pb,
    )
    .await?;

    pb.set_message("居民");
    let mut tags = Vec::new();
    // Sealed and indexed exactly as `registry::residents::insert_resident` stores them.
    let ring = crate::sealed::ring();
    let rows = p
        .residents
        .iter()
        .map(|r| {
            for &t in &r.tags {
                tags.push(vec![V::U(r.id), V::S(p.district_code), V::S(t), V::T(code_of(r.grid))]);
            }
            vec![
                V::U(r.id),
                V::S(p.district_code),
                V::U(p.households[r.household].id),
                V::T(code_of(r.grid)),
                V::T(r.name.clone()),
                V::S(r.gender),
                V::T(r.birth_date.clone()),
                V::T(ring.seal(&r.id_number)),
                V::T(ring.seal(&r.phone)),
                V::T(ring.blind("tail", &r.id_number[14..])),
                V::T(ring.blind("tail", &r.phone[7..])),
                V::S(r.relation),
                V::T(r.tags.join(",")),
                V::I(now),
                V::I(now),
                V::T(ring.blind("id", &r.id_number)),
                V::T(ring.blind("phone", &r.phone)),
            ]
        })
        .collect();
    bulk(
        &mut tx,
        "residents",
        &[
            "id",
            "district",
            "household_id",
            "grid_code",
            "name",
            "gender",
            "birth_date",
            "id_number",
            "phone",
            "id_tail",
            "phone_tail",
            "relation",
            "tags",
            "created_at",
            "updated_at",
            "id_index",
            "phone_index",
        ],
        rows,
        &pb,
    )
    .await?;
    pb.inc((p.residents.len() - tags.len().min(p.residents.len())) as u64);
    bulk(
        &mut tx,
        "resident_tags",
        &["resident_id", "district", "tag", "grid_code"],
        tags,
        &pb,
    )
    .await?;

    pb.set_message("组织");
    let mut serves = Vec::new();
    let rows = p
        .units
        .iter()
        .map(|u| {
            for g in &u.serves {
                serves.push((u.id, g.clone()));
            }
            vec![
                V::U(u.id),
                V::S(p.district_code),
                V::S(u.kind),
                V::T(u.name.clone()),
                u.grid.clone().map(V::T).unwrap_or(V::NullT),
                u.credit_code.clone().map(V::T).unwrap_or(V::NullT),
                V::T(u.contact_name.clone()),
                V::T(u.contact_phone.clone()),
                V::I(now),
            ]
        })
        .collect();
    bulk(
        &mut tx,
        "units",
        &[
            "id",
            "district",
            "kind",
            "name",
            "grid_code",
            "credit_code",
            "contact_name",
            "contact_phone",
            "created_at",
        ],
        rows,
        &pb,
    )
    .await?;
    // Each managed compound names its property company.
    for (unit, code) in &serves {
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE grids SET property_company_id = $1 WHERE code = $2"
        )
        .bind(*unit)
        .bind(code)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    crate::cases::categories::seed(&mut tx, p.district_code).await?;

    pb.set_message("案件");
    let n_cases = match scale {
        Scale::District => 100_000,
        Scale::Small => 1_000,
    };
    let cal = crate::cases::calendar::Calendar::built_in();
    let unit_by_name = |name: &str| p.units.iter().find(|u| u.kind == "department" && u.name == name).map(|u| u.id);
    let community_unit = |code: &str| {
        p.units
            .iter()
            .find(|u| u.kind == "community" && u.grid.as_deref() == Some(code))
            .map(|u| u.id)
    };
    let company_of: std::collections::HashMap<&str, Uuid> = p
        .units
        .iter()
        .filter(|u| u.kind == "property_company")
        .flat_map(|u| u.serves.iter().map(move |g| (g.as_str(), u.id)))
        .collect();
    let property_company = |code: &str| company_of.get(code).copied();
    let history = history::plan_cases(
        &p,
        n_cases,
        seed,
        crate::db::now_ms(),
        &cal,
        &history::Handlers {
            department: &unit_by_name,
            community: &community_unit,
            property_company: &property_company,
        },
    );
    pb.inc_length(history.len() as u64 * 2);
    let mut events = Vec::new();
    let unit_names: std::collections::HashMap<Uuid, &str> = p.units.iter().map(|u| (u.id, u.name.as_str())).collect();
    let rows = history
        .iter()
        .map(|c| {
            // The timeline names the unit, as a dispatch on the console writes it (派至…), and the
            // unit's own steps are signed by it.
            let unit = c.unit.and_then(|u| unit_names.get(&u).copied());
            for (at, action, actor, note) in c.events.iter().map(|(at, action, actor, note)| (at, *action, actor, note)) {
                let (actor, note) = match (action, unit) {
                    ("dispatch", Some(u)) => (actor.clone(), format!("派至{u}")),
                    ("start" | "handle", Some(u)) if actor == "承办单位" => (u.to_string(), note.clone()),
                    _ => (actor.clone(), note.clone()),
                };
                events.push(vec![
                    V::U(Uuid::now_v7()),
                    V::U(c.id),
                    V::S(p.district_code),
                    V::I(*at),
                    V::T(actor),
                    V::S(action),
                    V::T(note),
                ]);
            }
            vec![
                V::U(c.id),
                V::S(p.district_code),
                V::T(c.tracking_code.clone()),
                V::S(c.category),
                V::T(c.description.clone()),
                V::F(c.lat),
                V::F(c.lng),
                V::T(c.grid.clone()),
                V::I(c.level),
                V::S(c.source),
                V::S(c.status),
                c.unit.map(V::U).unwrap_or(V::NullU),
                V::I(c.rework),
                c.rating.map(|r| V::T(r.into())).unwrap_or(V::NullT),
                V::T(c.reporter_name.clone()),
                V::I(c.reported_at),
                V::I(c.due_at),
                c.handled_at.map(V::I).unwrap_or(V::NullI),
                c.closed_at.map(V::I).unwrap_or(V::NullI),
                V::I(c.events.last().map(|e| e.0).unwrap_or(c.reported_at)),
                V::T(c.attributes.clone()),
            ]
        })
        .collect();
    bulk(
        &mut tx,
        "cases",
        &[
            "id",
            "district",
            "tracking_code",
            "category_code",
            "description",
            "lat",
            "lng",
            "grid_code",
            "level",
            "source",
            "status",
            "unit_id",
            "rework",
            "rating",
            "reporter_name",
            "reported_at",
            "due_at",
            "handled_at",
            "closed_at",
            "updated_at",
            "attributes",
        ],
        rows,
        &pb,
    )
    .await?;
    let n_events = events.len();
    bulk(
        &mut tx,
        "case_events",
        &["id", "case_id", "district", "at_ms", "actor_name", "action", "note"],
        events,
        &pb,
    )
    .await?;
    pb.inc((history.len() * 2).saturating_sub(n_events.min(history.len() * 2)) as u64);
    for code in crate::cases::attributes::PRIVATE_CATEGORIES {
        crate::on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE cases SET private = TRUE WHERE district = $1 AND category_code = $2"
        )
        .bind(p.district_code)
        .bind(*code)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }

    pb.set_message("场所设备");
    let rows = p
        .places
        .iter()
        .map(|x| {
            vec![
                V::U(x.id),
                V::S(p.district_code),
                V::T(x.grid.clone()),
                V::S(x.kind),
                V::T(x.name.clone()),
                V::T(x.address.clone()),
                V::F(x.lat),
                V::F(x.lng),
                V::I(now),
            ]
        })
        .collect();
    bulk(
        &mut tx,
        "places",
        &["id", "district", "grid_code", "kind", "name", "address", "lat", "lng", "created_at"],
        rows,
        &pb,
    )
    .await?;
    let rows = p
        .devices
        .iter()
        .map(|x| {
            vec![
                V::U(x.id),
                V::S(p.district_code),
                V::T(x.grid.clone()),
                V::S(x.kind),
                V::T(x.name.clone()),
                V::T(x.serial.clone()),
                V::F(x.lat),
                V::F(x.lng),
                V::I(now),
            ]
        })
        .collect();
    bulk(
        &mut tx,
        "devices",
        &["id", "district", "grid_code", "kind", "name", "serial", "lat", "lng", "created_at"],
        rows,
        &pb,
    )
    .await?;

    pb.set_message("账号");
    for a in &p.accounts {
        let id = auth_store::insert_user(&mut tx, p.district_code, a.username, &a.display_name, &hash).await?;
        auth_store::insert_post(&mut tx, p.district_code, id, a.role, a.grid.as_deref(), a.unit).await?;
    }
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: before volunteers");
    pb.set_message("志愿服务");
    let (v_sizes, teams) = match scale {
        Scale::District => (volunteers::DISTRICT, plan::DISTRICT.volunteer_teams),
        Scale::Small => (volunteers::SMALL, plan::SMALL.volunteer_teams),
    };
    let vplan = volunteers::plan(&p, v_sizes, teams, seed, crate::db::now_ms());
    let volunteer_summary = volunteers::insert(&mut tx, p.district_code, &vplan, &hash, &pb).await?;
    // The command centre's running figures, from the cases just loaded in bulk.
    crate::cases::tallies::rebuild(&mut tx).await?;
    pb.set_message("通话记录");
    calls::insert(&mut tx, p.district_code, scale, seed, crate::db::now_ms(), &pb).await?;
    pb.set_message("通知");
    let broadcast_summary = broadcasts::insert(&mut tx, &p, &hash, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: before councils");
    pb.set_message("议事会");
    let council_cases: Vec<&history::HCase> = history.iter().filter(|c| c.source == "council").collect();
    let council_summary = councils::insert(&mut tx, &p, &council_cases, &hash, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: councils done");
    pb.set_message("老旧小区改造");
    let renovation_summary = renovation::insert(&mut tx, &p, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: renovation done");
    pb.set_message("业主表决");
    let decision_summary = decisions::insert(&mut tx, &p, &hash, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: decisions done");
    pb.set_message("党建");
    let party_started = Instant::now();
    let party_summary = party::insert(&mut tx, &p, scale == Scale::Small, &hash, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = party_started.elapsed().as_secs_f64(), "demo: party stage");
    pb.set_message("红色物业");
    let property_started = Instant::now();
    let property_summary = property::insert(&mut tx, &p, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = property_started.elapsed().as_secs_f64(), "demo: red property stage");
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: before stars");
    pb.set_message("五星支部");
    let stars_summary = stars::insert(&mut tx, &p, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: stars done");
    pb.set_message("关爱走访");
    let care_started = Instant::now();
    let care_summary = services_care::insert(&mut tx, &p, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = care_started.elapsed().as_secs_f64(), "demo: services care stage");
    pb.set_message("四张清单、服务阵地");
    let services_lists_summary = services_lists::insert(&mut tx, &p, seed, crate::db::now_ms()).await?;
    pb.set_message("红色代办、矛盾调解");
    let services_proxy_summary = services_proxy::insert(&mut tx, &p, &hash, seed, crate::db::now_ms()).await?;
    pb.set_message("门前三包");
    let frontage_started = Instant::now();
    let frontage_summary = frontage::insert(&mut tx, &p, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = frontage_started.elapsed().as_secs_f64(), "demo: frontage stage");
    pb.set_message("专项行动");
    let campaigns_started = Instant::now();
    let campaigns_summary = campaigns::insert(&mut tx, &p, seed, crate::db::now_ms()).await?;
    tracing::info!(elapsed_s = campaigns_started.elapsed().as_secs_f64(), "demo: campaigns stage");
    pb.set_message("设备告警");
    let alarms_summary = alarms::insert(&mut tx, &p, &history, seed, crate::db::now_ms()).await?;
    crate::audit::record(
        &mut tx,
        crate::audit::Actor::System("demo"),
        crate::audit::Entry {
            district: p.district_code,
            action: "demo.load",
            target_kind: "district",
            target_id: p.district_code,
            reason: "",
            detail: serde_json::json!({"seed": seed, "scale": format!("{scale:?}")}),
        },
    )
    .await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: decisions done, committing");
    pb.set_message("提交");
    tx.commit().await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: committed");
    let base_features = basemap::load(db, &p, seed).await?;
    db.bulk_load_cache(false).await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: base map loaded");
    db.analyze().await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: analysed");
    pb.finish_and_clear();
    let count = |l: i64| p.grids.iter().filter(|g| g.level == l).count();
    Ok(format!(
        "demo district 川汇区 loaded in {:.1}s (planned in {:.1}s): {} streets, {} communities/villages, {} compounds/natural villages, {} buildings/groups, {} households, {} residents, {} units, {} places, {} devices, {} cases over the past year, {} base-map features; {}; {}; {}; {}; {}; {}; {}; {}; {}; {}; {}; {}; {}; {}",
        started.elapsed().as_secs_f64(),
        planned.as_secs_f64(),
        count(2),
        count(3),
        count(4),
        count(5),
        p.households.len(),
        p.residents.len(),
        p.units.len(),
        p.places.len(),
        p.devices.len(),
        n_cases,
        base_features,
        volunteer_summary,
        broadcast_summary,
        council_summary,
        renovation_summary,
        decision_summary,
        party_summary,
        property_summary,
        stars_summary,
        care_summary,
        services_lists_summary,
        services_proxy_summary,
        frontage_summary,
        campaigns_summary,
        alarms_summary
    ))
}
