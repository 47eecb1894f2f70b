//! Dispute mediation's pure rules (矛盾纠纷调解规则): kinds, the dispute's states, what each step
//! needs, and the follow-up visit 30 days after the outcome. No I/O.

/// Kinds of dispute (纠纷类型): code and label.
pub const KINDS: [(&str, &str); 5] = [
    ("neighbour", "邻里纠纷"),
    ("family", "婚姻家庭纠纷"),
    ("property", "物业纠纷"),
    ("labour", "劳动纠纷"),
    ("other", "其他纠纷"),
];

pub fn kind_label(k: &str) -> &'static str {
    KINDS.iter().find(|x| x.0 == k).map_or("其他纠纷", |x| x.1)
}

/// Where a referral goes (转办去向).
pub const REFERRALS: [(&str, &str); 3] = [("department", "转职能部门"), ("case", "转为案件办理"), ("court", "引导诉讼")];

pub fn referral_label(r: &str) -> &'static str {
    REFERRALS.iter().find(|x| x.0 == r).map_or("", |x| x.1)
}

/// Days from the outcome to the follow-up visit (回访).
pub const FOLLOW_UP_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Agreed,
    Referred,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Agreed => "agreed",
            Status::Referred => "referred",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Agreed, Status::Referred]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "调解中",
            Status::Agreed => "达成协议",
            Status::Referred => "未达成协议已转办",
        }
    }
}

/// An outcome as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Agreement { terms: String },
    Referral { to: String, note: String },
}

/// Why a step is refused: (code, message).
pub type Refusal = (&'static str, &'static str);

/// A session may be recorded while the dispute is open.
pub fn may_add_session(s: Status) -> Result<(), Refusal> {
    if s == Status::Open {
        Ok(())
    } else {
        Err(("dispute_closed", "调解已结束，不能再记录调解过程"))
    }
}

/// The outcome: once, after at least one session, with terms (agreement) or a known referral.
pub fn decide(s: Status, sessions: usize, o: &Outcome) -> Result<Status, Refusal> {
    if s != Status::Open {
        return Err(("dispute_closed", "该纠纷已有调解结果"));
    }
    if sessions == 0 {
        return Err(("no_session", "请先记录至少一次调解"));
    }
    match o {
        Outcome::Agreement { terms } => {
            let n = terms.trim().chars().count();
            if !(2..=2000).contains(&n) {
                return Err(("invalid_terms", "协议内容应为2至2000字"));
            }
            Ok(Status::Agreed)
        }
        Outcome::Referral { to, .. } => {
            if !REFERRALS.iter().any(|r| r.0 == to) {
                return Err(("invalid_referral", "转办去向应为职能部门、案件或诉讼"));
            }
            Ok(Status::Referred)
        }
    }
}

/// The follow-up's due day: 30 days after the outcome's day.
pub fn follow_up_due(outcome_day: jiff::civil::Date) -> jiff::civil::Date {
    outcome_day
        .checked_add(jiff::Span::new().days(FOLLOW_UP_DAYS))
        .unwrap_or(outcome_day)
}

/// A follow-up visit: once, after the outcome, not before its due day.
pub fn may_follow_up(s: Status, done: bool, due: jiff::civil::Date, today: jiff::civil::Date) -> Result<(), Refusal> {
    if s == Status::Open {
        return Err(("dispute_open", "调解结束后才能回访"));
    }
    if done {
        return Err(("followed_up", "已回访"));
    }
    if today < due {
        return Err(("follow_up_early", "回访应在调解结束30天后进行"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn outcome_needs_a_session_and_terms() {
        let a = Outcome::Agreement {
            terms: "甲方赔偿乙方500元".into(),
        };
        assert_eq!(decide(Status::Open, 0, &a), Err(("no_session", "请先记录至少一次调解")));
        assert_eq!(decide(Status::Open, 1, &a), Ok(Status::Agreed));
        assert!(decide(Status::Agreed, 1, &a).is_err());
        assert!(decide(Status::Open, 1, &Outcome::Agreement { terms: " ".into() }).is_err());
        let r = Outcome::Referral {
            to: "court".into(),
            note: String::new(),
        };
        assert_eq!(decide(Status::Open, 2, &r), Ok(Status::Referred));
        assert!(
            decide(
                Status::Open,
                2,
                &Outcome::Referral {
                    to: "police".into(),
                    note: String::new()
                }
            )
            .is_err()
        );
        assert!(may_add_session(Status::Open).is_ok());
        assert!(may_add_session(Status::Referred).is_err());
        assert_eq!(crate::identity::mask_name("赵大勇"), "赵**");
    }

    #[test]
    fn follow_up_after_thirty_days() {
        let due = follow_up_due(date(2026, 1, 15));
        assert_eq!(due, date(2026, 2, 14));
        assert!(may_follow_up(Status::Agreed, false, due, date(2026, 2, 13)).is_err());
        assert!(may_follow_up(Status::Agreed, false, due, date(2026, 2, 14)).is_ok());
        assert!(may_follow_up(Status::Agreed, true, due, date(2026, 3, 1)).is_err());
        assert!(may_follow_up(Status::Open, false, due, date(2026, 3, 1)).is_err());
    }

    proptest! {
        // Whatever the order of steps, an outcome is reached once, only after a session, and
        // sessions stop at the outcome.
        #[test]
        fn one_outcome_after_sessions(steps in proptest::collection::vec(0u8..3, 0..20)) {
            let mut s = Status::Open;
            let mut sessions = 0usize;
            let mut outcomes = 0;
            for x in steps {
                match x {
                    0 => if may_add_session(s).is_ok() { sessions += 1; } else { prop_assert_ne!(s, Status::Open); },
                    1 => if let Ok(n) = decide(s, sessions, &Outcome::Agreement { terms: "和解".into() }) { prop_assert!(sessions > 0); s = n; outcomes += 1; },
                    _ => if let Ok(n) = decide(s, sessions, &Outcome::Referral { to: "case".into(), note: String::new() }) { prop_assert!(sessions > 0); s = n; outcomes += 1; },
                }
            }
            prop_assert!(outcomes <= 1);
            prop_assert_eq!(outcomes == 1, s != Status::Open);
        }
    }
}
