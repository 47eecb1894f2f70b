//! The councils' pure rules: posts and who holds one alone, meeting kinds, how an opinion may be
//! answered, when it is flagged as waiting, and what state a resolution is in.

use serde::Serialize;

/// A post on a council (议事会职务).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Post {
    /// 主任
    Chair,
    /// 副主任
    ViceChair,
    /// 成员
    Member,
    /// 楼栋长: one per building
    BuildingHead,
    /// 单元长: one per unit of a building
    UnitHead,
}

pub const POSTS: [Post; 5] = [Post::Chair, Post::ViceChair, Post::Member, Post::BuildingHead, Post::UnitHead];

impl Post {
    pub fn as_str(self) -> &'static str {
        match self {
            Post::Chair => "chair",
            Post::ViceChair => "vice_chair",
            Post::Member => "member",
            Post::BuildingHead => "building_head",
            Post::UnitHead => "unit_head",
        }
    }

    pub fn parse(s: &str) -> Option<Post> {
        POSTS.into_iter().find(|p| p.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Post::Chair => "主任",
            Post::ViceChair => "副主任",
            Post::Member => "成员",
            Post::BuildingHead => "楼栋长",
            Post::UnitHead => "单元长",
        }
    }

    /// Whether the post is held for a building (楼栋长, 单元长).
    pub fn needs_building(self) -> bool {
        matches!(self, Post::BuildingHead | Post::UnitHead)
    }

    /// Whether the chair, vice-chairs and members lead the council (may answer opinions and hold
    /// meetings); heads collect opinions for their building.
    pub fn leads(self) -> bool {
        matches!(self, Post::Chair | Post::ViceChair)
    }
}

/// The seat a post fills: taking a single seat ends its earlier holder. Vice-chairs and members
/// are many; the chair is one per council, a building head one per building, a unit head one per
/// unit.
pub fn seat(post: Post, building: Option<&str>, unit_no: Option<i64>) -> Option<String> {
    match post {
        Post::Chair => Some("chair".into()),
        Post::ViceChair | Post::Member => None,
        Post::BuildingHead => Some(format!("building:{}", building.unwrap_or(""))),
        Post::UnitHead => Some(format!("unit:{}:{}", building.unwrap_or(""), unit_no.unwrap_or(0))),
    }
}

/// A meeting's kind (会议类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingKind {
    /// 党群议事会
    PartyMass,
    /// 五方联动: community, owners' committee, property company, council, owner representatives
    FiveParty,
    /// 三方联席会议: residents' committee, owners' committee, property company
    ThreeParty,
    /// 小区议事会
    Compound,
}

pub const MEETING_KINDS: [MeetingKind; 4] = [
    MeetingKind::PartyMass,
    MeetingKind::FiveParty,
    MeetingKind::ThreeParty,
    MeetingKind::Compound,
];

impl MeetingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::PartyMass => "party_mass",
            MeetingKind::FiveParty => "five_party",
            MeetingKind::ThreeParty => "three_party",
            MeetingKind::Compound => "compound",
        }
    }

    pub fn parse(s: &str) -> Option<MeetingKind> {
        MEETING_KINDS.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            MeetingKind::PartyMass => "党群议事会",
            MeetingKind::FiveParty => "五方联动会议",
            MeetingKind::ThreeParty => "三方联席会议",
            MeetingKind::Compound => "小区议事会",
        }
    }
}

/// Where an opinion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpinionStatus {
    /// 待答复
    Open,
    /// 已列入议题
    Agenda,
    /// 已转案件
    Case,
    /// 已合并
    Merged,
    /// 已答复
    Answered,
}

pub const OPINION_STATUSES: [OpinionStatus; 5] = [
    OpinionStatus::Open,
    OpinionStatus::Agenda,
    OpinionStatus::Case,
    OpinionStatus::Merged,
    OpinionStatus::Answered,
];

impl OpinionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpinionStatus::Open => "open",
            OpinionStatus::Agenda => "agenda",
            OpinionStatus::Case => "case",
            OpinionStatus::Merged => "merged",
            OpinionStatus::Answered => "answered",
        }
    }

    pub fn parse(s: &str) -> Option<OpinionStatus> {
        OPINION_STATUSES.into_iter().find(|x| x.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            OpinionStatus::Open => "待答复",
            OpinionStatus::Agenda => "已列入议题",
            OpinionStatus::Case => "已转案件",
            OpinionStatus::Merged => "已合并",
            OpinionStatus::Answered => "已答复",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            OpinionStatus::Open => "warn",
            OpinionStatus::Agenda => "info",
            OpinionStatus::Case | OpinionStatus::Answered => "ok",
            OpinionStatus::Merged => "grey",
        }
    }
}

/// How an opinion is answered (答复方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Put on a meeting's agenda.
    Agenda,
    /// Turned into a case (source `council`).
    Case,
    /// Merged with a similar opinion.
    Merge,
    /// Answered directly.
    Direct,
}

impl Answer {
    pub fn parse(s: &str) -> Option<Answer> {
        match s.trim() {
            "agenda" => Some(Answer::Agenda),
            "case" => Some(Answer::Case),
            "merge" => Some(Answer::Merge),
            "answer" => Some(Answer::Direct),
            _ => None,
        }
    }

    pub fn target(self) -> OpinionStatus {
        match self {
            Answer::Agenda => OpinionStatus::Agenda,
            Answer::Case => OpinionStatus::Case,
            Answer::Merge => OpinionStatus::Merged,
            Answer::Direct => OpinionStatus::Answered,
        }
    }
}

/// May an opinion in `from` be answered this way? A waiting one in any way; one on an agenda by
/// the meeting's outcome (a case, a merge or a direct answer), not by a second agenda; the others
/// are settled.
pub fn may_answer(from: OpinionStatus, how: Answer) -> bool {
    match from {
        OpinionStatus::Open => true,
        OpinionStatus::Agenda => how != Answer::Agenda,
        OpinionStatus::Case | OpinionStatus::Merged | OpinionStatus::Answered => false,
    }
}

/// Days an opinion may wait for its answer before it is flagged (超期未答复).
pub const ANSWER_DAYS: i64 = 7;

/// Whether an opinion still waiting has waited 7 days or more.
pub fn is_aged(status: OpinionStatus, created_at: i64, now: i64) -> bool {
    status == OpinionStatus::Open && now - created_at >= ANSWER_DAYS * 86_400_000
}

/// A resolution's state (决议事项进展), from its own row and its case's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionState {
    /// 落实中 (not yet due)
    Pending,
    /// 已转案件办理中
    InCase,
    /// 已逾期
    Overdue,
    /// 已办结
    Done,
}

impl ResolutionState {
    pub fn label(self) -> &'static str {
        match self {
            ResolutionState::Pending => "落实中",
            ResolutionState::InCase => "案件办理中",
            ResolutionState::Overdue => "已逾期",
            ResolutionState::Done => "已办结",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            ResolutionState::Pending | ResolutionState::InCase => "info",
            ResolutionState::Overdue => "danger",
            ResolutionState::Done => "ok",
        }
    }
}

/// A resolution is done when marked so or when its case closed (declined cases are not done: the
/// matter is still the council's); past its deadline it is overdue; otherwise it follows its case.
pub fn resolution_state(done_at: Option<i64>, case_status: Option<&str>, due_at: i64, now: i64) -> ResolutionState {
    if done_at.is_some() || case_status == Some("closed") {
        ResolutionState::Done
    } else if now > due_at {
        ResolutionState::Overdue
    } else if case_status.is_some() {
        ResolutionState::InCase
    } else {
        ResolutionState::Pending
    }
}

/// Trimmed text between `min` and `max` characters, or the message to show.
pub fn text(raw: &str, min: usize, max: usize, what: &str) -> Result<String, String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min || n > max {
        Err(format!("{what}应为{min}至{max}字"))
    } else {
        Ok(t.to_string())
    }
}

/// A sign-in code as typed (full-width digits, spaces) made comparable.
pub fn normalise_code(raw: &str) -> String {
    crate::identity::half_width(raw).chars().filter(|c| c.is_ascii_digit()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ANSWERS: [Answer; 4] = [Answer::Agenda, Answer::Case, Answer::Merge, Answer::Direct];

    #[test]
    fn answers_move_forward_only() {
        for from in OPINION_STATUSES {
            for how in ANSWERS {
                let ok = may_answer(from, how);
                match from {
                    OpinionStatus::Open => assert!(ok),
                    OpinionStatus::Agenda => assert_eq!(ok, how != Answer::Agenda, "{how:?}"),
                    _ => assert!(!ok, "{from:?} is settled"),
                }
                // Whatever is allowed leads to a state that is not `Open` again.
                if ok {
                    assert_ne!(how.target(), OpinionStatus::Open);
                }
            }
        }
        for s in OPINION_STATUSES {
            assert_eq!(OpinionStatus::parse(s.as_str()), Some(s));
        }
        for p in POSTS {
            assert_eq!(Post::parse(p.as_str()), Some(p));
        }
        for k in MEETING_KINDS {
            assert_eq!(MeetingKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn seats_are_single_where_the_post_is() {
        assert_eq!(seat(Post::Chair, None, None), seat(Post::Chair, Some("x"), Some(2)));
        assert!(seat(Post::Member, None, None).is_none() && seat(Post::ViceChair, None, None).is_none());
        assert_ne!(seat(Post::BuildingHead, Some("a"), None), seat(Post::BuildingHead, Some("b"), None));
        assert_ne!(seat(Post::UnitHead, Some("a"), Some(1)), seat(Post::UnitHead, Some("a"), Some(2)));
        assert_ne!(
            seat(Post::UnitHead, Some("a"), Some(1)),
            seat(Post::BuildingHead, Some("a"), Some(1))
        );
    }

    #[test]
    fn seven_days_exactly_flags_an_opinion() {
        let day = 86_400_000;
        assert!(!is_aged(OpinionStatus::Open, 0, 7 * day - 1));
        assert!(is_aged(OpinionStatus::Open, 0, 7 * day));
        assert!(!is_aged(OpinionStatus::Agenda, 0, 30 * day), "on an agenda is an answer");
    }

    #[test]
    fn codes_read_full_width_digits() {
        assert_eq!(normalise_code(" １２３ ４５６ "), "123456");
        assert_eq!(normalise_code("12a3"), "123");
    }

    proptest! {
        #[test]
        fn resolution_states(done in prop::option::of(0i64..100), case in prop::sample::select(vec![None, Some("reported"), Some("handling"), Some("closed"), Some("declined")]), due in 0i64..100, now in 0i64..100) {
            let s = resolution_state(done, case, due, now);
            let closed = done.is_some() || case == Some("closed");
            prop_assert_eq!(s == ResolutionState::Done, closed);
            prop_assert_eq!(s == ResolutionState::Overdue, !closed && now > due);
            prop_assert_eq!(s == ResolutionState::InCase, !closed && now <= due && case.is_some());
        }

        #[test]
        fn text_bounds(raw in ".{0,40}", min in 0usize..10, max in 10usize..30) {
            match text(&raw, min, max, "内容") {
                Ok(t) => prop_assert!((min..=max).contains(&t.chars().count()) && t == raw.trim()),
                Err(m) => prop_assert!(m.contains("内容")),
            }
        }
    }
}
