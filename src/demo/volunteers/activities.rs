//! The demo's monthly themes and weekly activities, with sign-ups and attendance.

use std::collections::HashMap;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::ledger::Credit;
use super::teams::{VTeam, VVolunteer};
use super::{VPlan, opt_i, opt_u, short_code, t, uuid_at};
use crate::db::Tx;
use crate::demo::plan::{PGrid, Plan};
use crate::demo::{V, bulk};
use crate::volunteers::rules;

pub struct VActivity {
    pub id: Uuid,
    pub grid: String,
    pub team: Uuid,
    pub title: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub code: String,
}

/// (activity, volunteer, status, signed up, in, out, minutes, points, transaction)
pub struct VSignup {
    pub activity: usize,
    pub volunteer: usize,
    pub status: &'static str,
    pub signed_up_at: i64,
    pub checked_in_at: Option<i64>,
    pub checked_out_at: Option<i64>,
    pub minutes: i64,
    pub points: i64,
    pub transaction: Option<Uuid>,
}

/// 一月一主题: a theme for each month, January first.
const THEMES: [&str; 12] = [
    "迎新春·送温暖",
    "邻里互助·平安过节",
    "学雷锋·志愿服务月",
    "文明祭扫·绿色出行",
    "劳动最光荣·清洁家园",
    "关爱一老一小",
    "防汛安全·守护家园",
    "拥军优属·爱国卫生",
    "助学圆梦·开学护航",
    "敬老爱老·九九重阳",
    "消防安全·除患灭患",
    "垃圾分类·文明城市",
];
/// Activities of a week, by the month's theme: (title, place suffix).
const ACTIVITIES: &[(&str, &str)] = &[
    ("清理楼道杂物", "各小区楼道"),
    ("走访独居老人", "社区党群服务中心"),
    ("文明交通劝导", "路口执勤点"),
    ("垃圾分类宣传", "新时代文明实践站"),
    ("义务理发", "社区党群服务中心"),
    ("消防安全巡查", "各小区"),
    ("环境卫生整治", "背街小巷"),
    ("防诈骗宣传", "社区广场"),
    ("绿化带补植", "社区游园"),
    ("四点半课堂", "新时代文明实践站"),
];

/// Saturday 09:00 China time of the week holding `ms`.
fn saturday_morning(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    let china = ms + 8 * 3_600_000;
    let day = china.div_euclid(DAY);
    // 1970-01-01 was a Thursday: (day + 4) % 7 is the weekday with Sunday = 0.
    let weekday = (day + 4).rem_euclid(7);
    let saturday = day + (6 - weekday);
    saturday * DAY - 8 * 3_600_000 + 9 * 3_600_000
}

/// Themes for each community, each month of the year: (grid, YYYY-MM, title).
pub(super) fn themes(communities: &[&PGrid], year_ago: i64) -> Vec<(String, String, String)> {
    let mut themes = Vec::new();
    let mut months: Vec<(i64, i64)> = (0..13)
        .map(|k| {
            let t = jiff::Timestamp::from_millisecond(year_ago + k * 30 * 86_400_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let d = t.to_zoned(crate::time::china()).date();
            (i64::from(d.year()), i64::from(d.month()))
        })
        .collect();
    months.dedup();
    for c in communities {
        for (y, m) in &months {
            themes.push((c.code.clone(), format!("{y:04}-{m:02}"), THEMES[(*m as usize - 1) % 12].to_string()));
        }
    }
    themes
}

/// Weekly activities (一周一活动) for the year and two weeks ahead: community teams every week,
/// the others every other week. Attendance adds to the volunteers' minutes and earns a credit,
/// which the ledger pays from the district's issuing account.
pub(super) fn weekly(
    rng: &mut ChaCha8Rng,
    p: &Plan,
    teams: &[VTeam],
    volunteers: &mut [VVolunteer],
    year_ago: i64,
    now: i64,
) -> (Vec<VActivity>, Vec<VSignup>, Vec<Credit>) {
    let grid_by_code: HashMap<&str, &PGrid> = p.grids.iter().map(|g| (g.code.as_str(), g)).collect();
    let mut activities = Vec::new();
    let mut signups = Vec::new();
    let mut credits: Vec<Credit> = Vec::new();
    let weeks = 54;
    for (ti, t) in teams.iter().enumerate() {
        if t.members.is_empty() {
            continue;
        }
        // Big teams hold more than one activity a week (Saturday and Sunday mornings).
        let per_week = (t.members.len() / 600).clamp(1, 2);
        for slot in 0..weeks * per_week {
            let w = slot / per_week;
            if t.kind != "community_governance" && t.members.len() < 200 && (w + ti) % 2 == 1 {
                continue;
            }
            let starts_at = saturday_morning(year_ago + w as i64 * 7 * 86_400_000) + (slot % per_week) as i64 * 86_400_000;
            let ends_at = starts_at + 2 * 3_600_000;
            let (title, place) = ACTIVITIES[rng.random_range(0..ACTIVITIES.len())];
            let host = grid_by_code.get(t.grid.as_str()).map(|g| g.name.clone()).unwrap_or_default();
            let capacity = rng.random_range(15..=40);
            let ai = activities.len();
            activities.push(VActivity {
                id: uuid_at(rng, starts_at - 5 * 86_400_000),
                grid: t.grid.clone(),
                team: t.id,
                title: title.to_string(),
                place: format!("{host}{place}"),
                starts_at,
                ends_at,
                capacity,
                code: short_code(rng, 6),
            });
            let want = (rng.random_range(capacity / 3..=capacity) as usize).min(t.members.len());
            let mut picked = std::collections::BTreeSet::new();
            while picked.len() < want {
                picked.insert(t.members[rng.random_range(0..t.members.len())]);
            }
            for vi in picked {
                // Signed up in the day, up to five days ahead and at least an hour before.
                let ahead = rng.random_range(0..5);
                let mut signed_up_at = super::at_hours(rng, starts_at, -ahead, (7, 22));
                if signed_up_at > starts_at - 3_600_000 {
                    signed_up_at -= 86_400_000;
                }
                if starts_at > now {
                    signups.push(VSignup {
                        activity: ai,
                        volunteer: vi,
                        status: "signed_up",
                        signed_up_at,
                        checked_in_at: None,
                        checked_out_at: None,
                        minutes: 0,
                        points: 0,
                        transaction: None,
                    });
                    continue;
                }
                if rng.random_bool(0.08) {
                    // Signed up, did not come.
                    signups.push(VSignup {
                        activity: ai,
                        volunteer: vi,
                        status: "signed_up",
                        signed_up_at,
                        checked_in_at: None,
                        checked_out_at: None,
                        minutes: 0,
                        points: 0,
                        transaction: None,
                    });
                    continue;
                }
                let checked_in = starts_at + rng.random_range(-600_000..900_000);
                let checked_out = ends_at + rng.random_range(-1_800_000..600_000);
                let minutes = rules::credited_minutes(starts_at, ends_at, checked_in, checked_out);
                let points = rules::points_for_minutes(minutes, 10);
                volunteers[vi].minutes += minutes;
                let si = signups.len();
                signups.push(VSignup {
                    activity: ai,
                    volunteer: vi,
                    status: "attended",
                    signed_up_at,
                    checked_in_at: Some(checked_in),
                    checked_out_at: Some(checked_out),
                    minutes,
                    points,
                    transaction: None,
                });
                if points > 0 {
                    credits.push((checked_out, vi, points, si));
                }
            }
        }
    }
    (activities, signups, credits)
}

/// Write the themes, the activities (with their sign-up counts) and the sign-ups.
pub(super) async fn insert(tx: &mut Tx, district: &str, v: &VPlan, now: i64, pb: &indicatif::ProgressBar) -> anyhow::Result<()> {
    let themes = v
        .themes
        .iter()
        .map(|(g, m, title)| vec![t(district), t(g), t(m), t(title), V::I(now)])
        .collect();
    bulk(
        tx,
        "activity_themes",
        &["district", "grid_code", "month", "title", "updated_at"],
        themes,
        pb,
    )
    .await?;
    let mut signed = vec![0i64; v.activities.len()];
    for s in &v.signups {
        signed[s.activity] += 1;
    }
    let activities = v
        .activities
        .iter()
        .enumerate()
        .map(|(i, a)| {
            vec![
                V::U(a.id),
                t(district),
                t(&a.grid),
                V::U(a.team),
                t(&a.title),
                t(&a.place),
                V::I(a.starts_at),
                V::I(a.ends_at),
                V::I(a.capacity),
                V::I(signed[i]),
                t(&a.code),
                V::I(a.starts_at - 5 * 86_400_000),
            ]
        })
        .collect();
    bulk(
        tx,
        "volunteer_activities",
        &[
            "id",
            "district",
            "grid_code",
            "team_id",
            "title",
            "place",
            "starts_at",
            "ends_at",
            "capacity",
            "signed_up",
            "code",
            "created_at",
        ],
        activities,
        pb,
    )
    .await?;
    let signups = v
        .signups
        .iter()
        .map(|s| {
            vec![
                V::U(v.activities[s.activity].id),
                V::U(v.volunteers[s.volunteer].id),
                t(district),
                t(s.status),
                V::I(s.signed_up_at),
                opt_i(s.checked_in_at),
                opt_i(s.checked_out_at),
                V::I(s.minutes),
                V::I(s.points),
                opt_u(s.transaction),
            ]
        })
        .collect();
    bulk(
        tx,
        "activity_signups",
        &[
            "activity_id",
            "volunteer_id",
            "district",
            "status",
            "signed_up_at",
            "checked_in_at",
            "checked_out_at",
            "minutes",
            "points",
            "transaction_id",
        ],
        signups,
        pb,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturday_mornings_are_saturday_nine_china_time() {
        // 2026-11-24 is a Tuesday; its Saturday is 2026-11-28, 09:00 +08:00.
        let tue: jiff::Timestamp = "2026-11-24T10:00:00+08:00".parse().unwrap();
        let sat: jiff::Timestamp = "2026-11-28T09:00:00+08:00".parse().unwrap();
        assert_eq!(saturday_morning(tue.as_millisecond()), sat.as_millisecond());
        assert_eq!(saturday_morning(sat.as_millisecond() - 3_600_000), sat.as_millisecond());
    }
}
