//! The demo's call log (一键智达): a few months of short voice and video calls between the demo's
//! grid accounts — the centre calling down to a street, community, compound or building, and
//! grid workers calling the command centre (呼叫指挥中心) — with realistic outcomes and durations.

use indicatif::ProgressBar;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::{Scale, V, bulk};
use crate::db::Tx;
use crate::on_tx;

/// A grid account as the demo made it.
struct Staff {
    id: Uuid,
    name: String,
    role: String,
    grid: String,
}

const DAY: i64 = 86_400_000;

/// Insert the call log; returns how many calls.
pub async fn insert(tx: &mut Tx, district: &str, scale: Scale, seed: u64, now_ms: i64, pb: &ProgressBar) -> sqlx::Result<usize> {
    let staff: Vec<(Uuid, String, String, String)> = on_tx!(&mut *tx, |c| {
        sqlx::query_as(
        "SELECT u.id, u.display_name, p.role, p.grid_code FROM users u JOIN posts p ON p.user_id = u.id \
         WHERE u.district = $1 AND p.grid_code IS NOT NULL AND p.role IN ('district_admin', 'street_staff', 'community_staff', 'compound_leader', 'building_officer') \
         ORDER BY LENGTH(p.grid_code), u.username"
    )
    .bind(district)
    .fetch_all(&mut *c)
    .await
    })?;
    let staff: Vec<Staff> = staff
        .into_iter()
        .map(|(id, name, role, grid)| Staff { id, name, role, grid })
        .collect();
    let centre: Vec<&Staff> = staff.iter().filter(|s| s.role == "district_admin").collect();
    let below: Vec<&Staff> = staff.iter().filter(|s| s.role != "district_admin").collect();
    if centre.is_empty() || below.is_empty() {
        return Ok(0);
    }
    let (days, per_day) = match scale {
        Scale::District => (120, 3..=9),
        Scale::Small => (45, 0..=3),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xCA11_5EED);
    let china_midnight = (now_ms + 8 * 3_600_000) / DAY * DAY - 8 * 3_600_000;
    let mut rows = Vec::new();
    for day in 1..=days {
        let n = rng.random_range(per_day.clone());
        for _ in 0..n {
            // Mostly working hours; now and then an evening emergency.
            let hour = if rng.random_range(0..10) == 0 {
                rng.random_range(19..23)
            } else {
                rng.random_range(8..18)
            };
            let requested = china_midnight - day * DAY + hour * 3_600_000 + rng.random_range(0..3_600_000);
            let to_centre = rng.random_range(0..100) < 35;
            let video = rng.random_range(0..100) < 60;
            let (caller, callee, grid): (&Staff, Option<&Staff>, String) = if to_centre {
                let from = below[rng.random_range(0..below.len())];
                // The street takes one in five calls of its own area.
                let street = staff
                    .iter()
                    .find(|s| s.role == "street_staff" && from.grid.starts_with(&s.grid) && s.id != from.id);
                let taker = match street {
                    Some(st) if rng.random_range(0..5) == 0 => st,
                    _ => centre[rng.random_range(0..centre.len())],
                };
                (from, Some(taker), from.grid.clone())
            } else {
                let from = centre[rng.random_range(0..centre.len())];
                let to = below[rng.random_range(0..below.len())];
                (from, Some(to), to.grid.clone())
            };
            let roll = rng.random_range(0..100);
            let outcome = match roll {
                0..78 => "answered",
                78..92 => "missed",
                92..97 => "declined",
                _ => "failed",
            };
            let (answered, ended) = match outcome {
                "answered" => {
                    let a = requested + rng.random_range(3_000..20_000);
                    // Short calls, a few long ones: the smaller of two draws.
                    let d = rng.random_range(20_000..420_000).min(rng.random_range(20_000..420_000));
                    (Some(a), a + d)
                }
                "failed" => {
                    let a = requested + rng.random_range(3_000..15_000);
                    (Some(a), a + rng.random_range(5_000..15_000))
                }
                "declined" => (None, requested + rng.random_range(2_000..15_000)),
                _ => (None, requested + crate::calls::rules::RING_MS),
            };
            // A missed call to the centre was taken by nobody.
            let callee = if to_centre && answered.is_none() { None } else { callee };
            rows.push(vec![
                V::U(Uuid::now_v7()),
                V::T(district.into()),
                V::U(caller.id),
                V::T(caller.name.clone()),
                callee.map(|c| V::U(c.id)).unwrap_or(V::NullU),
                V::T(callee.map(|c| c.name.clone()).unwrap_or_default()),
                V::T(grid),
                V::T(if to_centre { "command" } else { "person" }.into()),
                V::T(if video { "video" } else { "voice" }.into()),
                V::I(requested),
                answered.map(V::I).unwrap_or(V::NullI),
                V::I(ended),
                V::T(outcome.into()),
                V::I(crate::calls::rules::duration_ms(answered, ended)),
            ]);
        }
    }
    let n = rows.len();
    pb.inc_length(n as u64);
    bulk(
        tx,
        "calls",
        &[
            "id",
            "district",
            "caller_id",
            "caller_name",
            "callee_id",
            "callee_name",
            "grid_code",
            "target",
            "kind",
            "requested_at",
            "answered_at",
            "ended_at",
            "outcome",
            "duration_ms",
        ],
        rows,
        pb,
    )
    .await?;
    Ok(n)
}
