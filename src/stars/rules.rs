//! Five-star rules (五星支部评定规则), pure: the stars' configuration and its defaults, the
//! scorecard's state machine, weighted scores, prerequisites (前置条件) over the product's own
//! figures, and the quarter an instant falls in.

use serde::{Deserialize, Serialize};

/// Which list of stars a community uses: urban community (社区) or village (行政村).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Urban,
    Village,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Urban => "urban",
            Kind::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Urban, Kind::Village].into_iter().find(|k| k.as_str() == s)
    }

    /// A level-3 grid node's kind: `village` is a village, anything else an urban community.
    pub fn of_grid_kind(grid_kind: &str) -> Kind {
        if grid_kind == "village" { Kind::Village } else { Kind::Urban }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Urban => "城市社区",
            Kind::Village => "行政村",
        }
    }
}

/// A prerequisite (前置条件) a star needs before it can be awarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Prerequisite {
    /// Every compound covered by red property (红色物业全覆盖).
    FullCoverage,
    /// No 三无 compound left.
    NoThreeNos,
    /// At least this share of the year's cases closed, in per cent.
    MinClosureRate { percent: i64 },
    /// At least this many council meetings held in the year.
    MinMeetings { count: i64 },
    /// At least this many volunteer hours in the community.
    MinVolunteerHours { hours: i64 },
}

/// The product's own figures for a community and year (prefilled evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub cases: i64,
    pub cases_closed: i64,
    pub volunteer_hours: i64,
    pub meetings_held: i64,
    pub compounds: i64,
    pub covered: i64,
    pub three_nos: i64,
}

impl Figures {
    /// Cases closed in per cent (100 when there were none).
    pub fn closure_rate(&self) -> i64 {
        if self.cases <= 0 {
            100
        } else {
            (self.cases_closed.clamp(0, self.cases) * 100) / self.cases
        }
    }

    /// Whether every compound is covered (a community without compounds is covered).
    pub fn full_coverage(&self) -> bool {
        self.covered >= self.compounds
    }

    /// The figure a criterion prefills, as text.
    pub fn text(&self, figure: &str) -> Option<String> {
        Some(match figure {
            "case_closure" => format!(
                "全年案件 {} 件，办结 {} 件，办结率 {}%",
                self.cases,
                self.cases_closed,
                self.closure_rate()
            ),
            "volunteer_hours" => format!("志愿服务时长 {} 小时", self.volunteer_hours),
            "meetings_held" => format!("全年召开议事会议 {} 次", self.meetings_held),
            "coverage" => format!(
                "红色物业覆盖 {}/{} 个小区，三无小区 {} 个",
                self.covered, self.compounds, self.three_nos
            ),
            _ => return None,
        })
    }
}

pub const FIGURES: [(&str, &str); 4] = [
    ("case_closure", "案件办结率"),
    ("volunteer_hours", "志愿服务时长"),
    ("meetings_held", "议事会议次数"),
    ("coverage", "红色物业覆盖"),
];

impl Prerequisite {
    /// `Ok` when met, else the rule's reason (in Chinese, with the figures).
    pub fn check(&self, f: &Figures) -> Result<(), String> {
        match self {
            Prerequisite::FullCoverage => {
                if f.full_coverage() {
                    Ok(())
                } else {
                    Err(format!("未实现红色物业全覆盖（已覆盖 {}/{} 个小区）", f.covered, f.compounds))
                }
            }
            Prerequisite::NoThreeNos => {
                if f.three_nos <= 0 {
                    Ok(())
                } else {
                    Err(format!("仍有 {} 个三无小区", f.three_nos))
                }
            }
            Prerequisite::MinClosureRate { percent } => {
                if f.closure_rate() >= *percent {
                    Ok(())
                } else {
                    Err(format!("案件办结率 {}% 低于 {}%", f.closure_rate(), percent))
                }
            }
            Prerequisite::MinMeetings { count } => {
                if f.meetings_held >= *count {
                    Ok(())
                } else {
                    Err(format!("议事会议 {} 次，少于 {} 次", f.meetings_held, count))
                }
            }
            Prerequisite::MinVolunteerHours { hours } => {
                if f.volunteer_hours >= *hours {
                    Ok(())
                } else {
                    Err(format!("志愿服务 {} 小时，少于 {} 小时", f.volunteer_hours, hours))
                }
            }
        }
    }

    pub fn label(&self) -> String {
        match self {
            Prerequisite::FullCoverage => "红色物业全覆盖".into(),
            Prerequisite::NoThreeNos => "无三无小区".into(),
            Prerequisite::MinClosureRate { percent } => format!("案件办结率不低于 {percent}%"),
            Prerequisite::MinMeetings { count } => format!("全年议事会议不少于 {count} 次"),
            Prerequisite::MinVolunteerHours { hours } => format!("志愿服务不少于 {hours} 小时"),
        }
    }

    fn bounded(&self) -> bool {
        match self {
            Prerequisite::FullCoverage | Prerequisite::NoThreeNos => true,
            Prerequisite::MinClosureRate { percent } => (0..=100).contains(percent),
            Prerequisite::MinMeetings { count } => (0..=1000).contains(count),
            Prerequisite::MinVolunteerHours { hours } => (0..=1_000_000).contains(hours),
        }
    }
}

/// A criterion (评分细则) of a star.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Criterion {
    pub code: String,
    pub name: String,
    /// Weight within its star; a star's criteria weigh 100 together.
    pub weight: i64,
    /// What evidence it asks for (佐证材料).
    #[serde(default)]
    pub evidence: String,
    /// The product's figure it prefills: case_closure, volunteer_hours, meetings_held or coverage.
    #[serde(default)]
    pub figure: Option<String>,
}

/// A star (星) with its criteria and prerequisites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Star {
    pub code: String,
    pub name: String,
    pub criteria: Vec<Criterion>,
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
}

/// A district's configuration for a year: the urban and the village stars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Config {
    pub urban: Vec<Star>,
    pub village: Vec<Star>,
}

impl Config {
    pub fn stars(&self, kind: Kind) -> &[Star] {
        match kind {
            Kind::Urban => &self.urban,
            Kind::Village => &self.village,
        }
    }
}

fn c(code: &str, name: &str, weight: i64, evidence: &str, figure: Option<&str>) -> Criterion {
    Criterion {
        code: code.into(),
        name: name.into(),
        weight,
        evidence: evidence.into(),
        figure: figure.map(String::from),
    }
}

fn star(code: &str, name: &str, criteria: Vec<Criterion>, prerequisites: Vec<Prerequisite>) -> Star {
    Star {
        code: code.into(),
        name: name.into(),
        criteria,
        prerequisites,
    }
}

fn party_star() -> Star {
    star(
        "party",
        "支部过硬",
        vec![
            c("organisation", "组织建设", 40, "支部班子名单、三会一课记录", None),
            c("deliberation", "党建引领议事协商", 30, "议事会议记录", Some("meetings_held")),
            c("members", "党员作用发挥", 30, "党员亮身份、定岗定责材料", None),
        ],
        vec![],
    )
}

fn safety_star() -> Star {
    star(
        "safety",
        "平安法治",
        vec![
            c("cases", "矛盾纠纷化解", 50, "案件办理情况", Some("case_closure")),
            c("law", "法治宣传与平安创建", 50, "活动照片、台账", None),
        ],
        vec![],
    )
}

/// The defaults: urban 支部过硬, 宜业兴业, 平安法治, 共建共享, 幸福和谐; village 支部过硬, 产业兴旺,
/// 生态宜居, 平安法治, 文明幸福. 共建共享 needs full red property coverage.
pub fn defaults() -> Config {
    Config {
        urban: vec![
            party_star(),
            star(
                "business",
                "宜业兴业",
                vec![
                    c("services", "便民服务与就业", 50, "服务台账", None),
                    c("economy", "社区经济与营商环境", 50, "项目材料", None),
                ],
                vec![],
            ),
            safety_star(),
            star(
                "sharing",
                "共建共享",
                vec![
                    c("property", "红色物业覆盖", 50, "小区物业、业委会、党支部情况", Some("coverage")),
                    c("co_building", "共驻共建", 50, "共建单位双报到材料", None),
                ],
                vec![Prerequisite::FullCoverage],
            ),
            star(
                "harmony",
                "幸福和谐",
                vec![
                    c("volunteering", "志愿服务", 50, "志愿活动记录", Some("volunteer_hours")),
                    c("culture", "文明创建与邻里互助", 50, "活动照片", None),
                ],
                vec![],
            ),
        ],
        village: vec![
            party_star(),
            star(
                "industry",
                "产业兴旺",
                vec![
                    c("collective", "村集体经济", 60, "集体经济收入台账", None),
                    c("income", "群众增收", 40, "产业项目材料", None),
                ],
                vec![],
            ),
            star(
                "ecology",
                "生态宜居",
                vec![
                    c("environment", "人居环境整治", 60, "整治前后照片", None),
                    c("greening", "绿化美化", 40, "台账", None),
                ],
                vec![],
            ),
            safety_star(),
            star(
                "civility",
                "文明幸福",
                vec![
                    c("volunteering", "志愿服务", 50, "志愿活动记录", Some("volunteer_hours")),
                    c("customs", "移风易俗", 50, "村规民约、红白理事会材料", None),
                ],
                vec![],
            ),
        ],
    }
}

fn valid_code(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_text(s: &str, min: usize, max: usize) -> bool {
    let n = s.trim().chars().count();
    (min..=max).contains(&n) && !s.chars().any(char::is_control)
}

/// Check a configuration: 1–8 stars per kind with unique codes, 1–10 criteria a star with unique
/// codes whose weights (1–100) add up to 100, names of 1–20 characters, known figures, bounded
/// prerequisites.
pub fn validate(cfg: &Config) -> Result<(), String> {
    for (kind, stars) in [(Kind::Urban, &cfg.urban), (Kind::Village, &cfg.village)] {
        if !(1..=8).contains(&stars.len()) {
            return Err(format!("{}的星级应为1至8项", kind.label()));
        }
        for (i, s) in stars.iter().enumerate() {
            if !valid_code(&s.code) || stars[..i].iter().any(|o| o.code == s.code) {
                return Err(format!("星级代码“{}”应为不重复的小写字母、数字或下划线", s.code));
            }
            if !valid_text(&s.name, 1, 20) {
                return Err("星级名称应为1至20个字".into());
            }
            if !(1..=10).contains(&s.criteria.len()) {
                return Err(format!("“{}”的评分细则应为1至10项", s.name));
            }
            for (j, cr) in s.criteria.iter().enumerate() {
                if !valid_code(&cr.code) || s.criteria[..j].iter().any(|o| o.code == cr.code) {
                    return Err(format!("“{}”的细则代码“{}”应不重复", s.name, cr.code));
                }
                if !valid_text(&cr.name, 1, 20) || cr.evidence.chars().count() > 100 {
                    return Err(format!("“{}”的细则名称应为1至20个字，佐证要求不超过100字", s.name));
                }
                if !(1..=100).contains(&cr.weight) {
                    return Err(format!("“{}”的细则权重应为1至100", s.name));
                }
                if let Some(f) = &cr.figure
                    && !FIGURES.iter().any(|x| x.0 == f)
                {
                    return Err(format!("未知的预填指标“{f}”"));
                }
            }
            if s.criteria.iter().map(|c| c.weight).sum::<i64>() != 100 {
                return Err(format!("“{}”的细则权重之和应为100", s.name));
            }
            if s.prerequisites.len() > 5 || !s.prerequisites.iter().all(Prerequisite::bounded) {
                return Err(format!("“{}”的前置条件有误", s.name));
            }
        }
    }
    Ok(())
}

/// Where a scorecard is in its year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 自评中
    Draft,
    /// 已提交，待街道审核
    Submitted,
    /// 街道退回修改
    Returned,
    /// 街道已审核，待区级评定
    Reviewed,
    /// 区级已评定
    Rated,
}

pub const STATUSES: [Status; 5] = [Status::Draft, Status::Submitted, Status::Returned, Status::Reviewed, Status::Rated];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Returned => "returned",
            Status::Reviewed => "reviewed",
            Status::Rated => "rated",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        STATUSES.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "自评中",
            Status::Submitted => "待街道审核",
            Status::Returned => "街道退回修改",
            Status::Reviewed => "待区级评定",
            Status::Rated => "已评定",
        }
    }
}

/// Who acts on a scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Community,
    Street,
    District,
}

pub const ACTORS: [Actor; 3] = [Actor::Community, Actor::Street, Actor::District];

/// What is done to a scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Save the self-assessment or add evidence.
    Assess,
    Submit,
    /// The street's review of every star; `any_back` when at least one is sent back.
    Review {
        any_back: bool,
    },
    /// The district's rating of every star.
    Rate,
}

pub const ACTIONS: [Action; 5] = [
    Action::Assess,
    Action::Submit,
    Action::Review { any_back: false },
    Action::Review { any_back: true },
    Action::Rate,
];

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor may never take this action.
    NotYours,
    /// Not in this state.
    WrongState,
}

impl Action {
    fn actor(self) -> Actor {
        match self {
            Action::Assess | Action::Submit => Actor::Community,
            Action::Review { .. } => Actor::Street,
            Action::Rate => Actor::District,
        }
    }
}

/// The state machine: the community assesses and submits (again after a send-back), the street
/// reviews a submitted card, the district rates a reviewed one; a rated card is final.
pub fn next(status: Status, actor: Actor, action: Action) -> Result<Status, Refusal> {
    if action.actor() != actor {
        return Err(Refusal::NotYours);
    }
    use Status::*;
    match (status, action) {
        (Draft | Returned, Action::Assess) => Ok(status),
        (Draft | Returned, Action::Submit) => Ok(Submitted),
        (Submitted, Action::Review { any_back: false }) => Ok(Reviewed),
        (Submitted, Action::Review { any_back: true }) => Ok(Returned),
        (Reviewed, Action::Rate) => Ok(Rated),
        _ => Err(Refusal::WrongState),
    }
}

/// A star's outcome as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Awarded,
    Denied,
    Pending,
}

impl Outcome {
    pub fn of(rating: Option<&str>) -> Outcome {
        match rating {
            Some("awarded") => Outcome::Awarded,
            Some("denied") => Outcome::Denied,
            _ => Outcome::Pending,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Awarded => "已授星",
            Outcome::Denied => "未授星",
            Outcome::Pending => "待评定",
        }
    }
}

/// The district's rating of a star after its prerequisites: a failing prerequisite forces
/// `denied` with the rule's reason; `denied` needs a reason of the district's own.
pub fn rating(star: &Star, f: &Figures, award: bool, reason: &str) -> Result<(Outcome, String), String> {
    let failed: Vec<String> = star.prerequisites.iter().filter_map(|p| p.check(f).err()).collect();
    if !failed.is_empty() {
        return Ok((Outcome::Denied, format!("{}，不能评定“{}”", failed.join("；"), star.name)));
    }
    let reason = reason.trim();
    if award {
        Ok((Outcome::Awarded, reason.chars().take(200).collect()))
    } else if reason.is_empty() {
        Err(format!("未授予“{}”须说明理由", star.name))
    } else {
        Ok((Outcome::Denied, reason.chars().take(200).collect()))
    }
}

/// A star's weighted self-assessed score, 0–100: each criterion's score (0–100, missing = 0)
/// times its weight.
pub fn star_score(star: &Star, score_of: impl Fn(&str) -> Option<i64>) -> f64 {
    let total: i64 = star
        .criteria
        .iter()
        .map(|c| c.weight * score_of(&c.code).unwrap_or(0).clamp(0, 100))
        .sum();
    let weights: i64 = star.criteria.iter().map(|c| c.weight).sum();
    if weights <= 0 { 0.0 } else { total as f64 / weights as f64 }
}

/// A score as the form sends it: full-width digits read, 0–100.
pub fn parse_score(raw: &str) -> Result<i64, String> {
    let s = crate::identity::half_width(raw.trim());
    s.parse::<i64>()
        .ok()
        .filter(|n| (0..=100).contains(n))
        .ok_or_else(|| "分数应为0至100的整数".to_string())
}

/// A year as asked for: 2000–2100, full-width digits read.
pub fn parse_year(raw: &str) -> Result<i64, String> {
    let s = crate::identity::half_width(raw.trim());
    s.parse::<i64>()
        .ok()
        .filter(|n| (2000..=2100).contains(n))
        .ok_or_else(|| "年度应为2000至2100".to_string())
}

/// The China-time quarter (1–4) of a month 1–12.
pub fn quarter_of_month(month: i64) -> i64 {
    ((month.clamp(1, 12) - 1) / 3) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn figures() -> Figures {
        Figures {
            cases: 100,
            cases_closed: 90,
            volunteer_hours: 500,
            meetings_held: 12,
            compounds: 10,
            covered: 10,
            three_nos: 0,
        }
    }

    #[test]
    fn defaults_are_valid_and_name_the_issues_stars() {
        let d = defaults();
        validate(&d).unwrap();
        let names = |k| d.stars(k).iter().map(|s| s.name.as_str()).collect::<Vec<_>>();
        assert_eq!(names(Kind::Urban), ["支部过硬", "宜业兴业", "平安法治", "共建共享", "幸福和谐"]);
        assert_eq!(names(Kind::Village), ["支部过硬", "产业兴旺", "生态宜居", "平安法治", "文明幸福"]);
        let sharing = d.urban.iter().find(|s| s.name == "共建共享").unwrap();
        assert_eq!(sharing.prerequisites, vec![Prerequisite::FullCoverage]);
        assert_eq!(Kind::of_grid_kind("village"), Kind::Village);
        assert_eq!(Kind::of_grid_kind("community"), Kind::Urban);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut d = defaults();
        d.urban[0].criteria[0].weight += 1;
        assert!(validate(&d).unwrap_err().contains("之和"));
        let mut d = defaults();
        d.urban[1].code = "party".into();
        assert!(validate(&d).is_err());
        let mut d = defaults();
        d.village.clear();
        assert!(validate(&d).is_err());
        let mut d = defaults();
        d.urban[0].criteria[0].figure = Some("bogus".into());
        assert!(validate(&d).is_err());
        let mut d = defaults();
        d.urban[0].prerequisites.push(Prerequisite::MinClosureRate { percent: 101 });
        assert!(validate(&d).is_err());
        let mut d = defaults();
        d.urban[0].name = "".into();
        assert!(validate(&d).is_err());
        let mut d = defaults();
        d.urban[0].code = "Party!".into();
        assert!(validate(&d).is_err());
    }

    #[test]
    fn full_coverage_prerequisite() {
        let p = Prerequisite::FullCoverage;
        assert!(p.check(&figures()).is_ok());
        let f = Figures { covered: 9, ..figures() };
        assert_eq!(p.check(&f).unwrap_err(), "未实现红色物业全覆盖（已覆盖 9/10 个小区）");
        // A community without compounds has nothing left uncovered.
        assert!(
            p.check(&Figures {
                compounds: 0,
                covered: 0,
                ..figures()
            })
            .is_ok()
        );
    }

    #[test]
    fn no_three_nos_prerequisite() {
        let p = Prerequisite::NoThreeNos;
        assert!(p.check(&figures()).is_ok());
        assert!(
            p.check(&Figures { three_nos: 2, ..figures() })
                .unwrap_err()
                .contains("2 个三无小区")
        );
    }

    #[test]
    fn closure_rate_prerequisite() {
        let p = Prerequisite::MinClosureRate { percent: 90 };
        assert!(p.check(&figures()).is_ok());
        assert!(
            p.check(&Figures {
                cases_closed: 89,
                ..figures()
            })
            .is_err()
        );
        // No cases at all: nothing left open.
        assert!(
            p.check(&Figures {
                cases: 0,
                cases_closed: 0,
                ..figures()
            })
            .is_ok()
        );
    }

    #[test]
    fn meetings_and_hours_prerequisites() {
        assert!(Prerequisite::MinMeetings { count: 12 }.check(&figures()).is_ok());
        assert!(Prerequisite::MinMeetings { count: 13 }.check(&figures()).is_err());
        assert!(Prerequisite::MinVolunteerHours { hours: 500 }.check(&figures()).is_ok());
        assert!(Prerequisite::MinVolunteerHours { hours: 501 }.check(&figures()).is_err());
    }

    #[test]
    fn a_failing_prerequisite_forces_denied_with_its_reason() {
        let d = defaults();
        let sharing = d.urban.iter().find(|s| s.code == "sharing").unwrap();
        let f = Figures { covered: 3, ..figures() };
        let (o, reason) = rating(sharing, &f, true, "材料齐全").unwrap();
        assert_eq!(o, Outcome::Denied);
        assert!(reason.contains("未实现红色物业全覆盖") && reason.contains("共建共享"), "{reason}");
        assert_eq!(rating(sharing, &figures(), true, "").unwrap().0, Outcome::Awarded);
        // Denying without a prerequisite failing needs the district's reason.
        assert!(rating(sharing, &figures(), false, " ").is_err());
        assert_eq!(
            rating(sharing, &figures(), false, "佐证不足").unwrap(),
            (Outcome::Denied, "佐证不足".into())
        );
    }

    #[test]
    fn every_state_and_action() {
        use Status::*;
        for s in STATUSES {
            for actor in ACTORS {
                for a in ACTIONS {
                    let got = next(s, actor, a);
                    let expected = match (actor, s, a) {
                        (Actor::Community, Draft | Returned, Action::Assess) => Ok(s),
                        (Actor::Community, Draft | Returned, Action::Submit) => Ok(Submitted),
                        (Actor::Community, _, Action::Assess | Action::Submit) => Err(Refusal::WrongState),
                        (Actor::Street, Submitted, Action::Review { any_back: false }) => Ok(Reviewed),
                        (Actor::Street, Submitted, Action::Review { any_back: true }) => Ok(Returned),
                        (Actor::Street, _, Action::Review { .. }) => Err(Refusal::WrongState),
                        (Actor::District, Reviewed, Action::Rate) => Ok(Rated),
                        (Actor::District, _, Action::Rate) => Err(Refusal::WrongState),
                        _ => Err(Refusal::NotYours),
                    };
                    assert_eq!(got, expected, "{s:?} {actor:?} {a:?}");
                }
            }
        }
        for s in STATUSES {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn scores_weigh_criteria() {
        let d = defaults();
        let party = &d.urban[0];
        let s = star_score(party, |c| Some(if c == "organisation" { 100 } else { 50 }));
        assert!((s - 70.0).abs() < 1e-9, "{s}");
        assert_eq!(star_score(party, |_| None), 0.0);
        assert_eq!(parse_score("９０"), Ok(90));
        assert!(parse_score("101").is_err() && parse_score("-1").is_err() && parse_score("x").is_err());
        assert_eq!(parse_year("２０２６"), Ok(2026));
        assert!(parse_year("1999").is_err());
        assert_eq!(
            (quarter_of_month(1), quarter_of_month(3), quarter_of_month(4), quarter_of_month(12)),
            (1, 1, 2, 4)
        );
    }

    fn action() -> impl Strategy<Value = (Actor, Action)> {
        (0..ACTORS.len(), 0..ACTIONS.len()).prop_map(|(a, b)| (ACTORS[a], ACTIONS[b]))
    }

    proptest! {
        /// Along any sequence of attempts, a card is rated only straight after a review with
        /// nothing sent back, and once rated nothing changes it.
        #[test]
        fn rated_only_after_an_agreed_review(steps in proptest::collection::vec(action(), 0..40)) {
            let mut s = Status::Draft;
            for (actor, a) in steps {
                let before = s;
                if let Ok(n) = next(s, actor, a) {
                    if n == Status::Rated { prop_assert_eq!(before, Status::Reviewed); }
                    if before == Status::Rated { prop_assert!(false, "a rated card changed"); }
                    s = n;
                }
            }
        }

        /// A star's score stays within 0–100 whatever is entered.
        #[test]
        fn star_scores_stay_in_range(scores in proptest::collection::vec(-500i64..500, 3)) {
            let d = defaults();
            let party = &d.urban[0];
            let v = star_score(party, |c| party.criteria.iter().position(|x| x.code == c).map(|i| scores[i]));
            prop_assert!((0.0..=100.0).contains(&v));
        }

        /// Full coverage fails exactly when a compound is left uncovered, and then no rating
        /// of 共建共享 is ever `awarded`.
        #[test]
        fn uncovered_never_awarded(compounds in 0i64..50, covered in 0i64..50, award: bool) {
            let covered = covered.min(compounds);
            let f = Figures { compounds, covered, ..Figures::default() };
            let d = defaults();
            let sharing = d.urban.iter().find(|s| s.code == "sharing").unwrap();
            let r = rating(sharing, &f, award, "理由");
            if covered < compounds {
                prop_assert_eq!(r.unwrap().0, Outcome::Denied);
            } else {
                prop_assert_eq!(r.unwrap().0, if award { Outcome::Awarded } else { Outcome::Denied });
            }
        }
    }
}
