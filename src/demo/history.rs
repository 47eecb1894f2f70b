//! A year of case history for the demo district: realistic mixes of category, source, outcome,
//! timeliness, rework and rating, so the board and the assessment show real figures at once.

use std::collections::HashSet;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use crate::cases::calendar::Calendar;
use crate::cases::categories::{DEFAULTS, Limit};

pub struct HCase {
    pub id: Uuid,
    pub tracking_code: String,
    pub category: &'static str,
    pub description: String,
    pub lat: f64,
    pub lng: f64,
    pub grid: String,
    pub level: i64,
    pub source: &'static str,
    pub status: &'static str,
    pub unit: Option<Uuid>,
    pub rework: i64,
    pub rating: Option<&'static str>,
    pub reporter_name: String,
    pub reported_at: i64,
    pub due_at: i64,
    pub handled_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub events: Vec<(i64, &'static str, String, String)>,
    /// Answers to the category's seeded questions (JSON object), as a reporter would give them.
    pub attributes: String,
}

/// Category codes with weights (per mille) and a few descriptions each.
const MIX: &[(&str, u32, &[&str])] = &[
    ("SQ01", 200, &["垃圾桶满溢未及时清运", "楼下绿化带内垃圾堆积", "小区门口有建筑垃圾"]),
    ("SQ02", 120, &["电动车占用消防通道", "私家车长期占用盲道", "小区出入口车辆乱停"]),
    ("SQ03", 80, &["楼道内电动车飞线充电", "从窗户拉线给电动车充电"]),
    ("SQ04", 25, &["楼上有人向下扔杂物", "阳台花盆有坠落风险"]),
    ("SQ05", 40, &["楼顶私搭彩钢房", "一楼住户私自扩建院墙"]),
    ("SQ06", 50, &["公共绿地被开垦种菜", "绿化带内种植蔬菜"]),
    ("SQ07", 120, &["楼道内堆放杂物", "单元门口堆放旧家具"]),
    ("SQ08", 55, &["邻里因噪音发生纠纷", "楼上漏水引发邻里矛盾"]),
    ("BJ01", 40, &["井盖缺失", "路灯不亮"]),
    ("BJ02", 25, &["人行道地砖破损", "交通标志牌倾斜"]),
    ("BJ03", 25, &["公共厕所设施损坏", "垃圾箱破损"]),
    ("BJ04", 20, &["行道树枯死", "绿篱缺株"]),
    ("BJ05", 10, &["危房外墙脱落"]),
    ("SJ01", 60, &["沿街店铺占道经营", "流动摊贩占道"]),
    ("SJ02", 30, &["违规张贴小广告", "广告牌破损"]),
    ("SJ03", 40, &["工地夜间施工扰民", "渣土车抛洒"]),
    ("SJ04", 45, &["夜市油烟扰民", "店外乱摆桌椅"]),
    ("SJ05", 15, &["雨后路面积水", "电线杆倾斜"]),
];

/// Answers to `category`'s seeded questions, drawn from `bytes` (the case id's random part, so
/// the main generator's sequence is untouched): a floor from 1 to 18, a choice, a component
/// number; about one question in eight is left blank, as reporters do.
fn demo_answers(category: &str, bytes: &[u8; 10]) -> String {
    use crate::cases::attributes::{DEFAULT_FIELDS, Datatype, parse_fields};
    let Some((_, json)) = DEFAULT_FIELDS.iter().find(|(c, _)| *c == category) else {
        return "{}".into();
    };
    let mut out = serde_json::Map::new();
    for (i, f) in parse_fields(json).iter().enumerate() {
        let b = bytes[(i * 2) % bytes.len()];
        let b2 = bytes[(i * 2 + 1) % bytes.len()];
        if b.is_multiple_of(8) && !f.required {
            continue;
        }
        let answer = match f.datatype {
            Datatype::Number => (1 + b2 % 18).to_string(),
            Datatype::Singlevaluelist | Datatype::Multivaluelist => f.values[usize::from(b2) % f.values.len()].key.clone(),
            Datatype::String => format!("{}-{:04}", category, u16::from_le_bytes([b, b2]) % 10_000),
            Datatype::Text | Datatype::Datetime => continue,
        };
        let value = if f.datatype == Datatype::Multivaluelist {
            serde_json::json!([answer])
        } else {
            serde_json::Value::String(answer)
        };
        out.insert(f.code.clone(), value);
    }
    serde_json::Value::Object(out).to_string()
}

const SOURCES: &[(&str, u32)] = &[("officer", 60), ("resident", 20), ("hotline", 10), ("device", 5), ("council", 5)];

fn pick_weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total);
    for it in items {
        let w = weight(it);
        if x < w {
            return it;
        }
        x -= w;
    }
    &items[items.len() - 1]
}

/// Who handles the demo's cases: a department by name, a community's committee by its grid code,
/// a compound's property company by the compound's code.
#[derive(Clone, Copy)]
pub struct Handlers<'a> {
    pub department: &'a dyn Fn(&str) -> Option<Uuid>,
    pub community: &'a dyn Fn(&str) -> Option<Uuid>,
    pub property_company: &'a dyn Fn(&str) -> Option<Uuid>,
}

/// Plan `n` cases reported over the year before `now_ms`.
pub fn plan_cases(p: &Plan, n: usize, seed: u64, now_ms: i64, cal: &Calendar, units: &Handlers<'_>) -> Vec<HCase> {
    let Handlers {
        department: unit_of_name,
        community: community_unit,
        property_company,
    } = *units;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_CA5E);
    let buildings: Vec<&super::plan::PGrid> = p.grids.iter().filter(|g| g.level == 5).collect();
    let mut codes = HashSet::new();
    let mut out = Vec::with_capacity(n);
    let day = 86_400_000i64;
    let mut id_ms = (now_ms - 366 * day) as u64;
    for _ in 0..n {
        let (cat, _, texts) = *pick_weighted(&mut rng, MIX, |m| m.1);
        let def = DEFAULTS.iter().find(|d| d.0 == cat).expect("mix names seeded categories");
        let b = buildings[rng.random_range(0..buildings.len())];
        let (lat, lng) = b.shape.random_point(&mut rng);
        // Reports cluster in working hours.
        let days_ago = rng.random_range(0..365i64);
        let hour = *pick_weighted(
            &mut rng,
            &[
                (7, 3),
                (8, 8),
                (9, 10),
                (10, 10),
                (11, 8),
                (14, 8),
                (15, 9),
                (16, 8),
                (17, 6),
                (19, 4),
                (21, 2),
            ],
            |h| h.1,
        );
        let midnight_china = ((now_ms + 8 * 3_600_000) / day) * day - 8 * 3_600_000;
        let reported_at = (midnight_china - days_ago * day + hour.0 * 3_600_000 + rng.random_range(0..3_600_000)).min(now_ms - 60_000);
        let limit = def.4.unwrap_or(Limit::WorkingDays(5));
        let due_at = crate::cases::service::due_for(cal, Some(limit), reported_at);
        let limit_ms = (due_at - reported_at).max(3_600_000);
        let source = pick_weighted(&mut rng, SOURCES, |s| s.1).0;
        // Most of what a compound's property company serves goes to that company (小事不出小区).
        let company = crate::cases::categories::PROPERTY_SERVES
            .contains(&def.0)
            .then(|| property_company(&b.code[..15]))
            .flatten()
            .filter(|_| rng.random_bool(0.7));
        // Half the small matters a compound closes itself (楼道堆物, 环境卫生) and no company took
        // are handled by the building's own officer (小事不出格): no unit.
        let self_handled = company.is_none() && def.5 >= 4 && rng.random_bool(0.5);
        let unit = if self_handled {
            None
        } else {
            company
                .or_else(|| def.6.and_then(unit_of_name))
                .or_else(|| community_unit(&b.code[..12]))
        };
        let handles = unit.is_some() || self_handled;
        id_ms += 1;
        let mut raw = [0u8; 10];
        for x in &mut raw {
            *x = rng.random();
        }
        let id = uuid::Builder::from_unix_timestamp_millis(id_ms, &raw).into_uuid();
        let tracking_code = loop {
            const A: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            let c: String = (0..10).map(|_| A[rng.random_range(0..A.len())] as char).collect();
            if codes.insert(c.clone()) {
                break c;
            }
        };
        let officer = |rng: &mut ChaCha8Rng| format!("网格员{}", rng.random_range(1..3000));
        let reporter_name = if source == "resident" {
            "居民".to_string()
        } else {
            officer(&mut rng)
        };
        let mut events = vec![(reported_at, "report", reporter_name.clone(), String::new())];
        let age = now_ms - reported_at;
        // How far the case got: old cases are almost all finished, recent ones are spread out.
        let roll: f64 = rng.random();
        let stage = if roll < 0.03 {
            0 // declined
        } else if age > 30 * day {
            if roll < 0.95 { 6 } else { rng.random_range(2..6) }
        } else if age < 2 * day {
            rng.random_range(1..4)
        } else if age > 7 * day {
            if roll < 0.75 { 6 } else { rng.random_range(2..6) }
        } else if roll < 0.35 {
            6
        } else {
            rng.random_range(2..6)
        };
        let mut t = reported_at + rng.random_range(600_000..7_200_000);
        let mut rating = None::<&'static str>;
        let (staff, unit_name, checker) = if self_handled {
            ("楼栋信息员".to_string(), "楼栋信息员".to_string(), Some("小区网格长".to_string()))
        } else {
            ("社区工作人员".to_string(), "承办单位".to_string(), None)
        };
        if stage == 0 {
            events.push((t, "decline", staff.clone(), "经核实不属于受理范围".into()));
        }
        if stage >= 1 {
            events.push((t, "accept", staff.clone(), String::new()));
        }
        if stage >= 2 && unit.is_some() {
            t += rng.random_range(600_000..3_600_000);
            events.push((t, "dispatch", staff.clone(), String::new()));
        }
        if stage >= 3 && handles {
            t += rng.random_range(600_000..14_400_000);
            let note = if self_handled {
                "由楼栋自行处置".into()
            } else {
                String::new()
            };
            events.push((t, "start", unit_name.clone(), note));
        }
        if stage >= 4 && handles {
            // 88% handled within the limit; the rest up to twice over it.
            let spent = if rng.random_bool(0.88) {
                rng.random_range(limit_ms / 10..limit_ms)
            } else {
                rng.random_range(limit_ms..limit_ms * 2)
            };
            t = (reported_at + spent).max(t + 60_000);
            if rng.random_bool(0.06) {
                events.push((t, "handle", unit_name.clone(), "已处置".into()));
                t += rng.random_range(3_600_000..day);
                events.push((
                    t,
                    "return",
                    checker.clone().unwrap_or_else(|| staff.clone()),
                    "现场核查未处置到位".into(),
                ));
                t += rng.random_range(3_600_000..day);
                events.push((t, "start", unit_name.clone(), String::new()));
                t += rng.random_range(3_600_000..day);
            }
            events.push((t, "handle", unit_name.clone(), "已处置完毕".into()));
        }
        if stage >= 5 && handles {
            t += rng.random_range(1_800_000..day);
            let who = checker.clone().unwrap_or_else(|| officer(&mut rng));
            events.push((t, "verify", who, String::new()));
        }
        if stage >= 6 && handles {
            t += rng.random_range(1_800_000..day);
            events.push((t, "close", checker.clone().unwrap_or_else(|| staff.clone()), String::new()));
            if rng.random_bool(0.7) {
                let r = *pick_weighted(
                    &mut rng,
                    &[("satisfied", 85), ("basically_satisfied", 10), ("dissatisfied", 5)],
                    |x| x.1,
                );
                t += rng.random_range(3_600_000..3 * day);
                events.push((t, "rate", reporter_name.clone(), String::new()));
                rating = Some(r.0);
            }
        }
        // Nothing may lie in the future: keep the events up to now and read the state off them.
        events.retain(|e| e.0 <= now_ms);
        let status = match events.last().map(|e| e.1).unwrap_or("report") {
            "decline" => "declined",
            "accept" => "accepted",
            "return" if self_handled => "accepted",
            "dispatch" | "return" => "dispatched",
            "start" => "handling",
            "handle" => "handled",
            "verify" => "verified",
            "close" | "rate" => "closed",
            _ => "reported",
        };
        let handled_at = if matches!(status, "handled" | "verified" | "closed") {
            events.iter().rev().find(|e| e.1 == "handle").map(|e| e.0)
        } else {
            None
        };
        let closed_at = events.iter().find(|e| e.1 == "close").map(|e| e.0);
        let rework = events.iter().filter(|e| e.1 == "return").count() as i64;
        let rating = if events.iter().any(|e| e.1 == "rate") { rating } else { None };
        out.push(HCase {
            id,
            tracking_code,
            category: def.0,
            // The draw stays, so the rest of the year is as before; the words vary per case.
            description: super::descriptions::describe(def.0, &raw, texts[rng.random_range(0..texts.len())]),
            lat,
            lng,
            grid: b.code.clone(),
            level: 5,
            source,
            status,
            unit: if matches!(status, "reported" | "accepted" | "declined") {
                None
            } else {
                unit
            },
            rework,
            rating,
            reporter_name,
            reported_at,
            due_at,
            handled_at,
            closed_at,
            events,
            attributes: demo_answers(def.0, &raw),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::workflow::{Action, CaseState, Rating, Status, apply};

    #[test]
    fn history_is_consistent_with_the_workflow() {
        let p = super::super::plan::plan(super::super::plan::SMALL, 5);
        let now = 1_795_000_000_000;
        let unit = Uuid::from_u128(7);
        let cases = plan_cases(
            &p,
            3000,
            5,
            now,
            &Calendar::built_in(),
            &Handlers {
                department: &|_| Some(unit),
                community: &|_| Some(unit),
                property_company: &|_| None,
            },
        );
        let mut on_time = 0;
        let mut handled = 0;
        for c in &cases {
            // Replaying the timeline through the state machine ends in the stored status.
            let mut s = CaseState::new(5);
            for (at, action, _, note) in &c.events {
                assert!(*at <= now && *at >= c.reported_at, "no event in the future or before the report");
                let a = match *action {
                    "report" => continue,
                    "accept" => Action::Accept,
                    "decline" => Action::Decline { reason: note.clone() },
                    "dispatch" => Action::Dispatch { unit },
                    "start" => Action::Start,
                    "handle" => Action::Handle { note: note.clone() },
                    "return" => Action::Return { note: note.clone() },
                    "verify" => Action::Verify,
                    "close" => Action::Close,
                    "rate" => Action::Rate { rating: Rating::Satisfied },
                    other => panic!("unknown action {other}"),
                };
                s = apply(&s, &a).unwrap_or_else(|e| panic!("{} {action}: {e:?}", c.tracking_code));
            }
            assert_eq!(s.status, Status::parse(c.status).unwrap(), "{}", c.tracking_code);
            assert_eq!(
                s.unit.is_some(),
                c.unit.is_some(),
                "{} holds the unit its timeline gave it",
                c.tracking_code
            );
            assert_eq!(i64::from(s.rework), c.rework);
            assert_eq!(c.rating.is_some(), s.rating.is_some());
            assert_eq!(c.closed_at.is_some(), c.status == "closed");
            if let Some(h) = c.handled_at {
                handled += 1;
                if h <= c.due_at {
                    on_time += 1;
                }
            }
        }
        let share = on_time as f64 / handled as f64;
        assert!((0.8..0.95).contains(&share), "on-time share {share}");
        let closed = cases.iter().filter(|c| c.status == "closed").count() as f64 / cases.len() as f64;
        assert!(closed > 0.7, "most of a year's cases are closed: {closed}");
        // Small matters the building handled itself (小事不出格) are among them.
        let own = cases.iter().filter(|c| c.status == "closed" && c.unit.is_none()).count();
        assert!(own > 50, "{own} closed without a unit");
        assert!(
            cases
                .iter()
                .filter(|c| c.unit.is_none() && c.status == "closed")
                .all(|c| crate::cases::categories::DEFAULTS.iter().any(|d| d.0 == c.category && d.5 >= 4)),
            "only what a compound may close"
        );
    }

    #[test]
    fn cases_answer_their_categorys_questions() {
        use crate::cases::attributes::{DEFAULT_FIELDS, check_answers, parse_fields};
        let p = super::super::plan::plan(super::super::plan::SMALL, 5);
        let none = Handlers {
            department: &|_| None,
            community: &|_| None,
            property_company: &|_| None,
        };
        let cases = plan_cases(&p, 3000, 5, 1_795_000_000_000, &Calendar::built_in(), &none);
        for (code, json) in DEFAULT_FIELDS {
            let fields = parse_fields(json);
            let of: Vec<&HCase> = cases.iter().filter(|c| c.category == *code).collect();
            assert!(!of.is_empty(), "the mix has {code}");
            let mut answered = 0;
            for c in &of {
                let v: serde_json::Value = serde_json::from_str(&c.attributes).unwrap();
                // Stored as the report path stores them: what check_answers returns for them.
                let given = v
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, x)| {
                        let vals = match x {
                            serde_json::Value::Array(a) => a.iter().map(|y| y.as_str().unwrap().to_string()).collect(),
                            y => vec![y.as_str().unwrap().to_string()],
                        };
                        (k.clone(), vals)
                    })
                    .collect();
                assert_eq!(check_answers(&fields, &given).unwrap(), v, "{}", c.attributes);
                answered += usize::from(!v.as_object().unwrap().is_empty());
            }
            assert!(answered * 10 >= of.len() * 8, "{code}: {answered} of {} answered", of.len());
        }
        assert!(cases.iter().filter(|c| c.category == "SQ02").all(|c| c.attributes == "{}"));
    }
}
