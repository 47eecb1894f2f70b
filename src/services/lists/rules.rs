//! The four lists' rules (四张清单): the kinds of need and resource, and when a need is met.

/// Kinds of need and of resource: the stable key and its Chinese name.
pub const KINDS: [(&str, &str); 8] = [
    ("daily_care", "生活照料"),
    ("health", "医疗健康"),
    ("meals_bathing", "助餐助浴"),
    ("repairs", "维修改造"),
    ("counselling", "心理慰藉"),
    ("legal_aid", "法律援助"),
    ("employment", "就业帮扶"),
    ("other", "其他"),
];

/// Where a need came from: the key and its Chinese name.
pub const SOURCES: [(&str, &str); 4] = [
    ("resident", "居民提出"),
    ("opinion", "民情民意"),
    ("visit", "走访发现"),
    ("officer", "网格员上报"),
];

/// Who offers a resource.
pub const PROVIDERS: [(&str, &str); 4] = [
    ("unit", "共建单位"),
    ("merchant", "商户"),
    ("volunteer_team", "志愿服务队"),
    ("party_member", "党员"),
];

/// The key of a kind given by its key or its Chinese name (forms send either).
pub fn kind_key(s: &str) -> Option<&'static str> {
    let s = s.trim();
    KINDS.iter().find(|(k, l)| *k == s || *l == s).map(|(k, _)| *k)
}

pub fn kind_label(k: &str) -> &'static str {
    KINDS.iter().find(|(x, _)| *x == k).map_or("其他", |(_, l)| *l)
}

pub fn source_key(s: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(k, _)| *k == s.trim()).map(|(k, _)| *k)
}

pub fn source_label(k: &str) -> &'static str {
    SOURCES.iter().find(|(x, _)| *x == k).map_or("", |(_, l)| *l)
}

pub fn provider_key(s: &str) -> Option<&'static str> {
    PROVIDERS.iter().find(|(k, _)| *k == s.trim()).map(|(k, _)| *k)
}

pub fn provider_label(k: &str) -> &'static str {
    PROVIDERS.iter().find(|(x, _)| *x == k).map_or("", |(_, l)| *l)
}

pub fn urgency_key(s: &str) -> Option<&'static str> {
    match s.trim() {
        "normal" => Some("normal"),
        "urgent" => Some("urgent"),
        _ => None,
    }
}

/// Where a need stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NeedStatus {
    /// No project with a resource answers it yet (待对接资源).
    Waiting,
    /// A project with resources answers it; no result yet (项目实施中).
    Planned,
    /// A project answering it has recorded its result (已满足).
    Met,
}

impl NeedStatus {
    pub fn label(self) -> &'static str {
        match self {
            NeedStatus::Waiting => "待对接资源",
            NeedStatus::Planned => "项目实施中",
            NeedStatus::Met => "已满足",
        }
    }
}

/// One project answering a need, as the need's status sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub resources: usize,
    pub has_result: bool,
}

/// A need is met only when a project answering it records a result; a project without a
/// resource leaves it waiting for one.
pub fn need_status(answers: &[Answer]) -> NeedStatus {
    if answers.iter().any(|a| a.has_result) {
        NeedStatus::Met
    } else if answers.iter().any(|a| a.resources > 0) {
        NeedStatus::Planned
    } else {
        NeedStatus::Waiting
    }
}

/// Trimmed text of `min`–`max` characters, or the Chinese reason it is not.
pub fn text(raw: &str, min: usize, max: usize, what: &str) -> Result<String, String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min {
        Err(format!("请填写{what}"))
    } else if n > max {
        Err(format!("{what}不能超过{max}个字"))
    } else {
        Ok(t.to_string())
    }
}

/// A whole number typed in a form (full-width digits read as ASCII) within `range`.
pub fn number(raw: &str, range: std::ops::RangeInclusive<i64>, what: &str) -> Result<i64, String> {
    let s = crate::identity::half_width(raw.trim());
    match s.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!("{what}应为{}至{}之间的整数", range.start(), range.end())),
    }
}

/// A `YYYY-MM-DD` date.
pub fn date(raw: &str, what: &str) -> Result<String, String> {
    let s = crate::identity::half_width(raw.trim());
    match s.parse::<jiff::civil::Date>() {
        Ok(d) if s.len() == 10 && (2000..=2100).contains(&d.year()) => Ok(s),
        _ => Err(format!("{what}应为日期，如 2026-11-26")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_need_is_met_only_by_a_result() {
        assert_eq!(need_status(&[]), NeedStatus::Waiting);
        let planned = Answer {
            resources: 2,
            has_result: false,
        };
        let bare = Answer {
            resources: 0,
            has_result: false,
        };
        assert_eq!(need_status(&[bare]), NeedStatus::Waiting, "a project with no resource");
        assert_eq!(need_status(&[bare, planned]), NeedStatus::Planned);
        let done = Answer {
            resources: 1,
            has_result: true,
        };
        assert_eq!(need_status(&[planned, done]), NeedStatus::Met);
    }

    proptest! {
        #[test]
        fn met_iff_some_answer_has_a_result(a in proptest::collection::vec((0usize..3, any::<bool>()), 0..6)) {
            let answers: Vec<Answer> = a.iter().map(|&(r, h)| Answer { resources: r, has_result: h }).collect();
            prop_assert_eq!(need_status(&answers) == NeedStatus::Met, a.iter().any(|x| x.1));
        }
    }

    #[test]
    fn kinds_read_keys_and_chinese() {
        assert_eq!(kind_key("助餐助浴"), Some("meals_bathing"));
        assert_eq!(kind_key("legal_aid"), Some("legal_aid"));
        assert_eq!(kind_key("跑腿"), None);
        assert_eq!(kind_label("repairs"), "维修改造");
        assert_eq!(urgency_key("urgent"), Some("urgent"));
        assert_eq!(urgency_key("high"), None);
    }

    #[test]
    fn numbers_and_text_are_bounded() {
        assert_eq!(number("１２", 0..=100, "人数"), Ok(12));
        assert!(number("101", 0..=100, "人数").is_err());
        assert!(text(&"字".repeat(501), 1, 500, "描述").is_err());
        assert_eq!(text(" 好 ", 1, 5, "x"), Ok("好".into()));
        assert!(date("2026-13-01", "开始日期").is_err());
        assert_eq!(date("２０２６-11-26", "d"), Ok("2026-11-26".into()));
    }
}
