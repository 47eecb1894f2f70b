//! The registry's Excel ledgers (台账): residents, households, units, places and devices to Excel;
//! residents and households from Excel.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use uuid::Uuid;

use super::api::{GridPageQuery, ResidentQuery, UnitQuery, contact_visible};
use super::residents::{self, CheckedResident, HouseholdRow, ResidentFilter, ResidentRow};
use super::service::scope_grid_in;
use super::units;
use crate::auth::{Capability, Principal};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::{GridRow, store as grids};
use crate::identity::{self, mask_id_number, mask_phone};
use crate::ledgers::{self, BoxFuture, Column, Export, ExportCtx, Import, Outcome, Record, RowError, Sink, Writer};
use crate::{on_pool, on_tx};

/// Rows read from a paged list at a time.
const PAGE: i64 = 2_000;

fn gender_label(g: &str) -> &'static str {
    match g {
        "male" => "男",
        "female" => "女",
        _ => "",
    }
}

/// 居民台账: the residents list's filters and scope; ID numbers and phones masked unless the
/// caller may reveal them in the grid exported and gives a reason (audited).
pub struct Residents;

const RESIDENT_HEADERS: &[&str] = &[
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机号",
    "楼栋编码",
    "住址",
    "与户主关系",
    "标签",
];

#[derive(sqlx::FromRow)]
struct ResidentExportRow {
    #[sqlx(flatten)]
    r: ResidentRow,
    address: String,
}

impl Export for Residents {
    fn name(&self) -> &'static str {
        "residents"
    }
    fn title(&self) -> &'static str {
        "居民台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        RESIDENT_HEADERS
    }
    fn has_personal(&self) -> bool {
        true
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: ResidentQuery = ctx.req.params()?;
            let p = &ctx.principal;
            let g = scope_grid_in(&ctx.db, p, q.grid.as_deref(), Capability::ReadRegistry).await?;
            let query = residents::parse_query(q.q.as_deref())?;
            if query.is_whole_number() {
                return Err(AppError::invalid(
                    "whole_number_lookup",
                    "按完整手机号或身份证号查找某一个人，须使用「按完整号码查找」并填写事由；检索请输入姓名或后4位",
                ));
            }
            let tag = q.tag.clone().filter(|t| !t.is_empty());
            if let Some(t) = tag.as_deref()
                && !super::TAGS.contains(&t)
            {
                return Err(AppError::invalid("invalid_tag", format!("未知标签「{t}」")));
            }
            let full = match ctx.req.full.as_deref() {
                Some(reason) => {
                    if !p.can(Capability::RevealPersonal, &g.code) {
                        return Err(AppError::new(
                            axum::http::StatusCode::FORBIDDEN,
                            "reveal_not_allowed",
                            "导出完整身份证号和手机号仅限可查看完整个人信息的岗位",
                        ));
                    }
                    let reason = ledgers::check_full(reason)?;
                    ledgers::audit_full(&ctx.db, p, "residents", &g.code, &reason).await?;
                    true
                }
                None => false,
            };
            let f = ResidentFilter {
                district: &g.district,
                grid: &g.code,
                query,
                tag: tag.as_deref(),
                limit: 0,
                offset: 0,
            };
            let sql = residents::filter_sql(&f);
            let select = format!(
                "SELECT {}, h.address FROM {} JOIN households h ON h.id = r.household_id WHERE {} ORDER BY {}",
                residents::RESIDENT_COLS,
                sql.from,
                sql.where_,
                sql.order
            );
            let vals = sql.vals;
            let db = ctx.db.clone();
            Ok(Box::new(move |mut sink: Sink| {
                Box::pin(async move {
                    let ring = crate::sealed::ring();
                    on_pool!(&db, |pool| {
                        let mut q = sqlx::query_as::<_, ResidentExportRow>(sqlx::AssertSqlSafe(select));
                        for v in &vals {
                            q = q.bind(v);
                        }
                        let mut rows = q.fetch(pool);
                        while let Some(row) = rows.try_next().await? {
                            let r = row.r;
                            let id_number = ring.open(&r.id_number).map_err(|_| AppError::internal())?;
                            let phone = ring.open(&r.phone).map_err(|_| AppError::internal())?;
                            let (birth, id_number, phone) = if full {
                                (r.birth_date.clone(), id_number, phone)
                            } else {
                                (
                                    r.birth_date.get(..4).map(|y| format!("{y}年")).unwrap_or_default(),
                                    mask_id_number(&id_number),
                                    mask_phone(&phone),
                                )
                            };
                            sink.push(vec![
                                r.name.into(),
                                gender_label(&r.gender).into(),
                                birth.into(),
                                id_number.into(),
                                phone.into(),
                                r.grid_code.into(),
                                row.address.into(),
                                r.relation.into(),
                                r.tags.replace(',', "、").into(),
                            ])
                            .await?;
                        }
                        Ok::<(), AppError>(())
                    })?;
                    Ok(sink)
                }) as BoxFuture<'static, AppResult<Sink>>
            }) as Writer)
        })
    }
}

/// 住户台账: households of a subtree, as the households list.
pub struct Households;

impl Export for Households {
    fn name(&self) -> &'static str {
        "households"
    }
    fn title(&self) -> &'static str {
        "住户台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["楼栋编码", "单元", "房号", "住址", "人数"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: GridPageQuery = ctx.req.params()?;
            let g = scope_grid_in(&ctx.db, &ctx.principal, q.grid.as_deref(), Capability::ReadRegistry).await?;
            let db = ctx.db.clone();
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, code) = (db.clone(), g.code.clone());
                async move {
                    let (rows, _) = residents::households_in(&db, &code, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|h| {
                            vec![
                                h.grid_code.into(),
                                h.unit_no.into(),
                                h.room.into(),
                                h.address.into(),
                                h.members.into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// 单位台账: units and organisations, with the contact phone as the units list shows it to
/// this caller.
pub struct Units;

impl Export for Units {
    fn name(&self) -> &'static str {
        "units"
    }
    fn title(&self) -> &'static str {
        "单位台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["名称", "类型", "所在网格", "统一社会信用代码", "联系人", "联系电话"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let p = ctx.principal.clone();
            if !p.has(Capability::ReadUnits) {
                return Err(AppError::forbidden());
            }
            let q: UnitQuery = ctx.req.params()?;
            let kind = q.kind.clone().filter(|k| !k.is_empty());
            if let Some(k) = kind.as_deref()
                && !units::UNIT_KINDS.iter().any(|u| u.0 == k)
            {
                return Err(AppError::invalid("invalid_unit_kind", format!("未知单位类型「{k}」")));
            }
            let grid = match q.grid.as_deref().filter(|g| !g.is_empty()) {
                Some(g) => Some(crate::grid::service::load(&ctx.db, &p, g, Capability::ReadUnits).await?.code),
                None => None,
            };
            let db = ctx.db.clone();
            let name = q.q.clone();
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, p, kind, grid, name) = (db.clone(), p.clone(), kind.clone(), grid.clone(), name.clone());
                async move {
                    let (rows, _) = units::list(&db, &p.district, kind.as_deref(), grid.as_deref(), name.as_deref(), limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|u| {
                            let phone = if contact_visible(&p, &u) {
                                u.contact_phone.clone()
                            } else {
                                mask_phone(&u.contact_phone)
                            };
                            vec![
                                u.name.into(),
                                units::unit_kind_label(&u.kind).into(),
                                u.grid_code.into(),
                                u.credit_code.into(),
                                u.contact_name.into(),
                                phone.into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// 重点场所台账.
pub struct Places;

impl Export for Places {
    fn name(&self) -> &'static str {
        "places"
    }
    fn title(&self) -> &'static str {
        "重点场所台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["名称", "类型", "网格编码", "地址", "纬度", "经度"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: GridPageQuery = ctx.req.params()?;
            let g = scope_grid_in(&ctx.db, &ctx.principal, q.grid.as_deref(), Capability::ReadRegistry).await?;
            let db = ctx.db.clone();
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, g) = (db.clone(), g.clone());
                async move {
                    let (rows, _) = units::places_in(&db, &g.district, &g.code, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| {
                            vec![
                                r.name.into(),
                                units::place_kind_label(&r.kind).into(),
                                r.grid_code.into(),
                                r.address.into(),
                                r.lat.into(),
                                r.lng.into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// 设施设备台账.
pub struct Devices;

/// As the devices page says it.
fn device_status_label(s: &str) -> &'static str {
    if s == "normal" { "正常" } else { "异常" }
}

impl Export for Devices {
    fn name(&self) -> &'static str {
        "devices"
    }
    fn title(&self) -> &'static str {
        "设施设备台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["序列号", "名称", "类型", "网格编码", "状态", "纬度", "经度"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: GridPageQuery = ctx.req.params()?;
            let g = scope_grid_in(&ctx.db, &ctx.principal, q.grid.as_deref(), Capability::ReadRegistry).await?;
            let db = ctx.db.clone();
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, g) = (db.clone(), g.clone());
                async move {
                    let (rows, _) = units::devices_in(&db, &g.district, &g.code, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| {
                            vec![
                                r.serial.into(),
                                r.name.into(),
                                units::device_kind_label(&r.kind).into(),
                                r.grid_code.into(),
                                device_status_label(&r.status).into(),
                                r.lat.into(),
                                r.lng.into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

// ---- Imports ----

/// Buildings named by an import, read once each: the building if it exists at level 5 and the
/// importer may write there.
struct Buildings<'a> {
    db: &'a Db,
    p: &'a Principal,
    seen: HashMap<String, Option<GridRow>>,
}

impl<'a> Buildings<'a> {
    fn new(db: &'a Db, p: &'a Principal) -> Self {
        Buildings {
            db,
            p,
            seen: HashMap::new(),
        }
    }

    /// The building, or the Chinese reason it cannot be used (never saying whether an
    /// out-of-scope code exists).
    async fn get(&mut self, code: &str) -> AppResult<Result<GridRow, &'static str>> {
        if code.is_empty() {
            return Ok(Err("请填写楼栋编码"));
        }
        if !self.seen.contains_key(code) {
            let g = grids::get(self.db, code)
                .await?
                .filter(|g| g.district == self.p.district && self.p.can(Capability::WriteRegistry, &g.code));
            self.seen.insert(code.to_string(), g);
        }
        Ok(match self.seen.get(code).cloned().flatten() {
            Some(g) if g.level == 5 => Ok(g),
            Some(_) => Err("该编码不是楼栋（第5级网格），住户只能登记在楼栋下"),
            None => Err("楼栋编码不存在或不在您的管辖范围内"),
        })
    }
}

/// A room as an import names it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct RoomKey {
    grid: String,
    unit_no: i64,
    room: String,
}

fn check_room(
    rec: &Record,
    unit_col: usize,
    room_col: usize,
    unit_h: &str,
    room_h: &str,
    errors: &mut Vec<RowError>,
) -> Option<(i64, String)> {
    let unit_no = match rec.get(unit_col).trim_end_matches("单元").parse::<i64>() {
        Ok(n) if (1..=99).contains(&n) => Some(n),
        _ => {
            errors.push(RowError::new(rec.row, unit_h, "单元号应为1至99的数字"));
            None
        }
    };
    let room = rec.get(room_col).trim_end_matches('室').to_string();
    let room_ok = !room.is_empty() && room.chars().count() <= 16;
    if !room_ok {
        errors.push(RowError::new(rec.row, room_h, "门牌/房号不能为空且不超过16字"));
    }
    Some((unit_no?, room)).filter(|_| room_ok)
}

async fn household_at(tx: &mut Tx, key: &RoomKey) -> sqlx::Result<Option<HouseholdRow>> {
    on_tx!(tx, |c| {
        sqlx::query_as::<_, HouseholdRow>(
        "SELECT id, district, grid_code, unit_no, room, address, members FROM households WHERE grid_code = $1 AND unit_no = $2 AND room = $3"
    )
    .bind(&key.grid)
    .bind(key.unit_no)
    .bind(&key.room)
    .fetch_optional(c)
    .await
    })
}

async fn household_at_pool(db: &Db, key: &RoomKey) -> sqlx::Result<Option<HouseholdRow>> {
    on_pool!(db, |c| {
        sqlx::query_as::<_, HouseholdRow>(
        "SELECT id, district, grid_code, unit_no, room, address, members FROM households WHERE grid_code = $1 AND unit_no = $2 AND room = $3"
    )
    .bind(&key.grid)
    .bind(key.unit_no)
    .bind(&key.room)
    .fetch_optional(c)
    .await
    })
}

/// Insert a household in the import's transaction (its address from the grid chain).
async fn insert_household(
    tx: &mut Tx,
    db: &Db,
    building: &GridRow,
    key: &RoomKey,
    chains: &mut HashMap<String, String>,
) -> AppResult<HouseholdRow> {
    if !chains.contains_key(&building.code) {
        let chain = grids::chain(db, &building.code).await?;
        let prefix: Vec<&str> = chain.iter().skip(1).map(|g| g.name.as_str()).collect();
        chains.insert(building.code.clone(), prefix.join(""));
    }
    let address = format!("{}{}单元{}室", chains[&building.code], key.unit_no, key.room);
    let id = new_id();
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO households (id, district, grid_code, unit_no, room, address, members, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)"
    )
    .bind(id)
    .bind(&building.district)
    .bind(&building.code)
    .bind(key.unit_no)
    .bind(&key.room)
    .bind(&address)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(HouseholdRow {
        id,
        district: building.district.clone(),
        grid_code: building.code.clone(),
        unit_no: key.unit_no,
        room: key.room.clone(),
        address,
        members: 0,
    })
}

/// 居民批量导入. The natural key is the ID number: a person already registered in the same room
/// with the same name is skipped (the same file imported twice); registered anywhere else, the
/// row is refused (without saying where). A room not registered yet is registered with them.
pub struct ResidentsImport;

const RESIDENT_COLUMNS: &[Column] = &[
    Column {
        header: "姓名",
        required: true,
        example: "张三",
        note: "不超过32字",
    },
    Column {
        header: "身份证号",
        required: true,
        example: "411602199001011234",
        note: "18位公民身份号码，校验位须正确；请以文本格式填写",
    },
    Column {
        header: "手机号",
        required: true,
        example: "13812345678",
        note: "11位手机号码",
    },
    Column {
        header: "楼栋编码",
        required: true,
        example: "411602001001001001",
        note: "第5级网格（楼栋/小组）的编码，须在您的管辖范围内",
    },
    Column {
        header: "单元",
        required: true,
        example: "1",
        note: "1至99",
    },
    Column {
        header: "房号",
        required: true,
        example: "101",
        note: "门牌/房号，不超过16字；该户未登记的将一并登记",
    },
    Column {
        header: "与户主关系",
        required: false,
        example: "户主",
        note: "户主、配偶、子女、父母、孙子女、兄弟姐妹、其他；不填为户主",
    },
    Column {
        header: "标签",
        required: false,
        example: "党员、志愿者",
        note: "重点人群标签，多个用顿号分隔",
    },
];

struct ResidentLine {
    key: RoomKey,
    building: GridRow,
    r: CheckedResident,
}

fn split_tags(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', ' '])
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

impl Import for ResidentsImport {
    fn name(&self) -> &'static str {
        "residents"
    }
    fn title(&self) -> &'static str {
        "居民"
    }
    fn columns(&self) -> &'static [Column] {
        RESIDENT_COLUMNS
    }
    fn allowed(&self, p: &Principal) -> bool {
        p.has(Capability::WriteRegistry)
    }
    fn run<'a>(&'a self, db: &'a Db, p: &'a Principal, records: Vec<Record>, dry_run: bool) -> BoxFuture<'a, AppResult<Outcome>> {
        Box::pin(async move {
            let h = |i: usize| RESIDENT_COLUMNS[i].header;
            let mut errors = Vec::new();
            let mut buildings = Buildings::new(db, p);
            let mut seen_ids: HashMap<String, u32> = HashMap::new();
            let mut lines: Vec<ResidentLine> = Vec::new();
            let mut skipped = 0;
            for rec in &records {
                let before = errors.len();
                let name = rec.get(0).to_string();
                if name.is_empty() || name.chars().count() > 32 {
                    errors.push(RowError::new(rec.row, h(0), "姓名不能为空且不超过32字"));
                }
                let id = match identity::parse_id_number(rec.get(1)) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        errors.push(RowError::new(rec.row, h(1), e.message()));
                        None
                    }
                };
                let phone = identity::parse_mobile(rec.get(2));
                if phone.is_none() {
                    errors.push(RowError::new(rec.row, h(2), "手机号码应为11位，以13至19开头"));
                }
                let building = match buildings.get(rec.get(3)).await? {
                    Ok(g) => Some(g),
                    Err(m) => {
                        errors.push(RowError::new(rec.row, h(3), m));
                        None
                    }
                };
                let room = check_room(rec, 4, 5, h(4), h(5), &mut errors);
                let relation = if rec.get(6).is_empty() { "户主" } else { rec.get(6) };
                if !residents::RELATIONS.contains(&relation) {
                    errors.push(RowError::new(
                        rec.row,
                        h(6),
                        format!("与户主关系应为：{}", residents::RELATIONS.join("、")),
                    ));
                }
                let tags = match super::check_tags(&split_tags(rec.get(7))) {
                    Ok(t) => t,
                    Err(m) => {
                        errors.push(RowError::new(rec.row, h(7), m));
                        Vec::new()
                    }
                };
                let (Some((id_number, birth_date, gender)), Some(phone), Some(building), Some((unit_no, room))) =
                    (id, phone, building, room)
                else {
                    continue;
                };
                if let Some(first) = seen_ids.insert(id_number.clone(), rec.row) {
                    errors.push(RowError::new(rec.row, h(1), format!("与第{first}行的身份证号重复")));
                    continue;
                }
                let key = RoomKey {
                    grid: building.code.clone(),
                    unit_no,
                    room,
                };
                if let Some(existing) = residents::by_id_number(db, &p.district, &id_number).await? {
                    let same_room = household_at_pool(db, &key).await?.is_some_and(|hh| hh.id == existing.household_id);
                    if same_room && existing.name == name {
                        skipped += 1;
                    } else {
                        errors.push(RowError::new(
                            rec.row,
                            h(1),
                            "该身份证号已在本区其他住户登记，不能重复登记；如需迁入，请联系社区核实",
                        ));
                    }
                    continue;
                }
                if errors.len() == before {
                    lines.push(ResidentLine {
                        key,
                        building,
                        r: CheckedResident {
                            name,
                            id_number,
                            birth_date,
                            gender,
                            phone,
                            relation: relation.to_string(),
                            tags,
                        },
                    });
                }
            }
            let mut out = Outcome {
                rows: records.len(),
                skipped,
                errors,
                ..Outcome::default()
            };
            if !out.errors.is_empty() || dry_run || lines.is_empty() {
                return Ok(out);
            }
            let mut tx = db.begin().await?;
            let mut homes: HashMap<RoomKey, HouseholdRow> = HashMap::new();
            let mut chains = HashMap::new();
            let mut members: HashMap<Uuid, i64> = HashMap::new();
            let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
            let now = now_ms();
            for line in &lines {
                if !homes.contains_key(&line.key) {
                    let hh = match household_at(&mut tx, &line.key).await? {
                        Some(hh) => hh,
                        None => {
                            counts.entry(line.building.code.clone()).or_default().0 += 1;
                            insert_household(&mut tx, db, &line.building, &line.key, &mut chains).await?
                        }
                    };
                    homes.insert(line.key.clone(), hh);
                }
                let hh = &homes[&line.key];
                residents::insert_resident(&mut tx, new_id(), hh, &line.r, now).await.map_err(|e| {
                    if crate::db::is_unique_violation(&e) {
                        AppError::conflict("import_conflict", "导入期间有人登记了相同的身份证号，请重新检查后再导入")
                    } else {
                        e.into()
                    }
                })?;
                *members.entry(hh.id).or_default() += 1;
                counts.entry(line.building.code.clone()).or_default().1 += 1;
            }
            for (id, n) in &members {
                on_tx!(&mut tx, |c| sqlx::query(
                    "UPDATE households SET members = members + $1 WHERE id = $2"
                )
                .bind(n)
                .bind(id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
            }
            for (code, (hh, rs)) in &counts {
                grids::bump_counts(&mut tx, code, *hh, *rs).await?;
            }
            out.created = lines.len();
            ledgers::audit_import(&mut tx, p, "residents", out.created, out.skipped).await?;
            tx.commit().await?;
            Ok(out)
        })
    }
}

/// 住户批量导入: rooms of buildings; the natural key is the room (building, unit, room).
pub struct HouseholdsImport;

const HOUSEHOLD_COLUMNS: &[Column] = &[
    Column {
        header: "楼栋编码",
        required: true,
        example: "411602001001001001",
        note: "第5级网格（楼栋/小组）的编码，须在您的管辖范围内",
    },
    Column {
        header: "单元",
        required: true,
        example: "1",
        note: "1至99",
    },
    Column {
        header: "房号",
        required: true,
        example: "101",
        note: "门牌/房号，不超过16字",
    },
];

impl Import for HouseholdsImport {
    fn name(&self) -> &'static str {
        "households"
    }
    fn title(&self) -> &'static str {
        "住户"
    }
    fn columns(&self) -> &'static [Column] {
        HOUSEHOLD_COLUMNS
    }
    fn allowed(&self, p: &Principal) -> bool {
        p.has(Capability::WriteRegistry)
    }
    fn run<'a>(&'a self, db: &'a Db, p: &'a Principal, records: Vec<Record>, dry_run: bool) -> BoxFuture<'a, AppResult<Outcome>> {
        Box::pin(async move {
            let h = |i: usize| HOUSEHOLD_COLUMNS[i].header;
            let mut errors = Vec::new();
            let mut buildings = Buildings::new(db, p);
            let mut seen: HashMap<RoomKey, u32> = HashMap::new();
            let mut lines: Vec<(RoomKey, GridRow)> = Vec::new();
            let mut skipped = 0;
            for rec in &records {
                let building = match buildings.get(rec.get(0)).await? {
                    Ok(g) => Some(g),
                    Err(m) => {
                        errors.push(RowError::new(rec.row, h(0), m));
                        None
                    }
                };
                let room = check_room(rec, 1, 2, h(1), h(2), &mut errors);
                let (Some(building), Some((unit_no, room))) = (building, room) else {
                    continue;
                };
                let key = RoomKey {
                    grid: building.code.clone(),
                    unit_no,
                    room,
                };
                if let Some(first) = seen.insert(key.clone(), rec.row) {
                    errors.push(RowError::new(rec.row, h(2), format!("与第{first}行是同一户")));
                    continue;
                }
                if household_at_pool(db, &key).await?.is_some() {
                    skipped += 1;
                    continue;
                }
                lines.push((key, building));
            }
            let mut out = Outcome {
                rows: records.len(),
                skipped,
                errors,
                ..Outcome::default()
            };
            if !out.errors.is_empty() || dry_run || lines.is_empty() {
                return Ok(out);
            }
            let mut tx = db.begin().await?;
            let mut chains = HashMap::new();
            let mut counts: HashMap<String, i64> = HashMap::new();
            for (key, building) in &lines {
                insert_household(&mut tx, db, building, key, &mut chains).await.map_err(|e| {
                    if e.code == "internal" {
                        AppError::conflict("import_conflict", "导入期间有人登记了相同的住户，请重新检查后再导入")
                    } else {
                        e
                    }
                })?;
                *counts.entry(building.code.clone()).or_default() += 1;
            }
            for (code, n) in &counts {
                grids::bump_counts(&mut tx, code, *n, 0).await?;
            }
            out.created = lines.len();
            ledgers::audit_import(&mut tx, p, "households", out.created, out.skipped).await?;
            tx.commit().await?;
            Ok(out)
        })
    }
}

/// 单位批量导入: units and organisations; the natural key is the kind and the name (a unit of
/// that kind and name is skipped, as the registry refuses a second one).
pub struct UnitsImport;

const UNIT_COLUMNS: &[Column] = &[
    Column {
        header: "名称",
        required: true,
        example: "阳光物业服务有限公司",
        note: "不超过64字",
    },
    Column {
        header: "类型",
        required: true,
        example: "物业公司",
        note: "职能部门、物业公司、社区居委会、党组织、业主委员会、党群议事会、志愿服务队、商会、爱心超市、爱心商家",
    },
    Column {
        header: "所在网格编码",
        required: false,
        example: "411602001001001",
        note: "单位所在的网格（区直部门可不填），须在您的管辖范围内",
    },
    Column {
        header: "统一社会信用代码",
        required: false,
        example: "91411602MA44XXXXXX",
        note: "18位，物业公司必填",
    },
    Column {
        header: "联系人",
        required: false,
        example: "李四",
        note: "",
    },
    Column {
        header: "联系电话",
        required: false,
        example: "0394-8123456",
        note: "手机或座机",
    },
];

struct UnitLine {
    kind: &'static str,
    name: String,
    grid: Option<String>,
    credit: Option<String>,
    contact_name: String,
    phone: String,
}

impl Import for UnitsImport {
    fn name(&self) -> &'static str {
        "units"
    }
    fn title(&self) -> &'static str {
        "单位"
    }
    fn columns(&self) -> &'static [Column] {
        UNIT_COLUMNS
    }
    fn allowed(&self, p: &Principal) -> bool {
        p.has(Capability::WriteUnits)
    }
    fn run<'a>(&'a self, db: &'a Db, p: &'a Principal, records: Vec<Record>, dry_run: bool) -> BoxFuture<'a, AppResult<Outcome>> {
        Box::pin(async move {
            let h = |i: usize| UNIT_COLUMNS[i].header;
            let mut errors = Vec::new();
            let mut seen: HashMap<(&'static str, String), u32> = HashMap::new();
            let mut lines = Vec::new();
            let mut skipped = 0;
            for rec in &records {
                let before = errors.len();
                let name = rec.get(0).to_string();
                if name.is_empty() || name.chars().count() > 64 {
                    errors.push(RowError::new(rec.row, h(0), "单位名称不能为空且不超过64字"));
                }
                let kind = units::UNIT_KINDS
                    .iter()
                    .find(|k| k.0 == rec.get(1) || k.1 == rec.get(1))
                    .map(|k| k.0);
                if kind.is_none() {
                    errors.push(RowError::new(rec.row, h(1), format!("单位类型应为：{}", UNIT_COLUMNS[1].note)));
                }
                let grid = Some(rec.get(2).to_string()).filter(|g| !g.is_empty());
                if let Some(g) = grid.as_deref() {
                    let ok = grids::get(db, g)
                        .await?
                        .is_some_and(|x| x.district == p.district && p.can(Capability::WriteUnits, &x.code));
                    if !ok {
                        errors.push(RowError::new(rec.row, h(2), "网格编码不存在或不在您的管辖范围内"));
                    }
                }
                let credit = match Some(rec.get(3)).filter(|c| !c.is_empty()) {
                    Some(c) => match identity::parse_credit_code(c) {
                        Ok(c) => Some(c),
                        Err(m) => {
                            errors.push(RowError::new(rec.row, h(3), m));
                            None
                        }
                    },
                    None if kind == Some("property_company") => {
                        errors.push(RowError::new(rec.row, h(3), "物业公司须填写统一社会信用代码"));
                        None
                    }
                    None => None,
                };
                let phone = if rec.get(5).is_empty() {
                    String::new()
                } else {
                    identity::parse_contact_phone(rec.get(5)).unwrap_or_else(|| {
                        errors.push(RowError::new(rec.row, h(5), "联系电话格式不正确"));
                        String::new()
                    })
                };
                let Some(kind) = kind else { continue };
                if let Some(first) = seen.insert((kind, name.clone()), rec.row) {
                    errors.push(RowError::new(rec.row, h(0), format!("与第{first}行是同一单位")));
                    continue;
                }
                if errors.len() > before {
                    continue;
                }
                let (existing, _) = units::list(db, &p.district, Some(kind), None, Some(&name), 100, 0).await?;
                if existing.iter().any(|u| u.name == name) {
                    skipped += 1;
                    continue;
                }
                lines.push(UnitLine {
                    kind,
                    name,
                    grid,
                    credit,
                    contact_name: rec.get(4).to_string(),
                    phone,
                });
            }
            let mut out = Outcome {
                rows: records.len(),
                skipped,
                errors,
                ..Outcome::default()
            };
            if !out.errors.is_empty() || dry_run || lines.is_empty() {
                return Ok(out);
            }
            let mut tx = db.begin().await?;
            let now = now_ms();
            for u in &lines {
                on_tx!(&mut tx, |c| sqlx::query(
                    "INSERT INTO units (id, district, kind, name, grid_code, credit_code, contact_name, contact_phone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                )
                .bind(new_id())
                .bind(&p.district)
                .bind(u.kind)
                .bind(&u.name)
                .bind(&u.grid)
                .bind(&u.credit)
                .bind(&u.contact_name)
                .bind(&u.phone)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
                .map_err(|e| {
                    if crate::db::is_unique_violation(&e) {
                        AppError::conflict("import_conflict", "导入期间有人登记了相同的单位，请重新检查后再导入")
                    } else {
                        e.into()
                    }
                })?;
            }
            out.created = lines.len();
            ledgers::audit_import(&mut tx, p, "units", out.created, out.skipped).await?;
            tx.commit().await?;
            Ok(out)
        })
    }
}

/// Devices (设施设备台账): the serial is the natural key, so a second import of a file skips the
/// devices it already stored; a device without a position sits at its grid node's centre.
pub struct DevicesImport;

const DEVICE_COLUMNS: &[Column] = &[
    Column {
        header: "序列号",
        required: true,
        example: "CH0012345",
        note: "设备上报告警时用的编号，字母、数字、-或_，不超过64位，全区唯一",
    },
    Column {
        header: "名称",
        required: true,
        example: "1号楼1单元烟感",
        note: "不超过64字",
    },
    Column {
        header: "类型",
        required: true,
        example: "烟感报警器",
        note: "电动车充电桩、监控摄像头、烟感报警器、门禁道闸、井盖",
    },
    Column {
        header: "网格编码",
        required: true,
        example: "411602001001001001",
        note: "设备所在的网格（通常是楼栋或小区），须在您的管辖范围内",
    },
    Column {
        header: "纬度",
        required: false,
        example: "33.62",
        note: "与经度同填或同不填；不填则取网格中心",
    },
    Column {
        header: "经度",
        required: false,
        example: "114.65",
        note: "",
    },
];

struct DeviceLine {
    serial: String,
    name: String,
    kind: &'static str,
    grid: String,
    lat: f64,
    lng: f64,
}

/// Whether a device with this serial is already registered in the district.
async fn device_exists(db: &Db, district: &str, serial: &str) -> sqlx::Result<bool> {
    on_pool!(db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM devices WHERE district = $1 AND serial = $2"
    )
    .bind(district)
    .bind(serial)
    .fetch_one(p)
    .await
    .map(|n| n > 0))
}

impl Import for DevicesImport {
    fn name(&self) -> &'static str {
        "devices"
    }
    fn title(&self) -> &'static str {
        "设施设备"
    }
    fn columns(&self) -> &'static [Column] {
        DEVICE_COLUMNS
    }
    fn allowed(&self, p: &Principal) -> bool {
        p.has(Capability::WriteRegistry)
    }
    fn run<'a>(&'a self, db: &'a Db, p: &'a Principal, records: Vec<Record>, dry_run: bool) -> BoxFuture<'a, AppResult<Outcome>> {
        Box::pin(async move {
            let h = |i: usize| DEVICE_COLUMNS[i].header;
            let mut errors = Vec::new();
            let mut seen: HashMap<String, u32> = HashMap::new();
            let mut grids_seen: HashMap<String, Option<GridRow>> = HashMap::new();
            let mut lines = Vec::new();
            let mut skipped = 0;
            for rec in &records {
                let before = errors.len();
                let serial = rec.get(0).to_string();
                let serial_ok =
                    !serial.is_empty() && serial.len() <= 64 && serial.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !serial_ok {
                    errors.push(RowError::new(rec.row, h(0), "序列号应为1至64位字母、数字、-或_"));
                }
                let name = rec.get(1).to_string();
                if name.is_empty() || name.chars().count() > 64 {
                    errors.push(RowError::new(rec.row, h(1), "名称不能为空且不超过64字"));
                }
                let kind = units::DEVICE_KINDS
                    .iter()
                    .find(|k| k.0 == rec.get(2) || k.1 == rec.get(2))
                    .map(|k| k.0);
                if kind.is_none() {
                    errors.push(RowError::new(rec.row, h(2), format!("类型应为：{}", DEVICE_COLUMNS[2].note)));
                }
                let code = rec.get(3).to_string();
                if !grids_seen.contains_key(&code) {
                    let g = if code.is_empty() || code.len() > 32 {
                        None
                    } else {
                        grids::get(db, &code)
                            .await?
                            .filter(|g| g.district == p.district && p.can(Capability::WriteRegistry, &g.code))
                    };
                    grids_seen.insert(code.clone(), g);
                }
                let grid = grids_seen.get(&code).cloned().flatten();
                if grid.is_none() {
                    errors.push(RowError::new(rec.row, h(3), "网格编码不存在或不在您的管辖范围内"));
                }
                let number = |i: usize| -> Result<Option<f64>, ()> {
                    match rec.get(i) {
                        "" => Ok(None),
                        t => t.parse::<f64>().map(Some).map_err(|_| ()),
                    }
                };
                let position = match (number(4), number(5)) {
                    (Ok(None), Ok(None)) => grid.as_ref().map(|g| (g.center_lat, g.center_lng)),
                    (Ok(Some(a)), Ok(Some(b))) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => Some((a, b)),
                    _ => {
                        errors.push(RowError::new(rec.row, h(4), "纬度、经度应同填或同不填，且为有效的数值"));
                        None
                    }
                };
                if serial_ok && let Some(first) = seen.insert(serial.clone(), rec.row) {
                    errors.push(RowError::new(rec.row, h(0), format!("与第{first}行的序列号相同")));
                    continue;
                }
                let (Some(kind), Some(grid), Some((lat, lng))) = (kind, grid, position) else {
                    continue;
                };
                if errors.len() > before {
                    continue;
                }
                if device_exists(db, &p.district, &serial).await? {
                    skipped += 1;
                    continue;
                }
                lines.push(DeviceLine {
                    serial,
                    name,
                    kind,
                    grid: grid.code,
                    lat,
                    lng,
                });
            }
            let mut out = Outcome {
                rows: records.len(),
                skipped,
                errors,
                ..Outcome::default()
            };
            if !out.errors.is_empty() || dry_run || lines.is_empty() {
                return Ok(out);
            }
            let mut tx = db.begin().await?;
            let now = now_ms();
            for d in &lines {
                on_tx!(&mut tx, |c| sqlx::query(
                    "INSERT INTO devices (id, district, grid_code, kind, name, serial, lat, lng, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                )
                .bind(new_id())
                .bind(&p.district)
                .bind(&d.grid)
                .bind(d.kind)
                .bind(&d.name)
                .bind(&d.serial)
                .bind(d.lat)
                .bind(d.lng)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
                .map_err(|e| {
                    if crate::db::is_unique_violation(&e) {
                        AppError::conflict("import_conflict", "导入期间有人登记了相同序列号的设备，请重新检查后再导入")
                    } else {
                        e.into()
                    }
                })?;
            }
            out.created = lines.len();
            ledgers::audit_import(&mut tx, p, "devices", out.created, out.skipped).await?;
            tx.commit().await?;
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_on_what_people_type() {
        assert_eq!(split_tags("党员、志愿者"), vec!["党员", "志愿者"]);
        assert_eq!(split_tags("党员,志愿者；低保"), vec!["党员", "志愿者", "低保"]);
        assert!(split_tags("").is_empty());
    }

    #[test]
    fn rooms_are_checked_with_their_columns() {
        let rec = Record {
            row: 7,
            cells: vec!["2单元".into(), "301室".into()],
        };
        let mut errs = Vec::new();
        assert_eq!(check_room(&rec, 0, 1, "单元", "房号", &mut errs), Some((2, "301".into())));
        let rec = Record {
            row: 8,
            cells: vec!["0".into(), "".into()],
        };
        assert_eq!(check_room(&rec, 0, 1, "单元", "房号", &mut errs), None);
        assert_eq!(errs.len(), 2);
        assert_eq!((errs[0].row, errs[0].column.as_str()), (8, "单元"));
        assert_eq!(errs[1].column, "房号");
    }
}
