//! Service sites' rules (服务阵地): site kinds, and a room booking's half-hour slots — aligned,
//! at most 12 hours, never in the past; two bookings overlap only if they share a slot.

/// A booking's unit: every booking starts and ends on a half hour (China time has whole-hour
/// offset, so UTC half hours are China half hours).
pub const SLOT_MS: i64 = 30 * 60_000;
/// The longest booking.
pub const MAX_MS: i64 = 12 * 3_600_000;
/// How far ahead a room may be booked.
pub const HORIZON_MS: i64 = 180 * 86_400_000;

/// Kinds of site: the stable key and the Chinese name.
pub const KINDS: [(&str, &str); 5] = [
    ("party_center", "党群服务中心"),
    ("civilization", "新时代文明实践站"),
    ("warm_station", "暖心驿站"),
    ("cool_space", "清凉空间"),
    ("day_care", "日间照料中心"),
];

pub fn kind_label(k: &str) -> &'static str {
    KINDS.iter().find(|(x, _)| *x == k).map_or("服务阵地", |(_, l)| *l)
}

/// Why a slot is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    Unaligned,
    Empty,
    TooLong,
    Past,
    TooFar,
}

impl SlotError {
    pub fn code(self) -> &'static str {
        match self {
            SlotError::Past => "past_slot",
            _ => "invalid_slot",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            SlotError::Unaligned => "预约须从整点或半点开始、到整点或半点结束",
            SlotError::Empty => "结束时间须晚于开始时间",
            SlotError::TooLong => "一次预约不能超过12小时",
            SlotError::Past => "不能预约已经开始或过去的时段",
            SlotError::TooFar => "最多只能预约180天以内的时段",
        }
    }
}

/// The half-hour slots `[start, end)` occupies, or why it may not be booked at `now`.
pub fn slots(start: i64, end: i64, now: i64) -> Result<Vec<i64>, SlotError> {
    if start.rem_euclid(SLOT_MS) != 0 || end.rem_euclid(SLOT_MS) != 0 {
        return Err(SlotError::Unaligned);
    }
    if end <= start {
        return Err(SlotError::Empty);
    }
    if end - start > MAX_MS {
        return Err(SlotError::TooLong);
    }
    if start < now {
        return Err(SlotError::Past);
    }
    if start - now > HORIZON_MS {
        return Err(SlotError::TooFar);
    }
    Ok((start..end).step_by(SLOT_MS as usize).collect())
}

/// Whether two slots `[a0, a1)` and `[b0, b1)` overlap (touching ends do not).
pub fn overlap(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The day (0 Monday … 6 Sunday) of a week starting at `week_start` an instant falls on.
pub fn day_of_week(at: i64, week_start: i64) -> Option<usize> {
    let d = (at - week_start).div_euclid(86_400_000);
    (0..7).contains(&d).then_some(d as usize)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;
    const NOW: i64 = 1_790_000_000_000 - 1_790_000_000_000 % SLOT_MS;

    #[test]
    fn slots_are_aligned_bounded_and_ahead() {
        assert_eq!(slots(NOW + H, NOW + 2 * H, NOW), Ok(vec![NOW + H, NOW + H + SLOT_MS]));
        assert_eq!(slots(NOW + H + 60_000, NOW + 2 * H, NOW), Err(SlotError::Unaligned));
        assert_eq!(slots(NOW + H, NOW + H, NOW), Err(SlotError::Empty));
        assert_eq!(slots(NOW + H, NOW + 13 * H + SLOT_MS, NOW), Err(SlotError::TooLong));
        assert_eq!(slots(NOW + H, NOW + 13 * H, NOW).map(|s| s.len()), Ok(24), "twelve hours exactly");
        assert_eq!(slots(NOW - SLOT_MS, NOW + H, NOW), Err(SlotError::Past));
        assert_eq!(slots(NOW + 181 * 24 * H, NOW + 181 * 24 * H + H, NOW), Err(SlotError::TooFar));
    }

    #[test]
    fn adjacent_bookings_share_no_slot() {
        let a = slots(NOW + H, NOW + 2 * H, NOW).unwrap();
        let b = slots(NOW + 2 * H, NOW + 3 * H, NOW).unwrap();
        assert!(a.iter().all(|s| !b.contains(s)));
        assert!(!overlap((NOW + H, NOW + 2 * H), (NOW + 2 * H, NOW + 3 * H)));
    }

    proptest! {
        /// Sharing a slot is exactly overlapping: the database's slot key enforces the rule.
        #[test]
        fn shared_slot_iff_overlap(a0 in 0i64..48, al in 1i64..24, b0 in 0i64..48, bl in 1i64..24) {
            let (a, b) = ((NOW + a0 * SLOT_MS, NOW + (a0 + al) * SLOT_MS), (NOW + b0 * SLOT_MS, NOW + (b0 + bl) * SLOT_MS));
            let sa = slots(a.0, a.1, NOW).unwrap();
            let sb = slots(b.0, b.1, NOW).unwrap();
            prop_assert_eq!(sa.iter().any(|s| sb.contains(s)), overlap(a, b));
        }
    }

    #[test]
    fn days_of_the_week() {
        assert_eq!(day_of_week(NOW + 3 * 24 * H + H, NOW), Some(3));
        assert_eq!(day_of_week(NOW - 1, NOW), None);
        assert_eq!(day_of_week(NOW + 7 * 24 * H, NOW), None);
        assert_eq!(crate::identity::mask_name("王小明"), "王**");
        assert_eq!(crate::identity::mask_name("李四"), "李*");
    }
}
