//! Party building's pure rules: organisation kinds and where they sit, report-in status (双报到),
//! posts (亮身份、定岗定责) and when one is shown publicly, service hours, and the model household
//! (党员示范户) review flow. No I/O.

use serde::Serialize;

/// How long an in-service member has to report in to a community after being registered.
pub const REPORT_DAYS: i64 = 30;

/// Kinds of party organisation, with their Chinese names, highest first.
pub const ORG_KINDS: [(&str, &str); 5] = [
    ("district_committee", "区委"),
    ("working_committee", "街道党工委"),
    ("committee", "社区党委"),
    ("general_branch", "党总支"),
    ("branch", "党支部"),
];

pub fn org_kind_label(kind: &str) -> &'static str {
    ORG_KINDS.iter().find(|k| k.0 == kind).map(|k| k.1).unwrap_or("党组织")
}

fn rank(kind: &str) -> Option<usize> {
    ORG_KINDS.iter().position(|k| k.0 == kind)
}

/// Whether an organisation of `kind` may sit at a grid node of `level` (1 district … 4 compound),
/// or at a unit (`level` None): the district committee at the district, a 党工委 at a street, a
/// community's 党委, 党总支 or 党支部 at a community, a branch at a compound; a unit's organisation
/// (property company, co-building unit) is a committee, general branch or branch.
pub fn kind_fits(kind: &str, level: Option<i64>) -> bool {
    matches!(
        (kind, level),
        ("district_committee", Some(1))
            | ("working_committee", Some(2))
            | ("committee" | "general_branch" | "branch", Some(3))
            | ("branch", Some(4))
            | ("committee" | "general_branch" | "branch", None)
    )
}

/// Whether `parent` may lead `child`: a higher kind, and for a grid organisation at a node above
/// the child's (a unit's organisation may report to any higher one).
pub fn parent_fits(parent_kind: &str, parent_grid: Option<&str>, child_kind: &str, child_grid: Option<&str>) -> bool {
    let (Some(p), Some(c)) = (rank(parent_kind), rank(child_kind)) else {
        return false;
    };
    match (parent_grid, child_grid) {
        _ if p >= c => false,
        (Some(pg), Some(cg)) => cg.len() > pg.len() && cg.starts_with(pg),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Where an in-service member stands on reporting in (双报到).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Reported to a community or compound.
    Reported,
    /// Not yet, within the 30 days.
    Due,
    /// Not yet, and the 30 days are over.
    Overdue,
    /// Not an in-service member: lives in the district and belongs where they live.
    Resident,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Reported => "reported",
            ReportStatus::Due => "due",
            ReportStatus::Overdue => "overdue",
            ReportStatus::Resident => "resident",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReportStatus::Reported => "已报到",
            ReportStatus::Due => "待报到",
            ReportStatus::Overdue => "逾期未报到",
            ReportStatus::Resident => "居住地党员",
        }
    }

    pub fn parse(s: &str) -> Option<ReportStatus> {
        [
            ReportStatus::Reported,
            ReportStatus::Due,
            ReportStatus::Overdue,
            ReportStatus::Resident,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A member's report-in status: residents belong where they live; an in-service member has
/// reported once they have a date, else is due for `REPORT_DAYS` days from registration
/// (`registered_ms`), then overdue.
pub fn report_status(in_service: bool, reported_on: Option<&str>, registered_ms: i64, now_ms: i64) -> ReportStatus {
    if !in_service {
        return ReportStatus::Resident;
    }
    if reported_on.is_some_and(|d| !d.is_empty()) {
        return ReportStatus::Reported;
    }
    if now_ms - registered_ms > REPORT_DAYS * 86_400_000 {
        ReportStatus::Overdue
    } else {
        ReportStatus::Due
    }
}

/// Posts a member takes (定岗定责): code, name.
pub const POSTS: [(&str, &str); 8] = [
    ("building_center", "楼栋党员中心户"),
    ("policy", "政策宣传岗"),
    ("mediation", "矛盾调解岗"),
    ("environment", "环境卫生监督岗"),
    ("safety", "平安巡查岗"),
    ("care", "关爱帮扶岗"),
    ("civility", "文明劝导岗"),
    ("service", "志愿服务岗"),
];

pub fn post_label(code: &str) -> Option<&'static str> {
    POSTS.iter().find(|p| p.0 == code).map(|p| p.1)
}

/// Whether a post appears on the compound's public page: held now, and the member consented.
pub fn shown_publicly(consent: bool, ended_at: Option<i64>, now_ms: i64) -> bool {
    consent && ended_at.is_none_or(|e| e > now_ms)
}

/// A post is held at a compound (level 4) or one of its buildings (level 5); the building-centre
/// household (楼栋党员中心户) at a building.
pub fn post_grid_fits(post: &str, level: i64) -> bool {
    match post {
        "building_center" => level == 5,
        _ => level == 4 || level == 5,
    }
}

/// Hours of one service record, as typed (full-width digits read as digits): 0.5 to 24 in
/// half-hour steps, as minutes.
pub fn service_minutes(raw: &str) -> Result<i64, &'static str> {
    let s = crate::identity::half_width(raw.trim());
    let s = s.trim_end_matches(['h', 'H', '时']).trim_end_matches('小').trim();
    let hours: f64 = s.parse().map_err(|_| "服务时长应为0.5至24小时")?;
    if !hours.is_finite() || !(0.5..=24.0).contains(&hours) {
        return Err("服务时长应为0.5至24小时");
    }
    let halves = (hours * 2.0).round();
    if (halves - hours * 2.0).abs() > 1e-9 {
        return Err("服务时长以半小时计");
    }
    Ok(halves as i64 * 30)
}

/// A calendar date `YYYY-MM-DD` (full-width digits read as digits), valid and not after `today`.
pub fn past_date(raw: &str, today: &str) -> Result<String, &'static str> {
    let s = crate::identity::half_width(raw.trim());
    let b = s.as_bytes();
    let ok = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && s.chars().filter(|c| c.is_ascii_digit()).count() == 8;
    if !ok {
        return Err("日期格式应为 2026-05-01");
    }
    let (y, m, d) = (
        s[..4].parse().unwrap_or(0),
        s[5..7].parse().unwrap_or(0),
        s[8..].parse().unwrap_or(0),
    );
    if y < 2000 || !crate::identity::valid_date(y, m, d) {
        return Err("日期无效");
    }
    if s.as_str() > today {
        return Err("日期不能晚于今天");
    }
    Ok(s)
}

/// A model household's state (党员示范户): nominated, then approved or refused (with a reason),
/// and approved ones published for their year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelStatus {
    Nominated,
    Approved,
    Refused,
    Published,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Nominated => "nominated",
            ModelStatus::Approved => "approved",
            ModelStatus::Refused => "refused",
            ModelStatus::Published => "published",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ModelStatus::Nominated => "待审核",
            ModelStatus::Approved => "已通过",
            ModelStatus::Refused => "未通过",
            ModelStatus::Published => "已公布",
        }
    }

    pub fn parse(s: &str) -> Option<ModelStatus> {
        [
            ModelStatus::Nominated,
            ModelStatus::Approved,
            ModelStatus::Refused,
            ModelStatus::Published,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A step of the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStep {
    Approve,
    Refuse,
    Publish,
}

/// The next state of a model household, or why the step is refused: only a nominated household
/// is reviewed; a refusal needs a reason of 2–200 characters; only an approved one is published.
pub fn model_step(from: ModelStatus, step: ModelStep, reason: &str) -> Result<ModelStatus, &'static str> {
    match (from, step) {
        (ModelStatus::Nominated, ModelStep::Approve) => Ok(ModelStatus::Approved),
        (ModelStatus::Nominated, ModelStep::Refuse) => {
            let n = reason.trim().chars().count();
            if (2..=200).contains(&n) {
                Ok(ModelStatus::Refused)
            } else {
                Err("不通过须填写理由（2至200字）")
            }
        }
        (ModelStatus::Approved, ModelStep::Publish) => Ok(ModelStatus::Published),
        (_, ModelStep::Publish) => Err("只有审核通过的示范户可以公布"),
        _ => Err("该示范户已审核"),
    }
}

/// A year of the model households: 2000 to 2100.
pub fn year(y: i64) -> Result<i64, &'static str> {
    if (2000..=2100).contains(&y) {
        Ok(y)
    } else {
        Err("年度应为2000至2100")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn kinds_sit_at_their_level() {
        assert!(kind_fits("district_committee", Some(1)));
        assert!(kind_fits("working_committee", Some(2)));
        assert!(kind_fits("general_branch", Some(3)));
        assert!(kind_fits("branch", Some(4)));
        assert!(kind_fits("branch", None));
        assert!(!kind_fits("branch", Some(5)), "no organisation at a building");
        assert!(!kind_fits("working_committee", Some(3)));
        assert!(!kind_fits("district_committee", None));
        assert!(!kind_fits("bogus", Some(3)));
    }

    #[test]
    fn a_parent_is_higher_and_above() {
        assert!(parent_fits(
            "working_committee",
            Some("411602001"),
            "committee",
            Some("411602001001")
        ));
        assert!(parent_fits("committee", Some("411602001001"), "branch", Some("411602001001001")));
        assert!(
            !parent_fits("committee", Some("411602001001"), "branch", Some("411602001002001")),
            "another community"
        );
        assert!(
            !parent_fits("branch", Some("411602001001001"), "committee", Some("411602001001")),
            "a lower kind"
        );
        assert!(
            !parent_fits("committee", Some("411602001001"), "committee", Some("411602001001")),
            "the same node"
        );
        assert!(
            parent_fits("committee", Some("411602001001"), "branch", None),
            "a unit branch under a community"
        );
        assert!(!parent_fits("branch", Some("411602001001001"), "branch", None));
        assert!(!parent_fits("branch", None, "branch", Some("411602001001001")));
    }

    #[test]
    fn report_status_follows_the_date_and_the_30_days() {
        let reg = 1_000 * DAY;
        assert_eq!(report_status(false, None, reg, reg + 99 * DAY), ReportStatus::Resident);
        assert_eq!(report_status(true, Some("2026-05-01"), reg, reg + 99 * DAY), ReportStatus::Reported);
        assert_eq!(report_status(true, None, reg, reg + 30 * DAY), ReportStatus::Due);
        assert_eq!(report_status(true, None, reg, reg + 30 * DAY + 1), ReportStatus::Overdue);
        assert_eq!(report_status(true, Some(""), reg, reg + DAY), ReportStatus::Due);
        for s in [
            ReportStatus::Reported,
            ReportStatus::Due,
            ReportStatus::Overdue,
            ReportStatus::Resident,
        ] {
            assert_eq!(ReportStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn only_consented_current_posts_are_public() {
        assert!(shown_publicly(true, None, 5));
        assert!(!shown_publicly(false, None, 5), "no consent");
        assert!(!shown_publicly(true, Some(5), 5), "ended");
        assert!(shown_publicly(true, Some(6), 5), "ends later");
        assert!(post_grid_fits("building_center", 5));
        assert!(!post_grid_fits("building_center", 4));
        assert!(post_grid_fits("mediation", 4));
        assert!(!post_grid_fits("mediation", 3));
        assert_eq!(post_label("policy"), Some("政策宣传岗"));
        assert_eq!(post_label("bogus"), None);
    }

    #[test]
    fn service_hours_are_bounded_half_hours() {
        assert_eq!(service_minutes("2"), Ok(120));
        assert_eq!(service_minutes("１.５"), Ok(90), "full-width digits");
        assert_eq!(service_minutes("0.5小时"), Ok(30));
        assert!(service_minutes("0").is_err());
        assert!(service_minutes("24.5").is_err());
        assert!(service_minutes("1.2").is_err());
        assert!(service_minutes("NaN").is_err());
        assert!(service_minutes("inf").is_err());
        assert!(service_minutes("").is_err());
    }

    #[test]
    fn dates_are_real_and_not_ahead() {
        assert_eq!(past_date("２０２６-０５-０１", "2026-11-26"), Ok("2026-05-01".into()));
        assert!(past_date("2026-02-30", "2026-11-26").is_err());
        assert!(past_date("2026-12-01", "2026-11-26").is_err());
        assert!(past_date("26-5-1", "2026-11-26").is_err());
        assert!(past_date("1999-01-01", "2026-11-26").is_err());
    }

    #[test]
    fn model_household_review_flow() {
        use ModelStatus::*;
        use ModelStep::*;
        assert_eq!(model_step(Nominated, Approve, ""), Ok(Approved));
        assert!(model_step(Nominated, Refuse, "").is_err(), "a refusal needs its reason");
        assert!(model_step(Nominated, Refuse, " 差 ").is_err(), "one character is no reason");
        assert_eq!(model_step(Nominated, Refuse, "家庭成员未参加志愿服务"), Ok(Refused));
        assert_eq!(model_step(Approved, Publish, ""), Ok(Published));
        assert!(model_step(Nominated, Publish, "").is_err(), "not reviewed yet");
        assert!(model_step(Refused, Publish, "").is_err());
        assert!(model_step(Approved, Approve, "").is_err(), "reviewed once");
        assert!(model_step(Published, Refuse, "理由理由").is_err());
        assert_eq!(year(2026), Ok(2026));
        assert!(year(1999).is_err() && year(2101).is_err());
    }

    fn status() -> impl Strategy<Value = ModelStatus> {
        prop_oneof![
            Just(ModelStatus::Nominated),
            Just(ModelStatus::Approved),
            Just(ModelStatus::Refused),
            Just(ModelStatus::Published)
        ]
    }

    fn step() -> impl Strategy<Value = ModelStep> {
        prop_oneof![Just(ModelStep::Approve), Just(ModelStep::Refuse), Just(ModelStep::Publish)]
    }

    proptest! {
        /// Whatever steps are tried, a household is published only after an approval, refused only
        /// with a reason, and a published or refused one never moves again.
        #[test]
        fn the_review_never_skips_a_step(steps in prop::collection::vec((step(), ".{0,4}"), 0..12)) {
            let mut s = ModelStatus::Nominated;
            let mut approved = false;
            for (st, reason) in steps {
                let before = s;
                if let Ok(next) = model_step(s, st, &reason) {
                    prop_assert!(!matches!(before, ModelStatus::Published | ModelStatus::Refused));
                    if next == ModelStatus::Published { prop_assert!(approved); }
                    if next == ModelStatus::Refused { prop_assert!(reason.trim().chars().count() >= 2); }
                    if next == ModelStatus::Approved { approved = true; }
                    s = next;
                }
            }
        }

        #[test]
        fn statuses_round_trip(s in status()) {
            prop_assert_eq!(ModelStatus::parse(s.as_str()), Some(s));
        }

        /// Any text: minutes are whole half-hours within a day, or an error.
        #[test]
        fn minutes_stay_in_bounds(raw in ".{0,8}", n in 0.0f64..30.0) {
            if let Ok(m) = service_minutes(&raw) { prop_assert!((30..=1440).contains(&m) && m % 30 == 0); }
            if let Ok(m) = service_minutes(&format!("{n}")) { prop_assert!((30..=1440).contains(&m) && m % 30 == 0); }
        }

        /// Reported is decided by the date alone; without it, the status turns overdue exactly once.
        #[test]
        fn report_status_is_monotone(reg in 0i64..1_000_000_000_000, a in 0i64..100, b in 0i64..100) {
            let (a, b) = (a.min(b), a.max(b));
            let at = |d: i64| report_status(true, None, reg, reg + d * DAY);
            prop_assert!(!(at(a) == ReportStatus::Overdue && at(b) == ReportStatus::Due));
            prop_assert_eq!(report_status(true, Some("2026-01-01"), reg, reg + b * DAY), ReportStatus::Reported);
        }
    }
}
