//! The screen's trend chart: 30 days of reports and closures as an SVG drawn on the server (no
//! chart library, no script). Pure.

use crate::cases::figures::TrendDay;

/// Width and height of the chart's coordinate space; the page scales it.
const W: f64 = 600.0;
const H: f64 = 180.0;
const PAD_L: f64 = 36.0;
const PAD_B: f64 = 22.0;
const PAD_T: f64 = 10.0;

/// A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten, at least `max`.
pub fn nice_max(max: i64) -> i64 {
    let max = max.max(1);
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

fn points(days: &[TrendDay], value: impl Fn(&TrendDay) -> i64, top: i64) -> String {
    let n = days.len().max(2) as f64 - 1.0;
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let x = PAD_L + (W - PAD_L - 8.0) * i as f64 / n;
            let y = PAD_T + (H - PAD_T - PAD_B) * (1.0 - value(d) as f64 / top as f64);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The chart: a line of cases reported and one of cases closed per day, with the axis' top value
/// and the first and last dates. Colour is not the only cue: the lines differ in dash and the
/// legend names them.
pub fn trend_svg(days: &[TrendDay]) -> String {
    let top = nice_max(days.iter().map(|d| d.reported.max(d.closed)).max().unwrap_or(0));
    let first = days.first().map(|d| d.date.get(5..).unwrap_or(&d.date)).unwrap_or("");
    let last = days.last().map(|d| d.date.get(5..).unwrap_or(&d.date)).unwrap_or("");
    let total_r: i64 = days.iter().map(|d| d.reported).sum();
    let total_c: i64 = days.iter().map(|d| d.closed).sum();
    let base = H - PAD_B;
    format!(
        "<svg class=\"trend\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"近{n}天：上报{total_r}件，结案{total_c}件\" xmlns=\"http://www.w3.org/2000/svg\">\
<line class=\"axis\" x1=\"{PAD_L}\" y1=\"{base}\" x2=\"{W}\" y2=\"{base}\"/>\
<line class=\"grid-line\" x1=\"{PAD_L}\" y1=\"{PAD_T}\" x2=\"{W}\" y2=\"{PAD_T}\"/>\
<text class=\"tick\" x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{top}</text>\
<text class=\"tick\" x=\"{tx}\" y=\"{base}\" text-anchor=\"end\">0</text>\
<text class=\"tick\" x=\"{PAD_L}\" y=\"{H}\">{first}</text>\
<text class=\"tick\" x=\"{W}\" y=\"{H}\" text-anchor=\"end\">{last}</text>\
<polyline class=\"reported\" points=\"{pr}\"/>\
<polyline class=\"closed\" points=\"{pc}\"/>\
</svg>",
        n = days.len(),
        tx = PAD_L - 4.0,
        ty = PAD_T + 10.0,
        pr = points(days, |d| d.reported, top),
        pc = points(days, |d| d.closed, top),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(i: usize, r: i64, c: i64) -> TrendDay {
        TrendDay {
            date: format!("2026-11-{:02}", i + 1),
            reported: r,
            closed: c,
            on_time: 0,
        }
    }

    #[test]
    fn the_axis_top_is_a_round_number_above_the_data() {
        assert_eq!(
            [0, 1, 2, 3, 7, 10, 11, 99, 101, 4999].map(nice_max),
            [1, 1, 2, 5, 10, 10, 20, 100, 200, 5000]
        );
    }

    #[test]
    fn the_chart_names_its_totals_and_dates() {
        let days: Vec<TrendDay> = (0..30).map(|i| day(i, i as i64, 1)).collect();
        let svg = trend_svg(&days);
        assert!(svg.contains("近30天：上报435件，结案30件"), "{svg}");
        assert!(svg.contains(">11-01<") && svg.contains(">11-30<"));
        assert!(svg.contains(">50<"), "axis top for 29: {svg}");
    }

    proptest! {
        // Whatever the counts, every point lies inside the drawing.
        #[test]
        fn points_stay_inside(v in proptest::collection::vec((0i64..100_000, 0i64..100_000), 1..40)) {
            let days: Vec<TrendDay> = v.iter().enumerate().map(|(i, (r, c))| day(i, *r, *c)).collect();
            let top = nice_max(days.iter().map(|d| d.reported.max(d.closed)).max().unwrap_or(0));
            for p in points(&days, |d| d.reported, top).split(' ') {
                let (x, y) = p.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                prop_assert!((0.0..=W).contains(&x) && (0.0..=H).contains(&y), "{p}");
            }
        }
    }
}
