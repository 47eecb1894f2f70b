//! Frontage operations (门前三包), shared by the API, the pages and the demo: agreements signed by
//! street or community staff, patrol checks (a month's third failure brings a notice, the next a
//! case in the shop's grid, in the check's own transaction), compliance per street, community and
//! shop — each scoped to the caller's posts.

use std::path::Path;

use serde_json::json;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::rules::{self, Results, Step};
use super::store::{self, AgreementRow, CheckRow, NoticeRow};
use crate::audit;
use crate::auth::{Capability, Principal};
use crate::cases::{CasesState, service::NewCase, service::Reporter};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::code_len;

/// Text from a form: NFKC, trimmed.
pub fn clean(s: &str) -> String {
    s.nfkc().collect::<String>().trim().to_string()
}

/// The street (level-2 node) a grid code lies in.
pub fn street_of(code: &str) -> &str {
    &code[..code.len().min(code_len(2))]
}

/// May `p` patrol the frontages of `street` (包括查看): a grid officer or staff post (WriteRegistry)
/// in that street or above it. A building officer of another street may not.
pub fn may_patrol(p: &Principal, street: &str) -> bool {
    p.posts.iter().any(|x| {
        x.role.grants(Capability::WriteRegistry)
            && match &x.grid_code {
                Some(g) => g.starts_with(street) || street.starts_with(g.as_str()),
                None => street.starts_with(p.district.as_str()),
            }
    })
}

/// May `p` read the agreement whose grid is `grid`: a reader of the registry there, or a patrol
/// of its street.
pub fn may_read(p: &Principal, grid: &str) -> bool {
    grid.starts_with(p.district.as_str()) && (p.can(Capability::ReadRegistry, grid) || may_patrol(p, street_of(grid)))
}

/// The grid roots a list covers: the node asked for if the caller reads it, else all of theirs
/// (a patrol's street for a building officer).
pub fn read_roots(p: &Principal, grid: Option<&str>) -> AppResult<Vec<String>> {
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看门前三包"));
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if g.len() <= 32 && g.bytes().all(|b| b.is_ascii_digit()) && may_read(p, g) => Ok(vec![g.to_string()]),
        Some(_) => Err(AppError::not_found("该网格")),
        None => {
            let mut roots: Vec<String> = Vec::new();
            for r in p.roots(Capability::ReadRegistry) {
                let widened = if may_patrol(p, street_of(&r)) {
                    street_of(&r).to_string()
                } else {
                    r
                };
                if !roots.iter().any(|o| widened.starts_with(o.as_str())) {
                    roots.retain(|o| !o.starts_with(widened.as_str()));
                    roots.push(widened);
                }
            }
            Ok(roots)
        }
    }
}

/// An agreement as staff send it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NewAgreement {
    /// The grid node the frontage lies in (a street, community or compound in the street).
    pub grid: String,
    /// The shop or unit (商户/单位名称), 1–64 characters.
    pub shop_name: String,
    /// Its address, 1–128 characters.
    pub address: String,
    /// Who signs for the shop (负责人), 1–32 characters.
    pub signer_name: String,
    /// The signer's mobile (11 digits), optional; shown masked.
    #[serde(default)]
    pub signer_phone: String,
    /// The street office or community signing for the other party; default the grid's name.
    #[serde(default)]
    pub party_name: String,
    /// The frontage segment as words (e.g. 交通路东段 12 号至 18 号门前), 1–200 characters.
    pub segment: String,
    /// Duties: sanitation, orderliness, greenery (or 包卫生、包秩序、包绿化); default all three.
    #[serde(default)]
    pub duties: Vec<String>,
    /// The day signed, YYYY-MM-DD; default today.
    #[serde(default)]
    pub signed_on: String,
    /// The term in months, 1–60; default 12.
    pub term_months: Option<i64>,
    /// The segment's two ends on the map, optional.
    pub from_lat: Option<f64>,
    pub from_lng: Option<f64>,
    pub to_lat: Option<f64>,
    pub to_lng: Option<f64>,
}

fn bounded(s: &str, min: usize, max: usize, code: &'static str, msg: &'static str) -> AppResult<String> {
    let s = clean(s);
    let n = s.chars().count();
    if n < min || n > max {
        return Err(AppError::invalid(code, msg));
    }
    Ok(s)
}

/// Bound and check a position sent by a phone: both or neither, finite, in range.
pub fn check_position(lat: Option<f64>, lng: Option<f64>) -> AppResult<Option<(f64, f64)>> {
    match (lat, lng) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() && (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => {
            Ok(Some((a, b)))
        }
        _ => Err(AppError::invalid("invalid_location", "位置信息有误，请重新定位或不带位置提交")),
    }
}

/// Create an agreement: street or community staff (ManageGrid) over the frontage's grid.
pub async fn create_agreement(db: &Db, p: &Principal, a: &NewAgreement) -> AppResult<AgreementRow> {
    if !p.has(Capability::ManageGrid) {
        return Err(AppError::forbidden_to("只有街道、社区工作人员可以签订门前三包责任书"));
    }
    let grid_code = clean(&a.grid);
    if grid_code.is_empty() || grid_code.len() > 32 || !grid_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("invalid_grid", "请选择门前路段所在的网格"));
    }
    let g = crate::grid::store::get(db, &grid_code)
        .await?
        .filter(|g| g.district == p.district && p.can(Capability::ReadGrid, &g.code))
        .ok_or_else(|| AppError::not_found("该网格"))?;
    if !p.can(Capability::ManageGrid, &g.code) {
        return Err(AppError::not_found("该网格"));
    }
    if g.level < 2 {
        return Err(AppError::invalid("invalid_grid", "请选择街道或其下的网格"));
    }
    let shop_name = bounded(&a.shop_name, 1, 64, "invalid_shop_name", "请填写商户或单位名称（不超过64字）")?;
    let address = bounded(&a.address, 1, 128, "invalid_address", "请填写地址（不超过128字）")?;
    let signer_name = bounded(&a.signer_name, 1, 32, "invalid_signer", "请填写商户负责人（不超过32字）")?;
    let phone = crate::identity::half_width(a.signer_phone.trim()).replace([' ', '-'], "");
    let mobile = phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit());
    if !phone.is_empty() && !mobile {
        return Err(AppError::invalid("invalid_phone", "手机号应为11位数字"));
    }
    let party_name = match clean(&a.party_name) {
        s if s.is_empty() => g.name.chars().take(64).collect(),
        _ => bounded(&a.party_name, 1, 64, "invalid_party", "请填写签订单位（不超过64字）")?,
    };
    let segment = bounded(&a.segment, 1, 200, "invalid_segment", "请填写责任路段（不超过200字）")?;
    let duties = if a.duties.is_empty() {
        rules::ALL_DUTIES
    } else if a.duties.len() > 3 {
        return Err(AppError::invalid("invalid_duties", "责任应为包卫生、包秩序、包绿化"));
    } else {
        rules::parse_duties(&a.duties).ok_or_else(|| AppError::invalid("invalid_duties", "责任应为包卫生、包秩序、包绿化"))?
    };
    let signed_on = match clean(&a.signed_on) {
        s if s.is_empty() => crate::time::day_ms(now_ms()),
        s => {
            let d: jiff::civil::Date = s.parse().map_err(|_| AppError::invalid("invalid_date", "签订日期应为 年-月-日"))?;
            if d.year() < 2000 || d > jiff::Timestamp::now().to_zoned(crate::time::china()).date() {
                return Err(AppError::invalid("invalid_date", "签订日期不能晚于今天"));
            }
            d.to_string()
        }
    };
    let term_months = a.term_months.unwrap_or(12);
    if !(1..=60).contains(&term_months) {
        return Err(AppError::invalid("invalid_term", "期限应为1至60个月"));
    }
    let from = check_position(a.from_lat, a.from_lng)?;
    let to = check_position(a.to_lat, a.to_lng)?;
    let row = AgreementRow {
        id: new_id(),
        district: p.district.clone(),
        grid_code: g.code.clone(),
        street_code: street_of(&g.code).to_string(),
        shop_name,
        address,
        signer_name,
        signer_phone: phone,
        party_name,
        segment,
        from_lat: from.map(|x| x.0),
        from_lng: from.map(|x| x.1),
        to_lat: to.map(|x| x.0),
        to_lng: to.map(|x| x.1),
        duties,
        signed_on,
        term_months,
        created_by: Some(p.user_id),
        created_at: now_ms(),
    };
    let mut tx = db.begin().await?;
    store::insert_agreement(&mut tx, &row).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &row.district,
            action: "frontage.agreement",
            target_kind: "frontage_agreement",
            target_id: &row.id.to_string(),
            reason: "",
            detail: json!({"grid": row.grid_code, "duties": row.duties, "term_months": row.term_months}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// An agreement the caller may read, or 404.
pub async fn agreement_to_read(db: &Db, p: &Principal, id: Uuid) -> AppResult<AgreementRow> {
    store::agreement(db, id)
        .await?
        .filter(|a| a.district == p.district && may_read(p, &a.grid_code))
        .ok_or_else(|| AppError::not_found("该责任书"))
}

/// The agreements under the caller's roots (or the node asked for), a page of them.
pub async fn agreements(db: &Db, p: &Principal, grid: Option<&str>, limit: i64, offset: i64) -> AppResult<(Vec<AgreementRow>, i64)> {
    let roots = read_roots(p, grid)?;
    let mut all = Vec::new();
    let mut total = 0;
    for r in &roots {
        let (rows, n) = store::agreements_under(db, &p.district, r, limit + offset, 0).await?;
        all.extend(rows);
        total += n;
    }
    all.sort_by(|a, b| a.grid_code.cmp(&b.grid_code).then_with(|| a.shop_name.cmp(&b.shop_name)));
    Ok((all.into_iter().skip(offset as usize).take(limit as usize).collect(), total))
}

/// A check as the phone sends it.
#[derive(Debug, Clone, Default)]
pub struct NewCheck {
    pub results: Results,
    pub note: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// What a check gives back.
#[derive(Debug, Clone)]
pub struct Checked {
    pub check: CheckRow,
    /// Failed checks this month, this one included.
    pub failures: i64,
    pub step: Step,
    pub case_id: Option<Uuid>,
}

fn flag(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

/// Record a patrol's check of an agreement: every agreed duty pass or fail, a photo on a fail, the
/// place kept. The month's third failure writes a notice (整改通知) to the shop's signer; the
/// next failure after it files a case in the shop's grid (category by the duty failed most).
pub async fn record_check(cases: &CasesState, p: &Principal, id: Uuid, c: &NewCheck, photo: Option<&[u8]>) -> AppResult<Checked> {
    if !p.has(Capability::WriteRegistry) {
        return Err(AppError::forbidden_to("该角色不能检查门前三包"));
    }
    let db = &cases.db;
    let a = store::agreement(db, id)
        .await?
        .filter(|a| a.district == p.district && may_read(p, &a.grid_code))
        .ok_or_else(|| AppError::not_found("该责任书"))?;
    if !may_patrol(p, &a.street_code) {
        return Err(AppError::forbidden_to("只能检查本街道的门前三包"));
    }
    let passed = rules::outcome(a.duties, &c.results, photo.is_some()).map_err(|e| AppError::invalid(e.code(), e.message()))?;
    let note = clean(&c.note);
    if note.chars().count() > 500 {
        return Err(AppError::invalid("invalid_note", "备注不超过500字"));
    }
    let at = check_position(c.lat, c.lng)?;
    let photo = match photo {
        Some(bytes) => Some(crate::cases::attachments::keep(&cases.data_dir, bytes).await?),
        None => None,
    };
    let now = now_ms();
    let check = CheckRow {
        id: new_id(),
        agreement_id: a.id,
        district: a.district.clone(),
        grid_code: a.grid_code.clone(),
        checked_at: now,
        month: rules::month_of(now),
        checked_by: Some(p.user_id),
        checker_name: p.display_name.chars().take(64).collect(),
        sanitation: flag(c.results.sanitation),
        orderliness: flag(c.results.orderliness),
        greenery: flag(c.results.greenery),
        passed,
        note,
        lat: at.map(|x| x.0),
        lng: at.map(|x| x.1),
        photo_sha256: photo.as_ref().map(|x| x.0.clone()),
        photo_mime: photo.as_ref().map(|x| x.1.to_string()),
    };
    let mut tx = db.begin().await?;
    store::lock_agreement(&mut tx, a.id).await?;
    let (before, per_duty) = store::month_failures(&mut tx, a.id, &check.month).await?;
    let had = store::month_notices(&mut tx, a.id, &check.month).await?;
    let failures = before + i64::from(!passed);
    let step = rules::next_step(
        !passed,
        failures as u32,
        had.iter().any(|k| k == "notice"),
        had.iter().any(|k| k == "case"),
    );
    if step != Step::Case {
        store::insert_check(&mut tx, &check).await?;
        if step == Step::Notice {
            let message = format!(
                "【门前三包整改通知】{}：本月门前{}已{}次检查不合格，请于3日内整改。再次不合格将立案交有关部门处理。",
                a.shop_name,
                rules::duty_labels(check_failed(&check)),
                failures
            );
            store::insert_notice(
                &mut tx,
                &NoticeRow {
                    id: new_id(),
                    agreement_id: a.id,
                    district: a.district.clone(),
                    month: check.month.clone(),
                    kind: "notice".into(),
                    check_id: check.id,
                    case_id: None,
                    message,
                    created_at: now,
                },
            )
            .await?;
        }
        audit::record(
            &mut tx,
            p.actor(),
            audit::Entry {
                district: &a.district,
                action: if step == Step::Notice {
                    "frontage.notice"
                } else {
                    "frontage.check"
                },
                target_kind: "frontage_agreement",
                target_id: &a.id.to_string(),
                reason: "",
                detail: json!({"check": check.id, "passed": passed, "failures": failures, "photo": check.photo_sha256.is_some()}),
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(Checked {
            check,
            failures,
            step,
            case_id: None,
        });
    }
    // The case: checked as a report, then written with the check and its notice row in this
    // transaction, which holds the agreement's lock (so a month gets one case).
    let mut counts = [0u32; 3];
    for (i, n) in per_duty.iter().enumerate() {
        counts[i] = *n as u32;
    }
    for (i, v) in [check.sanitation, check.orderliness, check.greenery].iter().enumerate() {
        if *v == Some(0) {
            counts[i] += 1;
        }
    }
    let category = category_code(db, &a.district, rules::category_name(counts)).await?;
    let description = format!(
        "门前三包：{}（{}）责任路段{}，本月第{}次检查不合格（{}），已发整改通知仍未整改，请有关部门依法处理。",
        a.shop_name,
        a.address,
        a.segment,
        failures,
        rules::duty_labels(check_failed(&check))
    );
    let new = NewCase {
        category,
        description: description.chars().take(2000).collect(),
        lat: None,
        lng: None,
        grid: Some(a.grid_code.clone()),
        source: None,
        reported_at: None,
        attributes: None,
        private: Some(false),
    };
    let report = crate::cases::service::check(cases, Reporter::User(p), &new, None).await?;
    let made = crate::cases::service::insert_all(&mut tx, std::slice::from_ref(&report)).await?;
    let case_id = made.first().map(|c| c.id).ok_or_else(AppError::internal)?;
    store::insert_check(&mut tx, &check).await?;
    store::insert_notice(
        &mut tx,
        &NoticeRow {
            id: new_id(),
            agreement_id: a.id,
            district: a.district.clone(),
            month: check.month.clone(),
            kind: "case".into(),
            check_id: check.id,
            case_id: Some(case_id),
            message: format!("本月第{failures}次不合格，已立案"),
            created_at: now,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &a.district,
            action: "frontage.check",
            target_kind: "frontage_agreement",
            target_id: &a.id.to_string(),
            reason: "",
            detail: json!({"check": check.id, "passed": passed, "failures": failures, "case": case_id}),
        },
    )
    .await?;
    tx.commit().await?;
    crate::cases::service::announced(cases, &made);
    Ok(Checked {
        check,
        failures,
        step,
        case_id: Some(case_id),
    })
}

fn check_failed(c: &CheckRow) -> i64 {
    rules::Results {
        sanitation: c.sanitation.map(|v| v != 0),
        orderliness: c.orderliness.map(|v| v != 0),
        greenery: c.greenery.map(|v| v != 0),
    }
    .failed()
}

/// The district's active leaf category of that name (its code), or empty (the router files it).
async fn category_code(db: &Db, district: &str, name: &str) -> AppResult<String> {
    let all = crate::cases::categories::list(db, district).await?;
    Ok(all
        .iter()
        .find(|c| c.is_leaf() && c.active && c.name == name)
        .or_else(|| all.iter().find(|c| c.is_leaf() && c.active && c.name == "环境卫生"))
        .map(|c| c.code.clone())
        .unwrap_or_default())
}

/// The bytes and type of a check's photo.
pub async fn photo(db: &Db, data_dir: &Path, p: &Principal, check: Uuid) -> AppResult<(Vec<u8>, String)> {
    let c = store::check(db, check)
        .await?
        .filter(|c| c.district == p.district && may_read(p, &c.grid_code))
        .ok_or_else(|| AppError::not_found("该照片"))?;
    let (Some(sha), Some(mime)) = (c.photo_sha256, c.photo_mime) else {
        return Err(AppError::not_found("该照片"));
    };
    let bytes = crate::cases::attachments::read_kept(data_dir, &sha).await?;
    Ok((bytes, mime))
}

/// One line of a compliance table.
#[derive(Debug, Clone)]
pub struct ComplianceLine {
    pub code: String,
    pub name: String,
    pub figures: rules::Compliance,
}

/// Compliance in the month starting on `first` under `root`: the whole, per child node (a
/// district's streets, a street's communities), and per shop.
pub struct ComplianceReport {
    pub root: String,
    pub root_name: String,
    pub month: String,
    pub total: rules::Compliance,
    pub children: Vec<ComplianceLine>,
    pub shops: Vec<ComplianceLine>,
}

/// The compliance report of `grid` (default the caller's widest root) for `month` (default this one).
pub async fn compliance(db: &Db, p: &Principal, grid: Option<&str>, month: Option<&str>) -> AppResult<ComplianceReport> {
    let roots = read_roots(p, grid)?;
    let root = roots.first().cloned().ok_or_else(|| AppError::not_found("该网格"))?;
    let month = match month.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => rules::parse_month(m).ok_or_else(|| AppError::invalid("invalid_month", "月份应为 年-月，如 2026-11"))?,
        None => rules::parse_month(&rules::month_of(now_ms())).ok_or_else(|| AppError::invalid("invalid_month", "月份有误"))?,
    };
    let (from, to) = rules::month_range(month);
    let level = (1..=5).rev().find(|l| code_len(*l) <= root.len()).unwrap_or(5);
    let width = code_len((level + 1).min(5));
    let by_child = if level < 5 {
        store::compliance(db, &p.district, &root, from, to, width).await?
    } else {
        Vec::new()
    };
    let by_shop = store::compliance_by_agreement(db, &p.district, &root, from, to).await?;
    let mut codes: Vec<String> = by_child.iter().map(|c| c.0.clone()).collect();
    codes.push(root.clone());
    let names = crate::grid::store::names(db, &p.district, &codes).await?;
    let mut total = rules::Compliance::default();
    let mut children: Vec<ComplianceLine> = by_child
        .into_iter()
        .map(|(code, checks, passed)| {
            total.checks += checks;
            total.passed += passed;
            ComplianceLine {
                name: names.get(&code).cloned().unwrap_or_else(|| code.clone()),
                code,
                figures: rules::Compliance { checks, passed },
            }
        })
        .collect();
    children.sort_by(|a, b| a.code.cmp(&b.code));
    let mut shops = Vec::new();
    for (id, checks, passed) in by_shop.into_iter().take(500) {
        if let Some(a) = store::agreement(db, id).await? {
            shops.push(ComplianceLine {
                code: id.to_string(),
                name: a.shop_name,
                figures: rules::Compliance { checks, passed },
            });
        }
    }
    if level >= 5 {
        for s in &shops {
            total.checks += s.figures.checks;
            total.passed += s.figures.passed;
        }
    }
    shops.sort_by(|a, b| a.figures.permille().cmp(&b.figures.permille()).then_with(|| a.name.cmp(&b.name)));
    Ok(ComplianceReport {
        root_name: names.get(&root).cloned().unwrap_or_else(|| root.clone()),
        root,
        month: format!("{:04}-{:02}", month.year(), month.month()),
        total,
        children,
        shops,
    })
}
