//! Households (户) and residents (居民): storage, search and writes.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::{rules, store as grids};
use crate::identity;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ResidentRow {
    pub id: Uuid,
    pub district: String,
    pub household_id: Uuid,
    pub grid_code: String,
    pub name: String,
    pub gender: String,
    pub birth_date: String,
    pub id_number: String,
    pub phone: String,
    pub relation: String,
    pub tags: String,
    pub created_at: i64,
}

pub const RESIDENT_COLS: &str =
    "r.id, r.district, r.household_id, r.grid_code, r.name, r.gender, r.birth_date, r.id_number, r.phone, r.relation, r.tags, r.created_at";

impl ResidentRow {
    pub fn tag_list(&self) -> Vec<String> {
        self.tags.split(',').filter(|t| !t.is_empty()).map(String::from).collect()
    }
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct HouseholdRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub unit_no: i64,
    pub room: String,
    pub address: String,
    pub members: i64,
}

/// How a search text is read: a name prefix, the last four digits of a phone or ID number,
/// or a whole phone or ID number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Any,
    NamePrefix(String),
    Tail4(String),
    Phone(String),
    IdNumber(String),
}

/// Read a search text. Full-width digits (what Chinese input methods type) read as digits, and a
/// number may be written in groups (`138 1234 5678`, `138-1234-5678`).
pub fn parse_query(q: Option<&str>) -> Result<Query, AppError> {
    let q = identity::half_width(q.unwrap_or(""));
    let q = q.trim();
    if q.is_empty() {
        return Ok(Query::Any);
    }
    let compact: String = q
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '_' | '.' | '—' | '－')))
        .collect::<String>()
        .to_ascii_uppercase();
    let digitish = !compact.is_empty()
        && compact.bytes().all(|c| c.is_ascii_digit() || c == b'X')
        && compact.bytes().filter(|c| *c == b'X').count() <= 1
        && compact.bytes().any(|c| c.is_ascii_digit());
    if digitish {
        return match compact.len() {
            4 => Ok(Query::Tail4(compact)),
            11 if identity::parse_mobile(&compact).is_some() => Ok(Query::Phone(compact)),
            18 => Ok(Query::IdNumber(compact)),
            _ => Err(AppError::invalid(
                "invalid_query",
                "请输入姓名、手机号或身份证号的后4位，或完整的手机号（11位）、身份证号（18位）",
            )),
        };
    }
    if q.chars().count() > 20 {
        return Err(AppError::invalid("invalid_query", "姓名检索词不超过20字"));
    }
    Ok(Query::NamePrefix(q.to_string()))
}

impl Query {
    /// A whole phone or ID number names one person: a lookup, not a search.
    pub fn is_whole_number(&self) -> bool {
        matches!(self, Query::Phone(_) | Query::IdNumber(_))
    }
}

pub struct ResidentFilter<'a> {
    pub district: &'a str,
    /// Subtree root.
    pub grid: &'a str,
    pub query: Query,
    pub tag: Option<&'a str>,
    pub limit: i64,
    pub offset: i64,
}

/// A search's SQL pieces: the tables, the conditions, their values in placeholder order, the
/// order of the list, and a cheaper count when a tag alone is asked. The list, its count and the
/// Excel export all read these, so they can never filter differently.
pub struct FilterSql {
    pub from: &'static str,
    pub where_: String,
    pub vals: Vec<String>,
    pub order: &'static str,
    pub count_from_tags: Option<String>,
}

pub fn filter_sql(f: &ResidentFilter<'_>) -> FilterSql {
    // Conditions and their values, in placeholder order.
    let mut conds: Vec<String> = vec!["r.district = $1".into(), "r.grid_code >= $2".into(), "r.grid_code < $3".into()];
    let mut vals: Vec<String> = vec![f.district.into(), f.grid.into(), rules::subtree_upper(f.grid)];
    let mut push = |cond: &str, v: String, conds: &mut Vec<String>| {
        vals.push(v);
        conds.push(cond.replace('?', &format!("${}", vals.len())));
    };
    let order = match &f.query {
        Query::Any => "r.grid_code, r.name, r.id",
        Query::NamePrefix(p) => {
            push("r.name >= ?", p.clone(), &mut conds);
            push("r.name < ?", format!("{p}{}", char::MAX), &mut conds);
            // Wide scopes read the name index in order; a compound or building reads its own few
            // rows from the grid index (ordering those by name first tempts PostgreSQL into the
            // name index and a long filtered scan).
            if f.grid.len() >= rules::code_len(4) {
                "r.grid_code, r.name, r.id"
            } else {
                "r.name, r.grid_code, r.id"
            }
        }
        Query::Tail4(t) => {
            // Both tails are indexed; the two branches of the OR each use one index.
            let n = vals.len();
            vals.push(crate::sealed::ring().blind("tail", t));
            conds.push(format!("(r.phone_tail = ${} OR r.id_tail = ${})", n + 1, n + 1));
            "r.grid_code, r.name, r.id"
        }
        Query::Phone(p) => {
            push("r.phone_index = ?", crate::sealed::ring().blind("phone", p), &mut conds);
            "r.grid_code, r.name, r.id"
        }
        Query::IdNumber(id) => {
            push("r.id_index = ?", crate::sealed::ring().blind("id", id), &mut conds);
            "r.grid_code, r.name, r.id"
        }
    };
    // With a tag, drive the query from the tag index rather than scanning residents for members.
    // A tag alone is answered from that index in its own order (by building), so a page costs
    // one lookup per row shown and the count never touches the residents table.
    let mut order = order;
    let mut count_from_tags = None;
    let from = match f.tag {
        Some(tag) => {
            let n = vals.len();
            vals.push(tag.to_string());
            let tag_cond = format!("t.district = $1 AND t.tag = ${} AND t.grid_code >= $2 AND t.grid_code < $3", n + 1);
            if f.query == Query::Any {
                order = "t.grid_code, t.resident_id";
                count_from_tags = Some(format!("SELECT COUNT(*) FROM resident_tags t WHERE {tag_cond}"));
            }
            conds.push(tag_cond);
            "resident_tags t JOIN residents r ON r.id = t.resident_id"
        }
        None => "residents r",
    };
    FilterSql {
        from,
        where_: conds.join(" AND "),
        vals,
        order,
        count_from_tags,
    }
}

/// Search residents in a grid subtree. Returns the page and the total count.
pub async fn search(db: &Db, f: &ResidentFilter<'_>, subtree_residents: i64) -> sqlx::Result<(Vec<ResidentRow>, i64)> {
    let FilterSql {
        from,
        where_,
        vals,
        order,
        count_from_tags,
    } = filter_sql(f);
    let n = vals.len();
    let page_sql = format!(
        "SELECT {RESIDENT_COLS} FROM {from} WHERE {where_} ORDER BY {order} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let count_sql = count_from_tags.unwrap_or_else(|| format!("SELECT COUNT(*) FROM {from} WHERE {where_}"));
    // Unfiltered subtree totals are kept on the grid row; counting 300,000 rows per page is waste.
    let use_rollup = f.query == Query::Any && f.tag.is_none();
    on_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, ResidentRow>(sqlx::AssertSqlSafe(page_sql));
        for v in &vals {
            q = q.bind(v);
        }
        let rows = opened(q.bind(f.limit).bind(f.offset).fetch_all(p).await?)?;
        let total = if use_rollup {
            subtree_residents
        } else {
            let mut c = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
            for v in &vals {
                c = c.bind(v);
            }
            c.fetch_one(p).await?
        };
        Ok((rows, total))
    })
}

/// Rows as read, their ID numbers and phones opened with the keys in use.
pub fn opened(mut rows: Vec<ResidentRow>) -> sqlx::Result<Vec<ResidentRow>> {
    let ring = crate::sealed::ring();
    for r in &mut rows {
        r.id_number = ring.open(&r.id_number).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        r.phone = ring.open(&r.phone).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    }
    Ok(rows)
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<ResidentRow>> {
    let row = on_pool!(db, |p| sqlx::query_as::<_, ResidentRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RESIDENT_COLS} FROM residents r WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(opened(row.into_iter().collect())?.pop())
}

/// A resident of the district by whole ID number (through its keyed index).
pub async fn by_id_number(db: &Db, district: &str, id_number: &str) -> sqlx::Result<Option<ResidentRow>> {
    let row = on_pool!(db, |p| sqlx::query_as::<_, ResidentRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RESIDENT_COLS} FROM residents r WHERE r.district = $1 AND r.id_index = $2"
    )))
    .bind(district)
    .bind(crate::sealed::ring().blind("id", id_number))
    .fetch_optional(p)
    .await)?;
    Ok(opened(row.into_iter().collect())?.pop())
}

pub async fn members(db: &Db, household_id: Uuid) -> sqlx::Result<Vec<ResidentRow>> {
    opened(on_pool!(db, |p| sqlx::query_as::<_, ResidentRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RESIDENT_COLS} FROM residents r WHERE r.household_id = $1 ORDER BY r.birth_date, r.id"
    )))
    .bind(household_id)
    .fetch_all(p)
    .await)?)
}

/// Seal what is not sealed with the current key yet (rows stored before sealing, or with an older
/// key), a batch per transaction so the server keeps serving. Returns how many rows changed.
pub async fn reseal(db: &Db, batch: i64) -> anyhow::Result<u64> {
    let ring = crate::sealed::ring();
    let current = format!("s{}:%", ring.current_id());
    let mut done = 0u64;
    let mut after = Uuid::nil();
    loop {
        let rows: Vec<(Uuid, String, String)> = on_pool!(db, |p| {
            sqlx::query_as(
            "SELECT id, id_number, phone FROM residents WHERE id > $1 AND (id_index IS NULL OR id_number NOT LIKE $2 OR phone NOT LIKE $2) \
             ORDER BY id LIMIT $3"
        )
        .bind(after)
        .bind(&current)
        .bind(batch)
        .fetch_all(p)
        .await
        })?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        let mut tx = db.begin().await?;
        for (id, idn, phone) in &rows {
            let (idn, phone) = (ring.open(idn)?, ring.open(phone)?);
            on_tx!(&mut tx, |c| {
                sqlx::query(
                "UPDATE residents SET id_number = $1, phone = $2, id_tail = $3, phone_tail = $4, id_index = $5, phone_index = $6 WHERE id = $7"
            )
            .bind(ring.seal(&idn))
            .bind(ring.seal(&phone))
            .bind(ring.blind("tail", idn.get(14..).unwrap_or("")))
            .bind(ring.blind("tail", phone.get(7..).unwrap_or("")))
            .bind(ring.blind("id", &idn))
            .bind(ring.blind("phone", &phone))
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
            })?;
        }
        tx.commit().await?;
        done += rows.len() as u64;
    }
    Ok(done)
}

pub async fn household(db: &Db, id: Uuid) -> sqlx::Result<Option<HouseholdRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, HouseholdRow>(
        "SELECT id, district, grid_code, unit_no, room, address, members FROM households WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn households_in(db: &Db, grid_code: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<HouseholdRow>, i64)> {
    let upper = rules::subtree_upper(grid_code);
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, HouseholdRow>(
            "SELECT id, district, grid_code, unit_no, room, address, members FROM households \
             WHERE grid_code >= $1 AND grid_code < $2 ORDER BY grid_code, unit_no, room LIMIT $3 OFFSET $4",
        )
        .bind(grid_code)
        .bind(&upper)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM households WHERE grid_code >= $1 AND grid_code < $2")
            .bind(grid_code)
            .bind(&upper)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// A new household in a building.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct NewHousehold {
    /// Building (level-5 grid) code.
    pub grid: String,
    pub unit_no: i64,
    pub room: String,
}

pub async fn create_household(db: &Db, actor: Actor<'_>, building: &grids::GridRow, input: &NewHousehold) -> AppResult<HouseholdRow> {
    if building.level != 5 {
        return Err(AppError::invalid("not_a_building", "住户只能登记在楼栋/小组（第5级网格）下"));
    }
    if !(1..=99).contains(&input.unit_no) {
        return Err(AppError::invalid("invalid_unit_no", "单元号应在1至99之间"));
    }
    let room = input.room.trim();
    if room.is_empty() || room.chars().count() > 16 {
        return Err(AppError::invalid("invalid_room", "门牌/房号不能为空且不超过16字"));
    }
    let chain = grids::chain(db, &building.code).await?;
    let address = address_of(&chain, input.unit_no, room);
    let id = new_id();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO households (id, district, grid_code, unit_no, room, address, members, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)"
    )
    .bind(id)
    .bind(&building.district)
    .bind(&building.code)
    .bind(input.unit_no)
    .bind(room)
    .bind(&address)
    .bind(now_ms())
    .execute(c)
    .await.map(|r| r.rows_affected()))
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::conflict("duplicate_household", format!("{}单元{}已登记", input.unit_no, room))
        } else {
            e.into()
        }
    })?;
    grids::bump_counts(&mut tx, &building.code, 1, 0).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &building.district,
            action: "household.create",
            target_kind: "household",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"grid": building.code, "unit_no": input.unit_no, "room": room}),
        },
    )
    .await?;
    tx.commit().await?;
    household(db, id).await?.ok_or_else(AppError::internal)
}

/// The postal-style address of a room, from the grid chain (district first).
pub fn address_of(chain: &[grids::GridRow], unit_no: i64, room: &str) -> String {
    let names: Vec<&str> = chain.iter().skip(1).map(|g| g.name.as_str()).collect();
    format!("{}{}单元{}室", names.join(""), unit_no, room)
}

/// A new resident in a household.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct NewResident {
    pub household_id: Uuid,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    /// 户主, 配偶, 子女, 父母, 孙子女, 其他
    #[serde(default = "default_relation")]
    pub relation: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn default_relation() -> String {
    "户主".into()
}

pub const RELATIONS: [&str; 7] = ["户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他"];

/// Validated fields of a resident.
pub struct CheckedResident {
    pub name: String,
    pub id_number: String,
    pub birth_date: String,
    pub gender: &'static str,
    pub phone: String,
    pub relation: String,
    pub tags: Vec<String>,
}

pub fn check_resident(input: &NewResident) -> AppResult<CheckedResident> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(AppError::invalid("invalid_name", "姓名不能为空且不超过32字"));
    }
    let (id_number, birth_date, gender) =
        identity::parse_id_number(&input.id_number).map_err(|e| AppError::invalid("invalid_id_number", e.message()))?;
    let phone = identity::parse_mobile(&input.phone).ok_or_else(|| AppError::invalid("invalid_phone", "手机号码应为11位，以13至19开头"))?;
    if !RELATIONS.contains(&input.relation.as_str()) {
        return Err(AppError::invalid(
            "invalid_relation",
            format!("与户主关系应为：{}", RELATIONS.join("、")),
        ));
    }
    let tags = super::check_tags(&input.tags).map_err(|m| AppError::invalid("invalid_tag", m))?;
    Ok(CheckedResident {
        name: name.to_string(),
        id_number,
        birth_date,
        gender,
        phone,
        relation: input.relation.clone(),
        tags,
    })
}

/// How many registrations refused as duplicates one account may meet in an hour. "Already
/// registered" says a number exists, so past this the account's registrations pause for the hour
/// (pausing only the duplicates would still answer the question).
pub const DUPLICATES_PER_HOUR: i64 = 10;

pub async fn create_resident(db: &Db, actor: Actor<'_>, hh: &HouseholdRow, input: &NewResident) -> AppResult<ResidentRow> {
    let r = check_resident(input)?;
    if let Some(actor_id) = actor.id()
        && audited_since(db, actor_id, "resident.duplicate", now_ms() - 3_600_000).await? >= DUPLICATES_PER_HOUR
    {
        return Err(AppError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_duplicates",
            format!("一小时内已有{DUPLICATES_PER_HOUR}次登记因身份证号重复被拒，请稍后再试，或联系社区核实"),
        ));
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    if let Err(e) = insert_resident(&mut tx, id, hh, &r, now_ms()).await {
        if !crate::db::is_unique_violation(&e) {
            return Err(e.into());
        }
        tx.rollback().await?;
        // Counted, and never says where the number is registered.
        let mut tx = db.begin().await?;
        audit::record(
            &mut tx,
            actor,
            audit::Entry {
                district: &hh.district,
                action: "resident.duplicate",
                target_kind: "household",
                target_id: &hh.id.to_string(),
                reason: "",
                detail: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        return Err(AppError::conflict(
            "duplicate_id_number",
            "该身份证号码已在本区登记，不能重复登记；如需迁入本户，请联系社区核实",
        ));
    }
    on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE households SET members = members + 1 WHERE id = $1"
    )
    .bind(hh.id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    grids::bump_counts(&mut tx, &hh.grid_code, 0, 1).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &hh.district,
            action: "resident.create",
            target_kind: "resident",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"household": hh.id, "name": r.name}),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.ok_or_else(AppError::internal)
}

/// Insert a resident: the ID number and phone sealed, found later through their keyed indexes.
pub async fn insert_resident(tx: &mut Tx, id: Uuid, hh: &HouseholdRow, r: &CheckedResident, now: i64) -> sqlx::Result<()> {
    let tags = r.tags.join(",");
    let ring = crate::sealed::ring();
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO residents (id, district, household_id, grid_code, name, gender, birth_date, id_number, phone, id_tail, phone_tail, relation, tags, created_at, updated_at, id_index, phone_index) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16)",
        )
        .bind(id)
        .bind(&hh.district)
        .bind(hh.id)
        .bind(&hh.grid_code)
        .bind(&r.name)
        .bind(r.gender)
        .bind(&r.birth_date)
        .bind(ring.seal(&r.id_number))
        .bind(ring.seal(&r.phone))
        .bind(ring.blind("tail", &r.id_number[14..]))
        .bind(ring.blind("tail", &r.phone[7..]))
        .bind(&r.relation)
        .bind(&tags)
        .bind(now)
        .bind(ring.blind("id", &r.id_number))
        .bind(ring.blind("phone", &r.phone))
        .execute(&mut *c)
        .await?;
        for t in &r.tags {
            sqlx::query("INSERT INTO resident_tags (resident_id, district, tag, grid_code) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(&hh.district)
                .bind(t)
                .bind(&hh.grid_code)
                .execute(&mut *c)
                .await?;
        }
        Ok::<(), sqlx::Error>(())
    })
}

/// Replace a resident's tags.
pub async fn set_tags(db: &Db, actor: Actor<'_>, r: &ResidentRow, tags: &[String]) -> AppResult<ResidentRow> {
    let tags = super::check_tags(tags).map_err(|m| AppError::invalid("invalid_tag", m))?;
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| {
        sqlx::query("DELETE FROM resident_tags WHERE resident_id = $1")
            .bind(r.id)
            .execute(&mut *c)
            .await?;
        for t in &tags {
            sqlx::query("INSERT INTO resident_tags (resident_id, district, tag, grid_code) VALUES ($1, $2, $3, $4)")
                .bind(r.id)
                .bind(&r.district)
                .bind(t)
                .bind(&r.grid_code)
                .execute(&mut *c)
                .await?;
        }
        sqlx::query("UPDATE residents SET tags = $1, updated_at = $2 WHERE id = $3")
            .bind(tags.join(","))
            .bind(now_ms())
            .bind(r.id)
            .execute(&mut *c)
            .await?;
        Ok::<(), sqlx::Error>(())
    })?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &r.district,
            action: "resident.tags",
            target_kind: "resident",
            target_id: &r.id.to_string(),
            reason: "",
            detail: json!({"tags": tags}),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, r.id).await?.ok_or_else(AppError::internal)
}

/// Record a full reveal of a resident's ID number and phone; the reason is required.
pub async fn record_reveal(db: &Db, actor: Actor<'_>, r: &ResidentRow, reason: &str) -> AppResult<()> {
    let reason = reason.trim();
    if reason.chars().count() < 2 || reason.chars().count() > 200 {
        return Err(AppError::invalid(
            "reason_required",
            "查看完整身份证号和手机号须填写事由（2至200字）",
        ));
    }
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &r.district,
            action: "resident.reveal",
            target_kind: "resident",
            target_id: &r.id.to_string(),
            reason,
            detail: json!({"name": r.name}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How many times this account did `action` since `since_ms`. The audit log is the count, so a
/// limit on lookups holds across restarts and nodes.
pub async fn audited_since(db: &Db, actor_id: Uuid, action: &str, since_ms: i64) -> sqlx::Result<i64> {
    on_pool!(db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE actor_id = $1 AND action = $2 AND at_ms >= $3"
    )
    .bind(actor_id)
    .bind(action)
    .bind(since_ms)
    .fetch_one(p)
    .await)
}

/// Record a whole-number lookup: who, where, why, what kind of number and how many it found —
/// never the number itself.
pub async fn record_lookup(
    db: &Db,
    actor: Actor<'_>,
    district: &str,
    grid: &str,
    reason: &str,
    query: &Query,
    found: i64,
) -> AppResult<()> {
    let kind = match query {
        Query::Phone(_) => "phone",
        _ => "id_number",
    };
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "resident.lookup",
            target_kind: "grid",
            target_id: grid,
            reason,
            detail: json!({"kind": kind, "found": found}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The resident a signed-in account is (居民本人), if staff have linked one.
pub async fn of_account(db: &Db, user_id: Uuid) -> sqlx::Result<Option<ResidentRow>> {
    let row = on_pool!(db, |p| sqlx::query_as::<_, ResidentRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RESIDENT_COLS} FROM resident_accounts a JOIN residents r ON r.id = a.resident_id WHERE a.user_id = $1"
    )))
    .bind(user_id)
    .fetch_optional(p)
    .await)?;
    Ok(opened(row.into_iter().collect())?.pop())
}

/// The account linked to a resident, if any.
pub async fn account_of(db: &Db, resident_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    on_pool!(db, |p| sqlx::query_scalar::<_, Uuid>(
        "SELECT user_id FROM resident_accounts WHERE resident_id = $1"
    )
    .bind(resident_id)
    .fetch_optional(p)
    .await)
}

/// Link an account to the resident it belongs to, inside the caller's transaction. False when
/// either side is linked already (to anything: a link is changed only by unlinking first).
pub async fn link_account_in(tx: &mut Tx, district: &str, user_id: Uuid, resident_id: Uuid) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "INSERT INTO resident_accounts (user_id, resident_id, district, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING"
    )
    .bind(user_id)
    .bind(resident_id)
    .bind(district)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Link a resident's own account (the community has checked the person): the account must be a
/// resident's of the same district, and neither side may be linked already.
pub async fn link_account(db: &Db, actor: Actor<'_>, r: &ResidentRow, username: &str) -> AppResult<()> {
    let username = username.trim();
    let user = crate::auth::store::user_by_name(db, username)
        .await?
        .filter(|u| u.district == r.district)
        .ok_or_else(|| AppError::invalid("unknown_account", "没有这个账号"))?;
    let posts = crate::auth::store::posts_of(db, user.id).await?;
    if !posts.iter().any(|p| p.role == crate::auth::Role::Resident) {
        return Err(AppError::invalid("not_a_resident_account", "只能关联居民账号"));
    }
    let mut tx = db.begin().await?;
    if !link_account_in(&mut tx, &r.district, user.id, r.id).await? {
        return Err(AppError::conflict("account_linked", "该居民或该账号已关联，须先解除原关联"));
    }
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &r.district,
            action: "resident.account_link",
            target_kind: "resident",
            target_id: &r.id.to_string(),
            reason: "",
            detail: json!({"user": user.id}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        // Outside input: any search text is read or refused, never a panic, and what is read
        // keeps its promise (a last four is four characters, a phone a mobile, an ID 18).
        #[test]
        fn any_search_text_is_read_or_refused(q in "\\PC{0,30}|[0-9０-９ \\-]{0,24}[xX]?") {
            match parse_query(Some(&q)) {
                Ok(Query::Tail4(t)) => prop_assert!(t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit() || b == b'X')),
                Ok(Query::Phone(p)) => prop_assert!(identity::parse_mobile(&p).is_some()),
                Ok(Query::IdNumber(i)) => prop_assert_eq!(i.len(), 18),
                Ok(Query::NamePrefix(n)) => prop_assert!(!n.is_empty() && n.chars().count() <= 20),
                Ok(Query::Any) => prop_assert!(identity::half_width(&q).trim().is_empty()),
                Err(e) => prop_assert_eq!(e.code, "invalid_query"),
            }
        }
    }

    #[test]
    fn queries() {
        assert_eq!(parse_query(None).unwrap(), Query::Any);
        assert_eq!(parse_query(Some("  ")).unwrap(), Query::Any);
        assert_eq!(parse_query(Some("张")).unwrap(), Query::NamePrefix("张".into()));
        assert_eq!(parse_query(Some("123x")).unwrap(), Query::Tail4("123X".into()));
        assert_eq!(parse_query(Some("13812345678")).unwrap(), Query::Phone("13812345678".into()));
        assert_eq!(
            parse_query(Some("11010519491231002x")).unwrap(),
            Query::IdNumber("11010519491231002X".into())
        );
        assert_eq!(parse_query(Some("12345")).unwrap_err().code, "invalid_query");
        assert!(parse_query(Some(&"张".repeat(21))).is_err());
        // What an input method types, and numbers written in groups, read as the same number.
        assert_eq!(
            parse_query(Some("１３８１２３４５６７８")).unwrap(),
            Query::Phone("13812345678".into())
        );
        assert_eq!(parse_query(Some("138 1234-5678")).unwrap(), Query::Phone("13812345678".into()));
        assert_eq!(parse_query(Some("５６７８")).unwrap(), Query::Tail4("5678".into()));
        assert!(parse_query(Some("１３８１２３４５６７８")).unwrap().is_whole_number());
        assert!(!parse_query(Some("5678")).unwrap().is_whole_number());
    }
}
