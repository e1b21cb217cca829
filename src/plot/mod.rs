//! Figures for the paper's plots, rendered with plotters to SVG and PNG, and shown in the
//! terminal (kitty / iTerm2 inline images, Sixel, or a Unicode text rendering).
//!
//! A [`Figure`] is plain data: a title, axis labels, a pixel size and a [`Plot`] kind. Build one
//! with the constructors ([`Figure::line`], [`Figure::scatter`], [`Figure::heatmap`], ...),
//! then [`Figure::save`] it (`.svg` or `.png` by extension), render it as text with
//! [`Figure::to_text`], or display it with [`terminal::show`]. No system font is needed: a
//! bundled DejaVu Sans is registered with plotters on first use.

mod legend;
mod render;
pub mod sixel;
pub mod terminal;
mod text;

use crate::landscape::dg::Dg;
use crate::{error::invalid, Result};
use std::path::Path;

/// A point marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// No marker.
    None,
    /// A filled circle.
    Circle,
    /// A cross.
    Cross,
    /// A triangle.
    Triangle,
}

/// One named series of points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Name shown in the legend (empty: not listed).
    pub name: String,
    /// x values.
    pub xs: Vec<f64>,
    /// y values.
    pub ys: Vec<f64>,
    /// Join the points with a line.
    pub line: bool,
    /// Marker at each point.
    pub marker: Marker,
    /// Palette index of the color.
    pub color: usize,
    /// Dashed line (second direction in phase diagrams).
    pub dashed: bool,
}

impl Series {
    /// A solid line without markers.
    pub fn line(name: &str, xs: Vec<f64>, ys: Vec<f64>, color: usize) -> Series {
        Series {
            name: name.to_string(),
            xs,
            ys,
            line: true,
            marker: Marker::None,
            color,
            dashed: false,
        }
    }
    /// Points without a line.
    pub fn points(name: &str, xs: Vec<f64>, ys: Vec<f64>, color: usize) -> Series {
        Series {
            name: name.to_string(),
            xs,
            ys,
            line: false,
            marker: Marker::Circle,
            color,
            dashed: false,
        }
    }
}

/// An image to draw: `height x width` pixels with 1 (gray) or 3 (RGB) channels, values mapped
/// from `range` to black..white.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Pixel values, row-major, channels last (`[h, w, c]`).
    pub data: Vec<f64>,
    /// Values mapped to black and white.
    pub range: (f64, f64),
}

impl Image {
    /// An image from a flat state. `shape` may be `[h, w]` (gray), `[3, h, w]` (RGB, PyTorch's
    /// channels-first layout) or `[h, w, 3]` (channels last). Without a shape, a state whose
    /// length is a perfect square is a square gray image, and one whose length is three times a
    /// perfect square a square RGB image (channels first). `range` defaults to the data's
    /// min..max.
    pub fn from_flat(
        data: &[f64],
        shape: Option<&[usize]>,
        range: Option<(f64, f64)>,
    ) -> Result<Image> {
        let n = data.len();
        let shape: Vec<usize> = match shape {
            Some(s) => s.to_vec(),
            None => {
                let r = (n as f64).sqrt().round() as usize;
                let r3 = ((n / 3) as f64).sqrt().round() as usize;
                if r * r == n && n > 0 {
                    vec![r, r]
                } else if r3 * r3 * 3 == n && n > 0 {
                    vec![3, r3, r3]
                } else {
                    return Err(invalid(format!("a state of length {n} is not a square image; give its shape, e.g. [h, w] or [3, h, w]")));
                }
            }
        };
        if n == 0 || shape.iter().product::<usize>() != n {
            return Err(invalid(format!(
                "image shape {shape:?} does not match {n} values"
            )));
        }
        let (h, w, c, chw) = match shape[..] {
            [h, w] => (h, w, 1, false),
            [1, h, w] => (h, w, 1, false),
            [3, h, w] => (h, w, 3, true),
            [h, w, 3] => (h, w, 3, false),
            [h, w, 1] => (h, w, 1, false),
            _ => {
                return Err(invalid(format!(
                    "image shape {shape:?}: use [h, w], [3, h, w] or [h, w, 3]"
                )))
            }
        };
        let mut out = vec![0.0; n];
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    let src = if chw {
                        ch * h * w + y * w + x
                    } else {
                        (y * w + x) * c + ch
                    };
                    out[(y * w + x) * c + ch] = data[src];
                }
            }
        }
        let range = match range {
            Some(r) => r,
            None => {
                let lo = data
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .fold(f64::INFINITY, f64::min);
                let hi = data
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .fold(f64::NEG_INFINITY, f64::max);
                if lo.is_finite() {
                    (lo, hi)
                } else {
                    (0.0, 1.0)
                }
            }
        };
        Ok(Image {
            width: w,
            height: h,
            channels: c,
            data: out,
            range,
        })
    }

    /// The pixel at `(x, y)` as RGB bytes.
    pub fn rgb(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let (lo, hi) = self.range;
        let span = if hi > lo { hi - lo } else { 1.0 };
        let at = |ch: usize| {
            let v = self.data[(y * self.width + x) * self.channels + ch];
            let t = if v.is_finite() {
                ((v - lo) / span).clamp(0.0, 1.0)
            } else {
                0.0
            };
            (t * 255.0).round() as u8
        };
        if self.channels == 3 {
            (at(0), at(1), at(2))
        } else {
            let g = at(0);
            (g, g, g)
        }
    }

    /// Brightness at `(x, y)` in `[0, 1]`.
    pub fn gray(&self, x: usize, y: usize) -> f64 {
        let (r, g, b) = self.rgb(x, y);
        (0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64) / 255.0
    }
}

/// A 2-D energy evaluated on a grid, with paths drawn over it.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    /// Grid x coordinates (increasing).
    pub xs: Vec<f64>,
    /// Grid y coordinates (increasing).
    pub ys: Vec<f64>,
    /// Values, row-major by y: `z[j * xs.len() + i]` is the value at `(xs[i], ys[j])`.
    pub z: Vec<f64>,
    /// Values mapped to the ends of the color scale (default: min and 90th percentile).
    pub zrange: Option<(f64, f64)>,
    /// Number of contour lines (0: none).
    pub levels: usize,
    /// Paths drawn over the map.
    pub paths: Vec<Series>,
}

impl Heatmap {
    /// The color range: given, or from the minimum to the 90th percentile (energies often grow
    /// steeply away from the minima, which would wash out the interesting region).
    pub fn color_range(&self) -> (f64, f64) {
        if let Some(r) = self.zrange {
            return r;
        }
        let mut v: Vec<f64> = self.z.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return (0.0, 1.0);
        }
        v.sort_by(f64::total_cmp);
        let lo = v[0];
        let hi = v[((v.len() - 1) as f64 * 0.9).round() as usize];
        if hi > lo {
            (lo, hi)
        } else {
            (lo, lo + 1.0)
        }
    }
}

/// The DG picture: tree, circles sized by member count, labels, optional images.
#[derive(Clone, Debug, PartialEq)]
pub struct DgPicture {
    /// The tree.
    pub dg: Dg,
    /// Draw circles around leaves with area proportional to the member count.
    pub circles: bool,
    /// Label leaves with their group ids.
    pub labels: bool,
    /// One representative image per leaf (indexed by leaf node id), drawn in a row at the bottom.
    pub images: Option<Vec<Image>>,
    /// Member images per leaf (indexed by leaf node id), lowest energy first; drawn in a column
    /// above the representative, lowest energy nearest to it.
    pub members: Vec<Vec<Image>>,
    /// Sets of leaves marked with a filled dot of one color (Figure 12's blue and orange dots),
    /// each with a legend entry; a leaf in several sets shows the last.
    pub marks: Vec<LeafMarks>,
    /// Sets of merge nodes whose horizontal line is drawn in one color (Figure 15's blue and red
    /// lines), each with a legend entry; a merge in several sets shows the last.
    pub merge_marks: Vec<MergeMarks>,
    /// Text under each leaf (indexed by leaf node id) instead of the group id; `""` leaves a leaf
    /// unlabelled.
    pub leaf_labels: Option<Vec<String>>,
    /// Classes of leaves (by group id), as disconnectionDPS colours a tree: a branch whose
    /// leaves all belong to one class is drawn in its colour, with a legend entry; branches over
    /// several classes, or over unclassified leaves, stay black. A leaf in several classes
    /// takes the last.
    pub classes: Vec<LeafMarks>,
    /// A value per group id (NaN: none), drawn as a colour (dark blue low, yellow high) along
    /// the tree: a leaf's branch takes its value, a merge's the member-weighted mean of the
    /// leaves under it; the legend gives the range. Classes, when given, take precedence.
    pub values: Option<LeafValues>,
}

/// Values of a DG's leaves, by group id, and what they are.
#[derive(Clone, Debug, PartialEq)]
pub struct LeafValues {
    /// One value per group id (NaN: none).
    pub by_group: Vec<f64>,
    /// What the values are (legend text).
    pub label: String,
}

/// Leaves of a DG marked with a filled dot.
#[derive(Clone, Debug, PartialEq)]
pub struct LeafMarks {
    /// Group ids of the marked leaves (ids not in the tree are ignored).
    pub groups: Vec<usize>,
    /// Color as RGB.
    pub color: (u8, u8, u8),
    /// Legend text (empty: no legend entry).
    pub label: String,
}

/// Merge nodes of a DG drawn in a color.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeMarks {
    /// Merge indices (node `leaves.len() + k` is merge `k`; indices out of range are ignored).
    pub merges: Vec<usize>,
    /// Color as RGB.
    pub color: (u8, u8, u8),
    /// Legend text (empty: no legend entry).
    pub label: String,
}

/// A color by name (`"blue"`, `"orange"`, ... : the palette's colors, plus `"black"`, `"gray"`)
/// or as `"#rrggbb"`.
pub fn parse_color(s: &str) -> Result<(u8, u8, u8)> {
    let named = [
        ("blue", PALETTE[0]),
        ("orange", PALETTE[1]),
        ("green", PALETTE[2]),
        ("red", PALETTE[3]),
        ("purple", PALETTE[4]),
        ("brown", PALETTE[5]),
        ("pink", PALETTE[6]),
        ("gray", PALETTE[7]),
        ("grey", PALETTE[7]),
        ("olive", PALETTE[8]),
        ("cyan", PALETTE[9]),
        ("black", (0, 0, 0)),
    ];
    let t = s.trim().to_ascii_lowercase();
    if let Some(&(_, c)) = named.iter().find(|(n, _)| *n == t) {
        return Ok(c);
    }
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok((byte(0), byte(2), byte(4)));
        }
    }
    let names: Vec<&str> = named.iter().map(|(n, _)| *n).collect();
    Err(invalid(format!(
        "unknown color `{s}`; use \"#rrggbb\" or one of {}",
        names.join(", ")
    )))
}

impl DgPicture {
    /// A picture of `dg` with circles and labels and no images.
    pub fn new(dg: Dg) -> DgPicture {
        DgPicture {
            dg,
            circles: true,
            labels: true,
            images: None,
            members: Vec::new(),
            marks: Vec::new(),
            merge_marks: Vec::new(),
            leaf_labels: None,
            classes: Vec::new(),
            values: None,
        }
    }

    /// Attaches images given per group id (the input index of [`Dg::build`], so an ADELM map's
    /// representatives and members can be passed as they are): `reps[g]` is group `g`'s
    /// representative, `members[g]` its member images, lowest energy first. Groups trimmed
    /// from the tree are skipped.
    pub fn with_group_images(
        mut self,
        reps: Option<Vec<Image>>,
        members: Option<Vec<Vec<Image>>>,
    ) -> Result<DgPicture> {
        let ids: Vec<usize> = self.dg.leaves.iter().map(|l| l.id).collect();
        let pick = |n: usize, what: &str| -> Result<()> {
            match ids.iter().max() {
                Some(&m) if m >= n => Err(invalid(format!(
                    "dg picture: {what} for {n} groups, but the tree has group {m}"
                ))),
                _ => Ok(()),
            }
        };
        if let Some(r) = reps {
            pick(r.len(), "images")?;
            self.images = Some(ids.iter().map(|&g| r[g].clone()).collect());
        }
        if let Some(m) = members {
            pick(m.len(), "member images")?;
            self.members = ids.iter().map(|&g| m[g].clone()).collect();
        }
        Ok(self)
    }
}

/// Options of [`DgPicture::from_map`].
#[derive(Clone, Debug, PartialEq)]
pub struct MapImages {
    /// Image shape of a state (see [`Image::from_flat`]); `None`: square gray or RGB.
    pub shape: Option<Vec<usize>>,
    /// Values mapped to black and white; `None`: each image's own range.
    pub range: Option<(f64, f64)>,
    /// Member images per group (randomly chosen among the group's distinct minima).
    pub max_members: usize,
    /// Seed of the random choice of members.
    pub seed: u64,
}

impl DgPicture {
    /// The picture of an ADELM map's DG with images: each group's representative under its
    /// leaf, and up to `max_members` of its distinct minima chosen at random (seeded), sorted
    /// low to high energy, above it.
    pub fn from_map(
        dg: Dg,
        map: &crate::landscape::map::LandscapeMap,
        im: &MapImages,
    ) -> Result<DgPicture> {
        use rand::SeedableRng;
        let shape = im.shape.as_deref();
        let reps: Vec<Image> = map
            .groups
            .iter()
            .map(|g| Image::from_flat(&g.state, shape, im.range))
            .collect::<Result<_>>()?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(im.seed);
        let mut members = Vec::with_capacity(map.groups.len());
        for g in 0..map.groups.len() {
            let of_group: Vec<&crate::landscape::map::MinimumRecord> =
                map.minima.iter().filter(|m| m.group == g).collect();
            let k = im.max_members.min(of_group.len());
            let mut chosen: Vec<&crate::landscape::map::MinimumRecord> =
                rand::seq::index::sample(&mut rng, of_group.len(), k)
                    .into_iter()
                    .map(|i| of_group[i])
                    .collect();
            chosen.sort_by(|a, b| a.energy.total_cmp(&b.energy));
            members.push(
                chosen
                    .iter()
                    .map(|m| Image::from_flat(&m.state, shape, im.range))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        DgPicture::new(dg).with_group_images(Some(reps), Some(members))
    }
}

/// Colors, titles and switches of [`Figure::map_comparison`].
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonStyle {
    /// Panel titles (a, b); the group counts are appended.
    pub titles: [String; 2],
    /// Dot color of leaves found in both maps.
    pub matched: (u8, u8, u8),
    /// Dot color of a's leaves beyond b's energy range.
    pub beyond: (u8, u8, u8),
    /// Dot color of a's leaves missed by b within its range.
    pub missed: (u8, u8, u8),
    /// Color a's merges by consistency with b (blue consistent, red inconsistent).
    pub consistency: bool,
    /// Circles sized by member count.
    pub circles: bool,
    /// Leaf labels (a: group ids; b: the id of the a-group matched to the leaf).
    pub labels: bool,
}

impl Default for ComparisonStyle {
    fn default() -> Self {
        ComparisonStyle {
            titles: ["a".into(), "b".into()],
            matched: PALETTE[4],
            beyond: PALETTE[7],
            missed: PALETTE[1],
            consistency: true,
            circles: true,
            labels: true,
        }
    }
}

/// What a figure shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Plot {
    /// Lines and points: line plots, scatter plots, energy along paths, alpha sweeps, phase
    /// diagrams.
    Xy {
        /// The series.
        series: Vec<Series>,
        /// Logarithmic x axis.
        log_x: bool,
        /// Logarithmic y axis.
        log_y: bool,
        /// Vertical reference lines (e.g. the chosen alpha).
        vlines: Vec<f64>,
    },
    /// A 2-D map with paths.
    Heatmap(Heatmap),
    /// A histogram of values.
    Histogram {
        /// The values.
        values: Vec<f64>,
        /// Number of bins.
        bins: usize,
    },
    /// Images in a grid.
    Images {
        /// The images.
        images: Vec<Image>,
        /// Columns of the grid.
        cols: usize,
    },
    /// A disconnectivity graph.
    Dg(Box<DgPicture>),
    /// Disconnectivity graphs side by side on one energy scale (Figure 15), each under its
    /// title; images of the pictures are not drawn.
    Dgs {
        /// The trees, left to right.
        panels: Vec<DgPicture>,
        /// A title per panel (missing ones: none).
        titles: Vec<String>,
    },
}

/// A figure: title, axis labels, size in pixels, and what it shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Title (empty: none).
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// A heading above the legend's entries (empty: none), e.g. what a scatter's colors are.
    pub legend_title: String,
    /// The content.
    pub plot: Plot,
}

/// The largest magnitude a picture can draw: axis ranges and tick steps of larger values
/// overflow to infinity.
pub const MAX_DRAWABLE: f64 = 1e300;

/// The most bins a histogram draws.
pub const MAX_BINS: usize = 1_000_000;

fn check_xy(xs: &[f64], ys: &[f64]) -> Result<()> {
    if xs.len() != ys.len() {
        return Err(invalid(format!(
            "{} x values but {} y values",
            xs.len(),
            ys.len()
        )));
    }
    Ok(())
}

/// A figure's size in pixels (width, height) unless it says otherwise.
pub const DEFAULT_SIZE: (u32, u32) = (800, 600);

impl Figure {
    /// A figure of any kind with the default size ([`DEFAULT_SIZE`]) and no labels.
    pub fn new(plot: Plot) -> Figure {
        Figure {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            width: DEFAULT_SIZE.0,
            height: DEFAULT_SIZE.1,
            legend_title: String::new(),
            plot,
        }
    }

    /// Sets the title.
    pub fn with_title(mut self, t: &str) -> Figure {
        self.title = t.to_string();
        self
    }

    /// Sets the axis labels.
    pub fn with_labels(mut self, x: &str, y: &str) -> Figure {
        self.x_label = x.to_string();
        self.y_label = y.to_string();
        self
    }

    /// A line plot of one series.
    pub fn line(xs: Vec<f64>, ys: Vec<f64>, name: &str) -> Result<Figure> {
        check_xy(&xs, &ys)?;
        Ok(Figure::new(Plot::Xy {
            series: vec![Series::line(name, xs, ys, 0)],
            log_x: false,
            log_y: false,
            vlines: vec![],
        }))
    }

    /// A scatter plot of points colored by integer labels (one legend entry per label).
    pub fn scatter(xs: Vec<f64>, ys: Vec<f64>, labels: Option<&[i64]>) -> Result<Figure> {
        check_xy(&xs, &ys)?;
        let series = match labels {
            None => vec![Series::points("", xs, ys, 0)],
            Some(l) => {
                if l.len() != xs.len() {
                    return Err(invalid(format!(
                        "{} labels for {} points",
                        l.len(),
                        xs.len()
                    )));
                }
                let mut distinct: Vec<i64> = l.to_vec();
                distinct.sort();
                distinct.dedup();
                distinct
                    .iter()
                    .enumerate()
                    .map(|(k, &lab)| {
                        let idx: Vec<usize> = (0..xs.len()).filter(|&i| l[i] == lab).collect();
                        let mut s = Series::points(
                            &format!("{lab}"),
                            idx.iter().map(|&i| xs[i]).collect(),
                            idx.iter().map(|&i| ys[i]).collect(),
                            k,
                        );
                        s.marker = scatter_marker(k);
                        s
                    })
                    .collect()
            }
        };
        let mut f = Figure::new(Plot::Xy {
            series,
            log_x: false,
            log_y: false,
            vlines: vec![],
        })
        .with_labels("x[0]", "x[1]");
        if labels.is_some() {
            f.legend_title = "label".into();
        }
        Ok(f)
    }

    /// Energy along paths: one line per path, x from 0 to 1 along each path (or the given xs).
    pub fn path_energy(
        energies: Vec<Vec<f64>>,
        names: &[String],
        xs: Option<Vec<Vec<f64>>>,
    ) -> Result<Figure> {
        let mut series = Vec::new();
        for (k, e) in energies.into_iter().enumerate() {
            let x = match &xs {
                Some(x) => x
                    .get(k)
                    .cloned()
                    .ok_or_else(|| invalid("fewer x lists than paths"))?,
                None => {
                    let m = e.len().saturating_sub(1).max(1) as f64;
                    (0..e.len()).map(|i| i as f64 / m).collect()
                }
            };
            check_xy(&x, &e)?;
            let name = names
                .get(k)
                .cloned()
                .unwrap_or_else(|| format!("path {}", k + 1));
            let mut s = Series::line(&name, x, e, k);
            s.marker = if s.xs.len() <= 40 {
                Marker::Circle
            } else {
                Marker::None
            };
            series.push(s);
        }
        Ok(Figure::new(Plot::Xy {
            series,
            log_x: false,
            log_y: false,
            vlines: vec![],
        })
        .with_labels("position along path", "energy"))
    }

    /// Number of basins found as a function of alpha (log x axis), with an optional marked alpha.
    pub fn alpha_sweep(alphas: Vec<f64>, counts: Vec<f64>, chosen: Option<f64>) -> Result<Figure> {
        check_xy(&alphas, &counts)?;
        if alphas.iter().any(|&a| a <= 0.0) {
            return Err(invalid("alpha sweep: alphas must be positive (log scale)"));
        }
        let (lo, hi) = counts
            .iter()
            .filter(|c| c.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &c| {
                (l.min(c), h.max(c))
            });
        let mut s = Series::line("", alphas, counts, 0);
        s.marker = Marker::Circle;
        let mut series = vec![s];
        // The chosen alpha as a dashed line with its own legend entry.
        if let Some(a) = chosen.filter(|a| *a > 0.0 && lo.is_finite()) {
            let mut line = Series::line(
                &format!("chosen alpha {}", format_tick(a, a / 100.0)),
                vec![a, a],
                vec![lo, hi],
                7,
            );
            line.dashed = true;
            series.push(line);
        }
        Ok(Figure::new(Plot::Xy {
            series,
            log_x: true,
            log_y: false,
            vlines: vec![],
        })
        .with_labels("alpha", "basins found"))
    }

    /// Phase diagram: the alpha threshold against temperature for pairs of minima, both
    /// directions per pair (solid with circles: forward; dashed with triangles: backward).
    pub fn phase(temps: Vec<f64>, pairs: Vec<(String, Vec<f64>, Vec<f64>)>) -> Result<Figure> {
        let mut series = Vec::new();
        for (k, (name, fwd, bwd)) in pairs.into_iter().enumerate() {
            check_xy(&temps, &fwd)?;
            check_xy(&temps, &bwd)?;
            let mut a = Series::line(&format!("{name} (forward)"), temps.clone(), fwd, k);
            a.marker = Marker::Circle;
            let mut b = Series::line(&format!("{name} (backward)"), temps.clone(), bwd, k);
            b.marker = Marker::Triangle;
            b.dashed = true;
            series.push(a);
            series.push(b);
        }
        Ok(Figure::new(Plot::Xy {
            series,
            log_x: false,
            log_y: false,
            vlines: vec![],
        })
        .with_labels("temperature T", "alpha threshold"))
    }

    /// A histogram.
    pub fn histogram(values: Vec<f64>, bins: usize) -> Result<Figure> {
        if bins == 0 || bins > MAX_BINS {
            return Err(invalid(format!(
                "histogram: bins must be between 1 and {MAX_BINS}, not {bins}"
            )));
        }
        Ok(Figure::new(Plot::Histogram { values, bins }).with_labels("", "count"))
    }

    /// A heatmap.
    pub fn heatmap(h: Heatmap) -> Result<Figure> {
        if h.xs.len() < 2 || h.ys.len() < 2 || h.z.len() != h.xs.len() * h.ys.len() {
            return Err(invalid(
                "heatmap: need at least a 2 x 2 grid with one value per grid point",
            ));
        }
        Ok(Figure::new(Plot::Heatmap(h)).with_labels("x", "y"))
    }

    /// An image grid.
    pub fn images(images: Vec<Image>, cols: usize) -> Result<Figure> {
        if images.is_empty() {
            return Err(invalid("image grid: no images"));
        }
        let cols = if cols == 0 {
            (images.len() as f64).sqrt().ceil() as usize
        } else {
            cols
        };
        Ok(Figure::new(Plot::Images { images, cols }))
    }

    /// A DG picture.
    pub fn dg(p: DgPicture) -> Result<Figure> {
        let nl = p.dg.leaves.len();
        if let Some(im) = &p.images {
            if im.len() != nl {
                return Err(invalid(format!(
                    "dg picture: {} images for {nl} leaves",
                    im.len()
                )));
            }
        }
        if !p.members.is_empty() && p.members.len() != nl {
            return Err(invalid(format!(
                "dg picture: member images for {} leaves, the tree has {nl}",
                p.members.len()
            )));
        }
        let tall = p.images.is_some() || !p.members.is_empty();
        let mut f = Figure::new(Plot::Dg(Box::new(p))).with_labels("", "energy");
        if tall {
            f.height = 900;
        }
        Ok(f)
    }

    /// Disconnectivity graphs side by side on one energy scale (1200 x 650 for two).
    pub fn dgs(panels: Vec<DgPicture>, titles: Vec<String>) -> Result<Figure> {
        if panels.is_empty() {
            return Err(invalid("dg panels: no trees given"));
        }
        let n = panels.len() as u32;
        let mut f = Figure::new(Plot::Dgs { panels, titles }).with_labels("", "energy");
        f.width = (600 * n).min(2400);
        f.height = 650;
        Ok(f)
    }

    /// Two maps' DGs side by side (Figure 15): a's leaves found in b dotted in both trees (b's
    /// labelled with the matching a-group id), a's other leaves dotted by why b lacks them, and
    /// with `style.consistency` a's merges blue where b joins the same matched leaves the same
    /// way, red where it does not.
    pub fn map_comparison(
        c: &crate::landscape::map_compare::MapComparison,
        style: &ComparisonStyle,
    ) -> Result<Figure> {
        use crate::landscape::map_compare::MatchStatus;
        let mut a = DgPicture::new(c.a_dg.clone());
        let mut b = DgPicture::new(c.b_dg.clone());
        for p in [&mut a, &mut b] {
            p.circles = style.circles;
            p.labels = style.labels;
        }
        let matched = c.a_with(MatchStatus::InB);
        let n_match = matched.len();
        a.marks.push(LeafMarks {
            groups: matched,
            color: style.matched,
            label: format!("in both ({n_match})"),
        });
        for (status, color, what) in [
            (
                MatchStatus::BeyondB,
                style.beyond,
                "not in b, above its range",
            ),
            (
                MatchStatus::MissedByB,
                style.missed,
                "not in b, within its range",
            ),
        ] {
            let g = c.a_with(status);
            if !g.is_empty() {
                let n = g.len();
                a.marks.push(LeafMarks {
                    groups: g,
                    color,
                    label: format!("{what} ({n})"),
                });
            }
        }
        b.marks.push(LeafMarks {
            groups: c.b_matched(None),
            color: style.matched,
            label: "in both".into(),
        });
        // b's leaves named after the a-group (lowest id) matched to them.
        let mut names = vec![String::new(); c.b_dg.leaves.len()];
        for m in c.matches.iter().rev() {
            if let Some(g) = m.b_group {
                if let Some(l) = c.b_dg.leaves.iter().position(|l| l.id == g) {
                    names[l] = m.a_group.to_string();
                }
            }
        }
        b.leaf_labels = Some(names);
        if style.consistency {
            let nl = c.a_dg.leaves.len();
            let pick = |want: bool| -> Vec<usize> {
                c.merges
                    .iter()
                    .filter(|m| m.consistent == Some(want))
                    .map(|m| m.node - nl)
                    .collect()
            };
            a.merge_marks.push(MergeMarks {
                merges: pick(true),
                color: PALETTE[0],
                label: format!("merge as in b ({})", c.consistent_merges),
            });
            a.merge_marks.push(MergeMarks {
                merges: pick(false),
                color: PALETTE[3],
                label: format!("merge unlike b ({})", c.inconsistent_merges),
            });
        }
        Figure::dgs(
            vec![a, b],
            vec![
                format!("{} ({} groups)", style.titles[0], c.a_groups),
                format!("{} ({} groups)", style.titles[1], c.b_groups),
            ],
        )
    }

    /// Checks that every value the figure draws is within [`MAX_DRAWABLE`] (non-finite values
    /// are skipped when drawing): the one guard of every renderer.
    pub fn check_drawable(&self) -> Result<()> {
        fn dg_values(d: &Dg) -> impl Iterator<Item = f64> + '_ {
            d.leaves
                .iter()
                .map(|l| l.energy)
                .chain(d.merges.iter().map(|m| m.energy))
        }
        let series = |ss: &[Series]| -> Vec<f64> {
            ss.iter()
                .flat_map(|s| s.xs.iter().chain(&s.ys).copied())
                .collect()
        };
        let values: Vec<f64> = match &self.plot {
            Plot::Xy {
                series: ss, vlines, ..
            } => {
                let mut v = series(ss);
                v.extend(vlines);
                v
            }
            Plot::Heatmap(h) => {
                let mut v: Vec<f64> = h.xs.iter().chain(&h.ys).chain(&h.z).copied().collect();
                v.extend(series(&h.paths));
                v
            }
            Plot::Histogram { values, .. } => values.clone(),
            Plot::Images { .. } => vec![],
            Plot::Dg(p) => dg_values(&p.dg).collect(),
            Plot::Dgs { panels, .. } => panels.iter().flat_map(|p| dg_values(&p.dg)).collect(),
        };
        if let Plot::Heatmap(h) = &self.plot {
            if h.xs.iter().chain(&h.ys).any(|v| !v.is_finite()) {
                return Err(invalid("heatmap: the grid coordinates must be finite"));
            }
        }
        match values
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| v.abs())
            .fold(0.0f64, f64::max)
        {
            big if big > MAX_DRAWABLE => Err(invalid(format!(
                "plot: a value of magnitude {big:.3e} is too large to draw (at most {MAX_DRAWABLE:e})"
            ))),
            _ => Ok(()),
        }
    }

    /// Writes the figure: SVG or PNG by the file extension.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        let bytes = match ext.as_str() {
            "svg" => self.to_svg()?.into_bytes(),
            "png" => self.to_png()?,
            _ => {
                return Err(invalid(format!(
                    "{}: unknown picture format; use .svg or .png",
                    path.display()
                )))
            }
        };
        crate::tensor_io::write_atomic(path, &bytes)
    }

    /// The figure as SVG text.
    pub fn to_svg(&self) -> Result<String> {
        render::svg(self)
    }

    /// The figure as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        render::png(self)
    }

    /// The figure as a Sixel escape sequence (see [`sixel`]).
    pub fn to_sixel(&self) -> Result<String> {
        let (w, h, rgb) = render::pixels(self)?;
        Ok(sixel::sixel_sequence(w as usize, h as usize, &rgb))
    }

    /// A Unicode text rendering `cols` characters wide and `rows` lines high (braille lines,
    /// block bars, shaded maps, axes with tick labels, title and legend). Deterministic.
    /// With `color`, series are colored with ANSI escape codes.
    pub fn to_text(&self, cols: usize, rows: usize, color: bool) -> String {
        match self.check_drawable() {
            Ok(()) => text::render(self, cols.max(20), rows.max(8), color),
            Err(e) => format!("{e}\n"),
        }
    }
}

/// A palette of distinguishable colors (Tableau 10) as RGB.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The marker of the `k`-th label of a scatter plot: circles for the first palette's worth of
/// labels, then triangles, then crosses, so that 30 labels stay apart though colours repeat.
fn scatter_marker(k: usize) -> Marker {
    [Marker::Circle, Marker::Triangle, Marker::Cross][(k / PALETTE.len()) % 3]
}

/// "Nice" tick positions covering `[lo, hi]` with about `n` ticks (steps 1, 2 or 5 x 10^k).
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|k| k as f64 * step)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect()
}

/// A tick label: as few decimals as the tick spacing needs, more where the value itself needs
/// them (the plotting backend may place ticks finer than `step`); scientific for very
/// large/small values.
pub fn format_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    let mut decimals = if step > 0.0 {
        (-step.log10().floor()).max(0.0) as usize
    } else {
        2
    };
    while decimals < 6 {
        let scaled = v * 10f64.powi(decimals as i32);
        if (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0) {
            break;
        }
        decimals += 1;
    }
    format!("{v:.decimals$}")
}

/// Data range of values with a little padding; a flat range is widened.
pub(crate) fn padded_range(vals: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = vals
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + lo.abs()) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let p = (hi - lo) * pad;
    (lo - p, hi + p)
}

/// A color map from dark blue (low) through green to yellow (high), like viridis.
pub fn colormap(t: f64) -> (u8, u8, u8) {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let s = t * 4.0;
    let i = (s.floor() as usize).min(3);
    let f = s - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Contour segments of a grid at `level` by marching squares, in data coordinates.
pub(crate) fn contour_segments(h: &Heatmap, level: f64) -> Vec<((f64, f64), (f64, f64))> {
    let (nx, ny) = (h.xs.len(), h.ys.len());
    let z = |i: usize, j: usize| h.z[j * nx + i];
    let mut out = Vec::new();
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            let c = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let v: Vec<f64> = c.iter().map(|&(a, b)| z(a, b)).collect();
            if v.iter().any(|x| !x.is_finite()) {
                continue;
            }
            // Crossing points on the four edges.
            let mut pts = Vec::new();
            for e in 0..4 {
                let (p, q) = (e, (e + 1) % 4);
                if (v[p] < level) != (v[q] < level) {
                    let t = (level - v[p]) / (v[q] - v[p]);
                    let (xp, yp) = (h.xs[c[p].0], h.ys[c[p].1]);
                    let (xq, yq) = (h.xs[c[q].0], h.ys[c[q].1]);
                    pts.push((xp + t * (xq - xp), yp + t * (yq - yp)));
                }
            }
            if pts.len() == 2 {
                out.push((pts[0], pts[1]));
            } else if pts.len() == 4 {
                out.push((pts[0], pts[1]));
                out.push((pts[2], pts[3]));
            }
        }
    }
    out
}
