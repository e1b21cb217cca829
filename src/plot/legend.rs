//! Where an x-y chart's legend goes: the place, among the corners and edge middles of the
//! plotting area, whose legend box covers the fewest drawn points (the upper right first
//! when several tie), so that a legend never hides data it could have avoided.

use plotters::chart::SeriesLabelPosition;

/// Gap between the legend box and the plotting area's edge, in pixels (plotters' own).
const EDGE_GAP: i32 = 5;
/// How far beyond the box a drawn point still counts as covered (a marker's radius).
const MARKER_REACH: i32 = 4;
/// Spacing of the points sampled along a drawn line, in pixels.
const LINE_SAMPLE: f64 = 3.0;

/// The places tried, in order of preference.
const PLACES: [SeriesLabelPosition; 8] = [
    SeriesLabelPosition::UpperRight,
    SeriesLabelPosition::UpperLeft,
    SeriesLabelPosition::LowerRight,
    SeriesLabelPosition::LowerLeft,
    SeriesLabelPosition::MiddleRight,
    SeriesLabelPosition::MiddleLeft,
    SeriesLabelPosition::UpperMiddle,
    SeriesLabelPosition::LowerMiddle,
];

/// The box `[x0, y0, x1, y1]` (pixels from the plotting area's upper left) that a legend of
/// size `legend` takes at `place` in an area of size `area`, as plotters lays it out.
pub(super) fn legend_box(
    place: &SeriesLabelPosition,
    legend: (i32, i32),
    area: (u32, u32),
) -> [i32; 4] {
    use SeriesLabelPosition::*;
    let (w, h) = legend;
    let (aw, ah) = (area.0 as i32, area.1 as i32);
    let x = match place {
        UpperLeft | MiddleLeft | LowerLeft => EDGE_GAP,
        UpperMiddle | MiddleMiddle | LowerMiddle => (aw - w) / 2,
        UpperRight | MiddleRight | LowerRight => aw - w - EDGE_GAP,
        Coordinate(x, _) => *x,
    };
    let y = match place {
        UpperLeft | UpperMiddle | UpperRight => EDGE_GAP,
        MiddleLeft | MiddleMiddle | MiddleRight => (ah - h) / 2,
        LowerLeft | LowerMiddle | LowerRight => ah - h - EDGE_GAP,
        Coordinate(_, y) => *y,
    };
    [x, y, x + w, y + h]
}

/// The place whose legend box covers the fewest of `drawn` (pixels from the plotting area's
/// upper left); the earliest in order of preference among ties.
pub(super) fn least_covered(
    drawn: &[(i32, i32)],
    legend: (i32, i32),
    area: (u32, u32),
) -> SeriesLabelPosition {
    let covered = |place: &SeriesLabelPosition| {
        let [x0, y0, x1, y1] = legend_box(place, legend, area);
        drawn
            .iter()
            .filter(|&&(x, y)| {
                x >= x0 - MARKER_REACH
                    && x <= x1 + MARKER_REACH
                    && y >= y0 - MARKER_REACH
                    && y <= y1 + MARKER_REACH
            })
            .count()
    };
    let mut best = (usize::MAX, SeriesLabelPosition::UpperRight);
    for place in PLACES {
        let n = covered(&place);
        if n < best.0 {
            best = (n, place);
        }
        if n == 0 {
            break;
        }
    }
    best.1
}

/// Points every few pixels along the polyline through `pts` (pixels), its vertices included,
/// so that a line counts as drawn wherever it passes.
pub(super) fn along_line(pts: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = pts.first().copied().into_iter().collect();
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
        let n = (dx.hypot(dy) / LINE_SAMPLE).ceil().max(1.0) as usize;
        for k in 1..=n {
            let t = k as f64 / n as f64;
            out.push((a.0 + (t * dx).round() as i32, a.1 + (t * dy).round() as i32));
        }
    }
    out
}

/// The share of `line` (pixels sampled along a drawn line) that lies within 2 pixels of
/// `others` (pixels of lines drawn after it): near 1 when the later lines hide it. Linear in
/// the pixels (a set of occupied pixels), so long AD paths stay cheap.
pub(super) fn share_hidden(line: &[(i32, i32)], others: &[(i32, i32)]) -> f64 {
    if line.is_empty() {
        return 0.0;
    }
    let occupied: std::collections::HashSet<(i32, i32)> = others.iter().copied().collect();
    let near = |&(x, y): &(i32, i32)| {
        (-2..=2).any(|dx| (-2..=2).any(|dy| occupied.contains(&(x + dx, y + dy))))
    };
    line.iter().filter(|p| near(p)).count() as f64 / line.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for the property tests.
    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Filling every place's box but one with points leaves exactly that one free, and it is
    /// the one chosen; with nothing drawn the upper right is chosen.
    #[test]
    fn the_legend_goes_where_it_covers_no_point() {
        let mut state = 11u64;
        let mut checked = 0;
        for case in 0..400 {
            let area = (
                300 + (lcg(&mut state) * 700.0) as u32,
                200 + (lcg(&mut state) * 500.0) as u32,
            );
            let legend = (
                40 + (lcg(&mut state) * 80.0) as i32,
                20 + (lcg(&mut state) * 40.0) as i32,
            );
            let free = case % PLACES.len();
            let free_box = legend_box(&PLACES[free], legend, area);
            let in_free = |(x, y): (i32, i32)| {
                x >= free_box[0] - MARKER_REACH
                    && x <= free_box[2] + MARKER_REACH
                    && y >= free_box[1] - MARKER_REACH
                    && y <= free_box[3] + MARKER_REACH
            };
            let mut drawn = Vec::new();
            for (k, place) in PLACES.iter().enumerate() {
                if k == free {
                    continue;
                }
                // A point somewhere in this place's box, outside the free one (the boxes of
                // neighbouring places may overlap on small areas: then try again).
                let b = legend_box(place, legend, area);
                for _ in 0..200 {
                    let p = (
                        b[0] + (lcg(&mut state) * (b[2] - b[0]) as f64) as i32,
                        b[1] + (lcg(&mut state) * (b[3] - b[1]) as f64) as i32,
                    );
                    if !in_free(p) {
                        drawn.push(p);
                        break;
                    }
                }
            }
            // Points away from every box change nothing.
            drawn.push((area.0 as i32 / 2, area.1 as i32 / 2 + 1));
            let every_other_covered = PLACES.iter().enumerate().all(|(k, place)| {
                let b = legend_box(place, legend, area);
                k == free
                    || drawn.iter().any(|&(x, y)| {
                        x >= b[0] - MARKER_REACH
                            && x <= b[2] + MARKER_REACH
                            && y >= b[1] - MARKER_REACH
                            && y <= b[3] + MARKER_REACH
                    })
            });
            let centre_free = !in_free((area.0 as i32 / 2, area.1 as i32 / 2 + 1));
            if every_other_covered && centre_free {
                checked += 1;
                assert_eq!(
                    least_covered(&drawn, legend, area),
                    PLACES[free],
                    "area {area:?}, legend {legend:?}"
                );
            }
        }
        assert!(checked >= 300, "only {checked} of 400 cases were set up");
        assert_eq!(
            least_covered(&[], (60, 30), (400, 300)),
            SeriesLabelPosition::UpperRight
        );
    }

    /// Consecutive samples along a line are at most a few pixels apart and lie on it.
    #[test]
    fn lines_are_sampled_densely_along_their_length() {
        let mut state = 5u64;
        for _ in 0..200 {
            let pts: Vec<(i32, i32)> = (0..2 + (lcg(&mut state) * 6.0) as usize)
                .map(|_| {
                    (
                        (lcg(&mut state) * 800.0) as i32,
                        (lcg(&mut state) * 600.0) as i32,
                    )
                })
                .collect();
            let s = along_line(&pts);
            assert_eq!(s.first(), pts.first());
            assert_eq!(s.last(), pts.last());
            for w in s.windows(2) {
                let d = ((w[1].0 - w[0].0) as f64).hypot((w[1].1 - w[0].1) as f64);
                assert!(d <= LINE_SAMPLE + 1.5, "gap {d} in {pts:?}");
            }
        }
    }
}
