//! Console pages for volunteers on the phone and shop keepers: the routes and what the pages
//! share (QR codes, hours, activity and ledger views, the check-in form); each page in its file below.

mod activity;
mod catalogue;
mod home;
mod till;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::VolunteersState;
use super::activities::{self, ActivityRow, SignupRow};
use super::service::my_volunteer;
use super::shops::ItemRow;
use super::store::{self, VolunteerRow};
use crate::error::AppError;
use crate::web::pages::PageError;
use crate::web::session::Console;

pub fn routes() -> Router<VolunteersState> {
    Router::new()
        .route("/console/volunteer", get(home::home))
        .route("/console/volunteer/register", post(home::register))
        .route("/console/volunteer/check", post(home::check_by_code))
        .route("/console/volunteer/activities/{id}", get(activity::activity_page))
        .route("/console/volunteer/activities/{id}/signup", post(activity::sign_up))
        .route("/console/volunteer/activities/{id}/check", post(activity::check_here))
        .route("/console/volunteer/shop", get(catalogue::shop_page))
        .route("/console/volunteer/shop/code", post(catalogue::new_code))
        .route("/console/shop", get(till::keeper_page))
        .route("/console/shop/redeem", post(till::redeem))
        .route("/console/shop/items/{id}/stock", post(till::set_stock))
        .merge(super::manage_pages::routes())
}

// ---------------------------------------------------------------- shared bits

/// A QR code of `text` as inline SVG (drawn here, no script, no outside service).
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let at = svg.find("<svg").unwrap_or(0);
    // The label repeats the code; only characters that need no escaping go into the attribute.
    let label: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    svg[at..].replacen(
        "<svg ",
        &format!("<svg class=\"qr\" role=\"img\" aria-label=\"二维码：{label}\" "),
        1,
    )
}

/// What an activity's check-in QR code encodes: the link that opens the check-in form of that
/// activity with its code filled in (through sign-in if needed), so any phone camera or WeChat
/// scan leads straight there. The host is the one the organiser's page was reached on; anything
/// but host characters is refused (then `127.0.0.1`), so a forged `Host` cannot shape the link.
pub fn check_in_link(https: bool, host: Option<&str>, activity: Uuid, code: &str) -> String {
    let host = host
        .filter(|h| !h.is_empty() && h.len() <= 253)
        .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("127.0.0.1");
    let scheme = if https { "https" } else { "http" };
    let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{scheme}://{host}/console/volunteer/activities/{activity}?code={code}")
}

/// [`check_in_link`] from a request's headers (`Host`, and `X-Forwarded-Proto: https` behind a proxy).
pub fn check_in_link_for(headers: &axum::http::HeaderMap, activity: Uuid, code: &str) -> String {
    let header = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    check_in_link(header("x-forwarded-proto") == Some("https"), header("host"), activity, code)
}

/// Minutes as hours with one decimal: 75 → "1.3".
pub fn hours(minutes: i64) -> String {
    format!("{:.1}", (minutes as f64 / 6.0).round() / 10.0)
}

/// A count as the pages write it, digits grouped by three: 1755 → "1,755".
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `2026-11-24 13:05` in China time.
pub fn when(ms: i64) -> String {
    let s = crate::time::format_ms(ms);
    s.get(..16).unwrap_or(&s).to_string()
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "signed_up" => "已报名",
        "checked_in" => "已签到",
        "attended" => "已完成",
        "cancelled" => "已取消",
        _ => "未报名",
    }
}

/// A sign-up's state as a volunteer reads it: a check-out that credited nothing says so.
pub fn signup_label(s: &SignupRow) -> &'static str {
    if s.uncredited() {
        "已签退（未计时长）"
    } else {
        status_label(&s.status)
    }
}

/// An error a form shows in place (bad input, a refusal), or one that ends the request.
fn in_place(e: &AppError) -> bool {
    e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT || e.status == StatusCode::TOO_MANY_REQUESTS
}

/// The volunteer behind a console user, with a page-friendly refusal.
async fn me(s: &VolunteersState, c: &Console) -> Result<VolunteerRow, PageError> {
    my_volunteer(s, &c.principal).await.map_err(|e| {
        if e.code == "not_a_volunteer" {
            PageError(AppError::new(
                StatusCode::FORBIDDEN,
                "not_a_volunteer",
                "您的账号尚未登记为志愿者，请到所在社区登记，或联系社区工作者关联账号。",
            ))
        } else {
            PageError(e)
        }
    })
}

pub struct ActivityView {
    pub id: Uuid,
    pub title: String,
    pub place: String,
    pub time: String,
    pub places: String,
    pub status: String,
    pub mine: &'static str,
    pub can_sign_up: bool,
}

fn activity_view(a: &ActivityRow, mine: Option<&SignupRow>, now: i64) -> ActivityView {
    ActivityView {
        id: a.id,
        title: a.title.clone(),
        place: a.place.clone(),
        time: format!("{} 至 {}", when(a.starts_at), &when(a.ends_at)[11..]),
        places: format!("{}/{}", a.signed_up, a.capacity),
        status: a.status.clone(),
        mine: mine.map(signup_label).unwrap_or(""),
        can_sign_up: mine.is_none() && a.status == "open" && now < a.ends_at && a.signed_up < a.capacity,
    }
}

pub struct SignupView {
    pub activity: Uuid,
    pub title: String,
    pub time: String,
    pub status: &'static str,
    pub hours: String,
    pub points: i64,
}

pub struct EntryView {
    pub at: String,
    pub reason: String,
    pub amount: i64,
}

/// A volunteer's last ledger entries, as seen from their account.
pub async fn entries_of(s: &VolunteersState, v: &VolunteerRow, limit: i64, offset: i64) -> Result<(Vec<EntryView>, i64), PageError> {
    let Some(account) = v.account_id else { return Ok((Vec::new(), 0)) };
    let (rows, total) = store::transactions(&s.db, &v.district, Some(account), limit, offset).await?;
    let out = rows
        .into_iter()
        .map(|(t, ps)| EntryView {
            at: when(t.at_ms),
            reason: t.line(),
            amount: ps.iter().filter(|p| p.account_id == account).map(|p| p.amount).sum(),
        })
        .collect();
    Ok((out, total))
}

#[derive(Deserialize)]
pub(super) struct CheckForm {
    csrf: String,
    #[serde(default)]
    code: String,
    /// in | out
    #[serde(default)]
    action: String,
}

/// Check in or out with the code the organiser shows, from wherever it was typed.
async fn check(s: &VolunteersState, c: &Console, a: &ActivityRow, v: &VolunteerRow, f: &CheckForm) -> Result<&'static str, AppError> {
    let actor = c.principal.actor();
    if f.action == "out" {
        let done = s.codes.guarded(v, activities::check_out(&s.db, actor, a, v, &f.code)).await?;
        // A check-out that credited no time is told apart from one that did.
        Ok(if done.credited() { "out" } else { "out0" })
    } else {
        s.codes
            .guarded(v, activities::check_in(&s.db, &s.writer, actor, a, v, &f.code))
            .await?;
        Ok("in")
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub struct ItemView {
    pub id: Uuid,
    pub name: String,
    pub price: String,
    pub stock: i64,
    pub active: bool,
}

fn item_view(i: &ItemRow) -> ItemView {
    let price = match (i.points, i.discount.trim()) {
        (Some(p), "") => format!("{p} 积分"),
        (Some(p), d) => format!("{p} 积分（{d}）"),
        (None, d) => d.to_string(),
    };
    ItemView {
        id: i.id,
        name: i.name.clone(),
        price,
        stock: i.stock,
        active: i.active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_codes_are_inline_svg_sized_by_css() {
        let svg = qr_svg("K7Q2MX");
        assert!(svg.starts_with("<svg class=\"qr\" role=\"img\" aria-label=\"二维码：K7Q2MX\" "));
        assert!(svg.ends_with("</svg>") && !svg.contains("<?xml") && svg.contains("viewBox"));
        // Nothing but the code's letters reaches the label.
        assert!(qr_svg("a\"<b").contains("aria-label=\"二维码：ab\""));
    }

    #[test]
    fn the_check_in_qr_opens_the_activity_with_its_code() {
        let id = Uuid::from_u128(7);
        assert_eq!(
            check_in_link(true, Some("gongzhi.example.cn"), id, "K7Q2MX"),
            format!("https://gongzhi.example.cn/console/volunteer/activities/{id}?code=K7Q2MX")
        );
        assert_eq!(
            check_in_link(false, Some("192.168.1.20:8080"), id, "K7Q2MX"),
            format!("http://192.168.1.20:8080/console/volunteer/activities/{id}?code=K7Q2MX")
        );
        // A forged host does not shape the link.
        assert!(check_in_link(false, Some("evil.cn/x?y=\"<"), id, "K7").starts_with("http://127.0.0.1/console/"));
        assert!(check_in_link(false, None, id, "K7").starts_with("http://127.0.0.1/console/"));
        let mut h = axum::http::HeaderMap::new();
        h.insert("host", "gz.example.cn".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(check_in_link_for(&h, id, "AB").starts_with("https://gz.example.cn/"));
    }

    #[test]
    fn hours_and_times_read_in_chinese_conventions() {
        assert_eq!(hours(75), "1.3");
        assert_eq!(hours(0), "0.0");
        assert_eq!(when(1_767_225_600_000), "2026-01-01 08:00");
        assert_eq!(status_label("attended"), "已完成");
        assert_eq!(
            [grouped(0), grouped(999), grouped(1755), grouped(1_234_567), grouped(-1000)],
            ["0", "999", "1,755", "1,234,567", "-1,000"]
        );
    }
}
