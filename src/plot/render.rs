//! Drawing figures with plotters onto SVG and bitmap backends.

use super::legend;
use super::{
    colormap, contour_segments, format_tick, nice_ticks, padded_range, DgPicture, Figure, Heatmap,
    Image, Marker, Plot, Series, PALETTE,
};
use crate::landscape::dg::Dg;
use crate::{error::invalid, Error, Result};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// The bundled font (DejaVu Sans, see assets/fonts/LICENSE-DejaVu.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static FONT_NAME: &str = "sans-serif";

fn ensure_font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE
        .get_or_init(|| plotters::style::register_font(FONT_NAME, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(invalid("the bundled font could not be loaded"))
    }
}

fn pe<E: std::fmt::Display>(e: E) -> Error {
    invalid(format!("drawing failed: {e}"))
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT_NAME, size).into_font().into()
}

fn pal(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// SVG text of a figure.
pub fn svg(fig: &Figure) -> Result<String> {
    fig.check_drawable()?;
    ensure_font()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (fig.width, fig.height)).into_drawing_area();
        draw(fig, &root)?;
        root.present().map_err(pe)?;
    }
    Ok(s)
}

/// PNG bytes of a figure.
pub fn png(fig: &Figure) -> Result<Vec<u8>> {
    let (w, h, buf) = pixels(fig)?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc
            .write_header()
            .map_err(|e| invalid(format!("PNG: {e}")))?;
        wr.write_image_data(&buf)
            .map_err(|e| invalid(format!("PNG: {e}")))?;
    }
    Ok(out)
}

/// The pixels of a figure: width, height and RGB bytes, row by row.
pub fn pixels(fig: &Figure) -> Result<(u32, u32, Vec<u8>)> {
    fig.check_drawable()?;
    ensure_font()?;
    let (w, h) = (fig.width, fig.height);
    if w == 0 || h == 0 || w > 10000 || h > 10000 {
        return Err(invalid(format!(
            "picture size {w} x {h} is out of range (1..10000)"
        )));
    }
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(fig, &root)?;
        root.present().map_err(pe)?;
    }
    Ok((w, h, buf))
}

fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> Result<()> {
    root.fill(&WHITE).map_err(pe)?;
    let area = if fig.title.is_empty() {
        root.clone()
    } else {
        root.titled(&fig.title, font(24.0)).map_err(pe)?
    };
    match &fig.plot {
        Plot::Xy {
            series,
            log_x,
            log_y,
            vlines,
        } => draw_xy(fig, &area, series, *log_x, *log_y, vlines),
        Plot::Heatmap(h) => draw_heatmap(fig, &area, h),
        Plot::Histogram { values, bins } => draw_histogram(fig, &area, values, *bins),
        Plot::Images { images, cols } => draw_images(&area, images, *cols),
        Plot::Dg(p) => draw_dg(fig, root, &area, p),
        Plot::Dgs { panels, titles } => draw_dgs(fig, root, &area, panels, titles),
    }
}

/// Length of a tick mark in pixels; plotters leaves as much again between the mark and its
/// label, so that "0.8" next to its mark never reads as "0.8-" or a fraction.
const TICK_MARK: i32 = 7;

fn tr(v: f64, log: bool) -> f64 {
    if log {
        v.log10()
    } else {
        v
    }
}

/// Tick labels; on a log axis spanning two decades or more only powers of ten are labelled,
/// on a shorter one every tick with two significant digits.
fn tick_fmt(log: bool, step: f64, span: f64) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        if log {
            if (v - v.round()).abs() <= 1e-6 {
                let p = 10f64.powi(v.round() as i32);
                return format_tick(p, p);
            }
            if span >= 2.0 {
                return String::new();
            }
            // Only the 1-2-5 values between the powers of ten (0.5, 2, 5, 20), which the
            // ticks every 0.1 decade (see `log_ticks`) pass within 0.3%: even steps on a log
            // axis, not 0.63, 0.79, 1.3.
            let x = 10f64.powf(*v);
            let decade = 10f64.powf(x.log10().floor());
            for m in [2.0, 5.0] {
                let r = m * decade;
                if (x / r).log10().abs() < 0.01 {
                    return format_tick(r, decade);
                }
            }
            String::new()
        } else {
            format_tick(*v, step)
        }
    }
}

/// How many ticks an x axis asks plotters for: on a log axis shorter than two decades, one
/// every 0.1 decade (so that 2 and 5 times a power of ten fall on ticks); else plotters' 10.
fn log_ticks(log: bool, span: f64) -> usize {
    if log && span < 2.0 {
        (span * 10.0).round() as usize + 1
    } else {
        10
    }
}

fn step_of(lo: f64, hi: f64) -> f64 {
    let t = nice_ticks(lo, hi, 8);
    if t.len() >= 2 {
        t[1] - t[0]
    } else {
        (hi - lo).abs().max(1e-12)
    }
}

fn draw_xy<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
    log_x: bool,
    log_y: bool,
    vlines: &[f64],
) -> Result<()> {
    let ok = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
    let xs = series
        .iter()
        .flat_map(|s| s.xs.iter().copied())
        .chain(vlines.iter().copied())
        .filter(|&v| ok(v, log_x))
        .map(|v| tr(v, log_x));
    // Points keep clear of the frame: markers need more room than lines.
    let has_points = series.iter().any(|s| !s.line && s.marker != Marker::None);
    let (x0, x1) = padded_range(xs, if has_points { 0.06 } else { 0.03 });
    let ys = series
        .iter()
        .flat_map(|s| s.ys.iter().copied())
        .filter(|&v| ok(v, log_y))
        .map(|v| tr(v, log_y));
    let (y0, y1) = padded_range(ys, if has_points { 0.08 } else { 0.05 });
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(pe)?;
    let (sx, sy) = (step_of(x0, x1), step_of(y0, y1));
    let fx = tick_fmt(log_x, sx, x1 - x0);
    // Counts (every y a whole number, as in an alpha sweep) get whole-number ticks only.
    let counts = !log_y
        && series
            .iter()
            .all(|s| s.ys.iter().all(|v| !v.is_finite() || v.fract() == 0.0));
    let fy_plain = tick_fmt(log_y, sy, y1 - y0);
    let fy = |v: &f64| -> String {
        match counts {
            true if (v - v.round()).abs() > 1e-9 => String::new(),
            true => format_tick(v.round(), 1.0),
            false => fy_plain(v),
        }
    };
    let y_ticks = if counts {
        ((y1 - y0).floor() as usize + 1).clamp(2, 10)
    } else {
        10
    };
    chart
        .configure_mesh()
        .set_all_tick_mark_size(TICK_MARK)
        .x_desc(fig.x_label.as_str())
        .y_desc(fig.y_label.as_str())
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_labels(log_ticks(log_x, x1 - x0))
        .y_labels(y_ticks)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(pe)?;
    for &v in vlines {
        if ok(v, log_x) {
            let x = tr(v, log_x);
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(x, y0), (x, y1)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                )))
                .map_err(pe)?;
        }
    }
    // What is drawn, in pixels from the plotting area's upper left: the legend avoids it.
    let mut drawn: Vec<(i32, i32)> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    if !fig.legend_title.is_empty() && series.iter().any(|s| !s.name.is_empty()) {
        // The heading: an entry with no mark, first.
        labels.push(fig.legend_title.clone());
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(pe)?
            .label(fig.legend_title.clone())
            .legend(|(x, y)| EmptyElement::at((x, y)));
    }
    // A line that the lines drawn after it cover almost entirely (an A-B band under the A-C
    // and C-B bands) is drawn again, dashed, on top: every series with a legend entry shows.
    let points_of = |s: &Series| -> Vec<(f64, f64)> {
        s.xs.iter()
            .zip(&s.ys)
            .filter(|(&x, &y)| ok(x, log_x) && ok(y, log_y))
            .map(|(&x, &y)| (tr(x, log_x), tr(y, log_y)))
            .collect()
    };
    let line_pixels: Vec<Vec<(i32, i32)>> = series
        .iter()
        .map(|s| match s.line {
            true => legend::along_line(&area_pixels(&chart, &points_of(s))),
            false => Vec::new(),
        })
        .collect();
    let hidden: Vec<bool> = (0..series.len())
        .map(|i| {
            let later: Vec<(i32, i32)> = line_pixels[i + 1..].iter().flatten().copied().collect();
            series[i].line
                && !series[i].dashed
                && legend::share_hidden(&line_pixels[i], &later) >= 0.9
        })
        .collect();
    for (i, s) in series.iter().enumerate() {
        let c = pal(s.color);
        let pts = points_of(s);
        let pixels = area_pixels(&chart, &pts);
        if s.line {
            drawn.extend(legend::along_line(&pixels));
        } else if s.marker != Marker::None {
            drawn.extend(pixels);
        }
        let dashed = s.dashed || hidden[i];
        if s.line {
            let anno = if s.dashed {
                chart
                    .draw_series(std::iter::once(DashedPathElement::new(
                        pts.clone(),
                        8,
                        5,
                        c.stroke_width(2),
                    )))
                    .map_err(pe)?
            } else {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        pts.clone(),
                        c.stroke_width(2),
                    )))
                    .map_err(pe)?
            };
            if !s.name.is_empty() {
                labels.push(s.name.clone());
                anno.label(s.name.clone())
                    .legend(move |(x, y)| legend_stroke(x, y, c, dashed));
            }
        }
        let marked = match s.marker {
            Marker::None => None,
            Marker::Circle => Some(
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&p| Circle::new(p, 3, c.filled()).into_dyn()),
                    )
                    .map_err(pe)?,
            ),
            Marker::Cross => Some(
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&p| Cross::new(p, 4, c.stroke_width(2)).into_dyn()),
                    )
                    .map_err(pe)?,
            ),
            Marker::Triangle => Some(
                chart
                    .draw_series(
                        pts.iter()
                            .map(|&p| TriangleMarker::new(p, 4, c.filled()).into_dyn()),
                    )
                    .map_err(pe)?,
            ),
        };
        if !s.line && !s.name.is_empty() {
            if let Some(anno) = marked {
                labels.push(s.name.clone());
                let marker = s.marker;
                anno.label(s.name.clone())
                    .legend(move |(x, y)| legend_marker(x, y, c, marker));
            }
        }
    }
    for (s, _) in series.iter().zip(&hidden).filter(|(_, h)| **h) {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                points_of(s),
                8,
                5,
                pal(s.color).stroke_width(2),
            )))
            .map_err(pe)?;
    }
    draw_legend(&mut chart, &labels, &drawn)?;
    Ok(())
}

/// The coordinates of x-y charts and heatmaps.
type XyCoord =
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>;

/// `pts` (chart coordinates) in pixels from the upper left of `chart`'s plotting area.
fn area_pixels<DB: DrawingBackend>(
    chart: &ChartContext<DB, XyCoord>,
    pts: &[(f64, f64)],
) -> Vec<(i32, i32)> {
    let origin = chart.plotting_area().get_base_pixel();
    pts.iter()
        .map(|p| {
            let (x, y) = chart.backend_coord(p);
            (x - origin.0, y - origin.1)
        })
        .collect()
}

/// Width of the legend's column of marks, in pixels.
const LEGEND_MARKS: u32 = 30;
/// Margin inside the legend's box, in pixels.
const LEGEND_MARGIN: u32 = 10;
/// Font size of the legend's text.
const LEGEND_FONT: f64 = 14.0;

/// Draws the legend of `labels` (the chart's labelled series, in order; nothing when empty)
/// where it covers the fewest of the `drawn` pixels: its box sized as plotters lays it out
/// (the text at the legend font, the column of marks and the margins).
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, XyCoord>,
    labels: &[String],
    drawn: &[(i32, i32)],
) -> Result<()> {
    if labels.is_empty() {
        return Ok(());
    }
    let style = font(LEGEND_FONT);
    let mut text = MultiLineText::<(i32, i32), &str>::new((0, 0), &style);
    for l in labels {
        text.push_line(l.as_str());
    }
    let (w, h) = text.estimate_dimension().map_err(pe)?;
    let (marks, margin) = (LEGEND_MARKS as i32, LEGEND_MARGIN as i32);
    let size = (w + marks + 2 * margin, h + 2 * margin);
    let place = legend::least_covered(drawn, size, chart.plotting_area().dim_in_pixel());
    chart
        .configure_series_labels()
        .position(place)
        .legend_area_size(LEGEND_MARKS)
        .margin(LEGEND_MARGIN)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(font(LEGEND_FONT))
        .draw()
        .map_err(pe)
}

/// A point series' legend entry: its marker, drawn as on the plot.
fn legend_marker<DB: DrawingBackend>(
    x: i32,
    y: i32,
    c: RGBColor,
    marker: Marker,
) -> DynElement<'static, DB, (i32, i32)> {
    let at = (x + 10, y);
    match marker {
        Marker::Triangle => TriangleMarker::new(at, 5, c.filled()).into_dyn(),
        Marker::Cross => Cross::new(at, 4, c.stroke_width(2)).into_dyn(),
        Marker::Circle | Marker::None => Circle::new(at, 4, c.filled()).into_dyn(),
    }
}

/// A line series' legend entry: a short stretch of its line, dashed or solid.
fn legend_stroke<DB: DrawingBackend>(
    x: i32,
    y: i32,
    c: RGBColor,
    dashed: bool,
) -> DynElement<'static, DB, (i32, i32)> {
    if dashed {
        DashedPathElement::new(vec![(x, y), (x + 20, y)], 5, 3, c.stroke_width(2)).into_dyn()
    } else {
        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)).into_dyn()
    }
}

/// The part of the segment from `p` to `q` inside `[x0, x1] x [y0, y1]` (Liang-Barsky), if any.
fn clip_segment(
    p: (f64, f64),
    q: (f64, f64),
    [x0, x1, y0, y1]: [f64; 4],
) -> Option<[(f64, f64); 2]> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (den, num) in [
        (-dx, p.0 - x0),
        (dx, x1 - p.0),
        (-dy, p.1 - y0),
        (dy, y1 - p.1),
    ] {
        if den == 0.0 {
            if num < 0.0 {
                return None;
            }
        } else {
            let t = num / den;
            if den < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some([
        (p.0 + t0 * dx, p.1 + t0 * dy),
        (p.0 + t1 * dx, p.1 + t1 * dy),
    ])
}

fn draw_heatmap<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    h: &Heatmap,
) -> Result<()> {
    let (nx, ny) = (h.xs.len(), h.ys.len());
    let (x0, x1) = (h.xs[0], h.xs[nx - 1]);
    let (y0, y1) = (h.ys[0], h.ys[ny - 1]);
    let (zlo, zhi) = h.color_range();
    let (area, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(90));
    let mut chart = ChartBuilder::on(&area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(pe)?;
    // Cells centred on grid points.
    let half = |v: &[f64], i: usize| -> (f64, f64) {
        let lo = if i == 0 {
            v[0]
        } else {
            0.5 * (v[i - 1] + v[i])
        };
        let hi = if i + 1 == v.len() {
            v[i]
        } else {
            0.5 * (v[i] + v[i + 1])
        };
        (lo, hi)
    };
    let cells = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (i, j)))
        .map(|(i, j)| {
            let (xa, xb) = half(&h.xs, i);
            let (ya, yb) = half(&h.ys, j);
            let z = h.z[j * nx + i];
            let (r, g, b) = colormap((z - zlo) / (zhi - zlo));
            Rectangle::new([(xa, ya), (xb, yb)], RGBColor(r, g, b).filled())
        });
    chart.draw_series(cells).map_err(pe)?;
    let sx = step_of(x0, x1);
    let sy = step_of(y0, y1);
    chart
        .configure_mesh()
        .set_all_tick_mark_size(TICK_MARK)
        .disable_mesh()
        .x_desc(fig.x_label.as_str())
        .y_desc(fig.y_label.as_str())
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .x_label_formatter(&|v| format_tick(*v, sx))
        .y_label_formatter(&|v| format_tick(*v, sy))
        .draw()
        .map_err(pe)?;
    if h.levels > 0 {
        for k in 0..h.levels {
            let level = zlo + (zhi - zlo) * (k as f64 + 0.5) / h.levels as f64;
            let segs = contour_segments(h, level);
            chart
                .draw_series(
                    segs.into_iter()
                        .map(|(a, b)| PathElement::new(vec![a, b], WHITE.mix(0.6).stroke_width(1))),
                )
                .map_err(pe)?;
        }
    }
    // The paths in pixels from the plotting area's upper left: the legend avoids them (the
    // shading fills the whole area).
    let mut drawn: Vec<(i32, i32)> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let bounds = [x0, x1, y0, y1];
    // Segment by segment, clipped to the plot (a point outside is not pulled to the edge).
    let segments_of = |s: &Series| -> Vec<[(f64, f64); 2]> {
        let pts: Vec<(f64, f64)> = s.xs.iter().zip(&s.ys).map(|(&x, &y)| (x, y)).collect();
        pts.windows(2)
            .filter_map(|w| clip_segment(w[0], w[1], bounds))
            .collect()
    };
    let path_pixels: Vec<Vec<(i32, i32)>> = h
        .paths
        .iter()
        .map(|s| {
            segments_of(s)
                .iter()
                .flat_map(|sg| legend::along_line(&area_pixels(&chart, sg)))
                .collect()
        })
        .collect();
    // A path the later paths cover almost entirely (the A-B band through C under the A-C and
    // C-B bands) is drawn again, dashed, on top, and its legend entry is dashed.
    let hidden: Vec<bool> = (0..h.paths.len())
        .map(|i| {
            let later: Vec<(i32, i32)> = path_pixels[i + 1..].iter().flatten().copied().collect();
            legend::share_hidden(&path_pixels[i], &later) >= 0.9
        })
        .collect();
    for (i, s) in h.paths.iter().enumerate() {
        let c = pal(s.color);
        let pts: Vec<(f64, f64)> = s.xs.iter().zip(&s.ys).map(|(&x, &y)| (x, y)).collect();
        // With a dot at every inside vertex: round joins instead of miter spikes at sharp
        // turns of a diffusion path.
        let segments = segments_of(s);
        let inside: Vec<(f64, f64)> = pts
            .iter()
            .copied()
            .filter(|&(x, y)| (x0..=x1).contains(&x) && (y0..=y1).contains(&y))
            .collect();
        for sg in &segments {
            drawn.extend(legend::along_line(&area_pixels(&chart, sg)));
        }
        chart
            .draw_series(inside.iter().map(|&p| Circle::new(p, 1, c.filled())))
            .map_err(pe)?;
        let anno = chart
            .draw_series(
                segments
                    .iter()
                    .map(|sg| PathElement::new(sg.to_vec(), c.stroke_width(3))),
            )
            .map_err(pe)?;
        if !s.name.is_empty() {
            labels.push(s.name.clone());
            let dashed = hidden[i];
            anno.label(s.name.clone())
                .legend(move |(x, y)| legend_stroke(x, y, c, dashed));
        }
        if s.marker != Marker::None {
            chart
                .draw_series(
                    inside
                        .iter()
                        .map(|&p| Rectangle::new([p, p], c.stroke_width(5))),
                )
                .map_err(pe)?;
        }
    }
    for (s, _) in h.paths.iter().zip(&hidden).filter(|(_, h)| **h) {
        let c = pal(s.color);
        for sg in segments_of(s) {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    sg.to_vec(),
                    8,
                    5,
                    c.stroke_width(3),
                )))
                .map_err(pe)?;
        }
    }
    draw_legend(&mut chart, &labels, &drawn)?;
    // Color bar, labelled with what its colors mean.
    let mut cb = ChartBuilder::on(&bar)
        .caption("energy", font(13.0))
        .margin_top(4)
        .margin_bottom(60)
        .margin_left(10)
        .margin_right(8)
        .y_label_area_size(0)
        .right_y_label_area_size(45)
        .build_cartesian_2d(0.0..1.0, zlo..zhi)
        .map_err(pe)?;
    let n = 100;
    cb.draw_series((0..n).map(|k| {
        let a = zlo + (zhi - zlo) * k as f64 / n as f64;
        let b = zlo + (zhi - zlo) * (k + 1) as f64 / n as f64;
        let (r, g, bb) = colormap((k as f64 + 0.5) / n as f64);
        Rectangle::new([(0.0, a), (1.0, b)], RGBColor(r, g, bb).filled())
    }))
    .map_err(pe)?;
    let sz = step_of(zlo, zhi);
    cb.configure_mesh()
        .set_all_tick_mark_size(TICK_MARK)
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .label_style(font(12.0))
        .y_label_formatter(&|v| format_tick(*v, sz))
        .draw()
        .map_err(pe)?;
    Ok(())
}

fn draw_histogram<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    values: &[f64],
    bins: usize,
) -> Result<()> {
    let (counts, lo, width) = super::text::histogram_counts(values, bins);
    let hi = lo + width * bins as f64;
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.05;
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(lo..hi, 0.0..top)
        .map_err(pe)?;
    let sx = step_of(lo, hi);
    let sy = step_of(0.0, top).max(1.0);
    chart
        .configure_mesh()
        .set_all_tick_mark_size(TICK_MARK)
        .disable_x_mesh()
        .x_desc(fig.x_label.as_str())
        .y_desc(fig.y_label.as_str())
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .x_label_formatter(&|v| format_tick(*v, sx))
        .y_label_formatter(&|v| format_tick(*v, sy))
        .draw()
        .map_err(pe)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(k, &c)| {
            let a = lo + width * k as f64;
            Rectangle::new([(a, 0.0), (a + width, c as f64)], pal(0).filled())
        }))
        .map_err(pe)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(k, &c)| {
            let a = lo + width * k as f64;
            Rectangle::new([(a, 0.0), (a + width, c as f64)], WHITE.stroke_width(1))
        }))
        .map_err(pe)?;
    Ok(())
}

/// Draws `img` into the pixel box with top-left `(x, y)` and side `size` (keeping its aspect).
fn blit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    img: &Image,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
) -> Result<()> {
    if img.width == 0 || img.height == 0 || w <= 0 || h <= 0 {
        return Ok(());
    }
    let scale = (w as f64 / img.width as f64).min(h as f64 / img.height as f64);
    let (dw, dh) = (img.width as f64 * scale, img.height as f64 * scale);
    let (ox, oy) = (
        x as f64 + (w as f64 - dw) / 2.0,
        y as f64 + (h as f64 - dh) / 2.0,
    );
    for (px, py) in (0..img.height).flat_map(|py| (0..img.width).map(move |px| (px, py))) {
        let (r, g, b) = img.rgb(px, py);
        let xa = (ox + px as f64 * scale).round() as i32;
        let ya = (oy + py as f64 * scale).round() as i32;
        let xb = (ox + (px + 1) as f64 * scale).round() as i32;
        let yb = (oy + (py + 1) as f64 * scale).round() as i32;
        area.draw(&Rectangle::new(
            [(xa, ya), (xb.max(xa + 1), yb.max(ya + 1))],
            RGBColor(r, g, b).filled(),
        ))
        .map_err(pe)?;
    }
    area.draw(&Rectangle::new(
        [
            (ox.round() as i32, oy.round() as i32),
            ((ox + dw).round() as i32, (oy + dh).round() as i32),
        ],
        RGBColor(160, 160, 160).stroke_width(1),
    ))
    .map_err(pe)?;
    Ok(())
}

fn draw_images<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    images: &[Image],
    cols: usize,
) -> Result<()> {
    // No wider than the images need (two images asked for 8 columns take 2), the block
    // centred in the area.
    let cols = cols.clamp(1, images.len().max(1));
    let rows = images.len().div_ceil(cols);
    let (w, h) = area.dim_in_pixel();
    let cell = ((w as f64 - 20.0) / cols as f64)
        .min((h as f64 - 20.0) / rows as f64)
        .max(1.0);
    let left = ((w as f64 - cols as f64 * cell) / 2.0).max(0.0);
    let top = ((h as f64 - rows as f64 * cell) / 2.0).max(0.0);
    for (k, img) in images.iter().enumerate() {
        let (r, c) = (k / cols, k % cols);
        let x = (left + c as f64 * cell) as i32;
        let y = (top + r as f64 * cell) as i32;
        let pad = (cell * 0.05).max(1.0) as i32;
        blit(
            area,
            img,
            x + pad,
            y + pad,
            cell as i32 - 2 * pad,
            cell as i32 - 2 * pad,
        )?;
    }
    Ok(())
}

/// The energy range drawn for trees: all node energies, padded.
fn dg_range<'a>(dgs: impl Iterator<Item = &'a Dg>) -> (f64, f64) {
    padded_range(
        dgs.flat_map(|dg| (0..dg.n_nodes()).map(move |i| dg.energy(i))),
        0.08,
    )
}

/// Where a drawn tree put its leaves: pixel x of each leaf (by leaf node id) in root
/// coordinates, the pixel spacing between neighbouring leaves, and the bottom of the tree.
struct TreeLayout {
    leaf_px: Vec<i32>,
    spacing: f64,
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// A legend entry: text, color, and whether it is a line (else a dot).
type LegendEntry = (String, RGBColor, bool);

/// The legend entries of a picture's marks, where each goes (pixel offset, row) when they flow
/// left to right and wrap at width `aw`, and the height of the strip they need (0: none).
fn legend_layout(p: &DgPicture, aw: u32) -> (Vec<LegendEntry>, Vec<(i32, i32)>, u32) {
    let value_legend: Vec<LegendEntry> = match (&p.values, p.classes.is_empty()) {
        (Some(v), true) => {
            let (lo, hi) = value_range(&node_values(p));
            [(0.0, lo), (0.5, 0.5 * (lo + hi)), (1.0, hi)]
                .into_iter()
                .map(|(t, x)| {
                    (
                        format!("{} {}", v.label, format_value(x)),
                        rgb(super::colormap(t)),
                        true,
                    )
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let legend: Vec<LegendEntry> = value_legend
        .into_iter()
        .chain(
            p.classes
                .iter()
                .filter(|m| !m.label.is_empty())
                .map(|m| (m.label.clone(), rgb(m.color), true)),
        )
        .chain(
            p.marks
                .iter()
                .filter(|m| !m.label.is_empty())
                .map(|m| (m.label.clone(), rgb(m.color), false)),
        )
        .chain(
            p.merge_marks
                .iter()
                .filter(|m| !m.label.is_empty())
                .map(|m| (m.label.clone(), rgb(m.color), true)),
        )
        .collect();
    let mut slots: Vec<(i32, i32)> = Vec::new();
    let (mut cx, mut row) = (85i32, 0i32);
    for (text, _, _) in &legend {
        let w = (text.chars().count() as f64 * 14.0 * 0.55) as i32 + 52;
        if cx + w > aw as i32 - 10 && cx > 85 {
            cx = 85;
            row += 1;
        }
        slots.push((cx, row));
        cx += w;
    }
    let strip = if legend.is_empty() {
        0
    } else {
        24 * (row as u32 + 1) + 6
    };
    (legend, slots, strip)
}

/// The value of every node of the picture's tree (leaves, then merges): a leaf's from
/// `p.values` by group id, a merge's the member-weighted mean of the leaves under it with a
/// value; none without values.
fn node_values(p: &DgPicture) -> Vec<Option<f64>> {
    let dg = &p.dg;
    let nl = dg.leaves.len();
    let Some(values) = &p.values else {
        return vec![None; nl + dg.merges.len()];
    };
    // (weighted sum, weight) per node.
    let mut acc: Vec<(f64, f64)> = dg
        .leaves
        .iter()
        .map(|leaf| match values.by_group.get(leaf.id) {
            Some(v) if v.is_finite() => {
                let w = leaf.members.max(1) as f64;
                (v * w, w)
            }
            _ => (0.0, 0.0),
        })
        .collect();
    for (k, m) in dg.merges.iter().enumerate() {
        let sum = m
            .children
            .iter()
            .filter(|&&c| c < nl + k)
            .fold((0.0, 0.0), |(s, w), &c| (s + acc[c].0, w + acc[c].1));
        acc.push(sum);
    }
    acc.into_iter()
        .map(|(s, w)| (w > 0.0).then(|| s / w))
        .collect()
}

/// A value for the legend: 4 significant digits.
fn format_value(x: f64) -> String {
    let s = format!("{x:.4}");
    if x.abs() >= 1e4 || (x != 0.0 && x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The lowest and highest of the node values (0..1 when there are none).
fn value_range(values: &[Option<f64>]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// The class of every node of the picture's tree (leaves, then merges): a leaf's from
/// `p.classes` by group id, a merge's when all its children share one class, else none.
fn node_classes(p: &DgPicture) -> Vec<Option<usize>> {
    let dg = &p.dg;
    let nl = dg.leaves.len();
    let mut class: Vec<Option<usize>> = dg
        .leaves
        .iter()
        .map(|leaf| p.classes.iter().rposition(|c| c.groups.contains(&leaf.id)))
        .collect();
    class.resize(nl + dg.merges.len(), None);
    // A merge's children are leaves or earlier merges, so one pass in merge order suffices;
    // a later child (never built by Dg, but cheap to guard) leaves the merge unclassified.
    for (k, m) in dg.merges.iter().enumerate() {
        let mut common: Option<Option<usize>> = None;
        for &c in &m.children {
            let cc = if c < nl + k { class[c] } else { None };
            common = match common {
                None => Some(cc),
                Some(prev) if prev == cc => Some(prev),
                Some(_) => Some(None),
            };
        }
        class[nl + k] = common.flatten();
    }
    class
}

/// Draws one tree on `area` over energies `e0..e1` with its marks, legend and thinned labels.
fn draw_tree<DB: DrawingBackend>(
    fig: &Figure,
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &DgPicture,
    (e0, e1): (f64, f64),
    y_desc: bool,
    legend_h: u32,
) -> Result<TreeLayout> {
    let dg = &p.dg;
    let nl = dg.leaves.len();
    let (aw, _) = area.dim_in_pixel();
    let (legend, slots, strip) = legend_layout(p, aw);
    let (legend_area, tree_area) = if legend.is_empty() && legend_h == 0 {
        (None, area.clone())
    } else {
        let (l, t) = area.split_vertically(strip.max(legend_h));
        (Some(l), t)
    };
    let x = dg.node_x();
    let xmax = x.iter().copied().fold(0.0, f64::max);
    let stub = (e1 - e0) * 0.04;
    let mut chart = ChartBuilder::on(&tree_area)
        .margin(15)
        .margin_bottom(if p.labels { 30 } else { 15 })
        .x_label_area_size(0)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.7..xmax + 0.7, e0..e1 + stub)
        .map_err(pe)?;
    let sy = step_of(e0, e1);
    let desc = if y_desc { fig.y_label.as_str() } else { "" };
    chart
        .configure_mesh()
        .set_all_tick_mark_size(TICK_MARK)
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc(desc)
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .y_label_formatter(&|v| format_tick(*v, sy))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(pe)?;
    // Pixel spacing between neighbouring leaves.
    let spacing = {
        let a = chart.backend_coord(&(0.0, e0));
        let b = chart.backend_coord(&(1.0, e0));
        (b.0 - a.0).abs().max(1) as f64
    };
    let width = if spacing < 4.0 { 1 } else { 2 };
    let line = BLACK.stroke_width(width);
    let mut merge_color: Vec<Option<RGBColor>> = vec![None; dg.merges.len()];
    for mm in &p.merge_marks {
        for &k in &mm.merges {
            if let Some(c) = merge_color.get_mut(k) {
                *c = Some(rgb(mm.color));
            }
        }
    }
    let class = node_classes(p);
    let value = node_values(p);
    let (vlo, vhi) = value_range(&value);
    let class_color = |node: usize| {
        if p.classes.is_empty() {
            value[node].map(|v| rgb(super::colormap((v - vlo) / (vhi - vlo).max(1e-300))))
        } else {
            class[node].map(|c| rgb(p.classes[c].color))
        }
    };
    let mut segs: Vec<[(f64, f64); 2]> = Vec::new();
    let mut branches: Vec<([(f64, f64); 2], RGBColor)> = Vec::new();
    let mut bars: Vec<([(f64, f64); 2], RGBColor)> = Vec::new();
    for (k, m) in dg.merges.iter().enumerate() {
        let (lo, hi) = m
            .children
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &c| {
                (a.min(x[c]), b.max(x[c]))
            });
        let bar = [(lo, m.energy), (hi, m.energy)];
        match (merge_color[k], class_color(nl + k)) {
            (Some(c), _) => bars.push((bar, c)),
            (None, Some(c)) => branches.push((bar, c)),
            (None, None) => segs.push(bar),
        }
        for &c in &m.children {
            let up = [(x[c], dg.energy(c)), (x[c], m.energy)];
            match class_color(c) {
                Some(col) => branches.push((up, col)),
                None => segs.push(up),
            }
        }
    }
    for &r in &dg.roots {
        let stub_seg = [(x[r], dg.energy(r)), (x[r], dg.energy(r) + stub)];
        match class_color(r) {
            Some(col) => branches.push((stub_seg, col)),
            None => segs.push(stub_seg),
        }
    }
    chart
        .draw_series(segs.into_iter().map(|s| PathElement::new(s.to_vec(), line)))
        .map_err(pe)?;
    // Branches of one class a little thicker, so their colour reads at a glance.
    chart
        .draw_series(
            branches
                .into_iter()
                .map(|(s, c)| PathElement::new(s.to_vec(), c.stroke_width(width + 1))),
        )
        .map_err(pe)?;
    // Coloured merges a little thicker, so they read over the black tree.
    chart
        .draw_series(
            bars.into_iter()
                .map(|(s, c)| PathElement::new(s.to_vec(), c.stroke_width(width + 1))),
        )
        .map_err(pe)?;
    let rmax = (spacing * 0.45).clamp(3.0, 22.0);
    // Circles say how many minima each basin holds; when every leaf holds one (a GWL map, a
    // DG of minima) they would all be alike and only hide the tree.
    if p.circles && dg.leaves.iter().any(|l| l.members > 1) {
        let most = dg
            .leaves
            .iter()
            .map(|l| l.members)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let rmin = if spacing < 4.0 { 1.0 } else { 2.0 };
        let circles = (0..nl).map(|l| {
            // Area proportional to the member count.
            let r = (rmax * (dg.leaves[l].members as f64 / most).sqrt()).max(rmin);
            Circle::new(
                (x[l], dg.leaves[l].energy),
                r.round() as i32,
                RGBColor(200, 30, 30).stroke_width(if spacing < 4.0 { 1 } else { 2 }),
            )
        });
        chart.draw_series(circles).map_err(pe)?;
    }
    if !p.marks.is_empty() {
        let mut mark: Vec<Option<RGBColor>> = vec![None; nl];
        for mk in &p.marks {
            for &g in &mk.groups {
                for (l, leaf) in dg.leaves.iter().enumerate() {
                    if leaf.id == g {
                        mark[l] = Some(rgb(mk.color));
                    }
                }
            }
        }
        let r = (spacing * 0.4).clamp(3.0, 7.0).round() as i32;
        chart
            .draw_series((0..nl).filter_map(|l| {
                mark[l].map(|c| Circle::new((x[l], dg.leaves[l].energy), r, c.filled()))
            }))
            .map_err(pe)?;
    }
    let leaf_px: Vec<i32> = (0..nl)
        .map(|l| chart.backend_coord(&(x[l], e0)).0)
        .collect();
    if p.labels {
        let fs = (spacing * 0.6).clamp(9.0, 14.0);
        let style = font(fs).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ));
        // Labels left to right, each kept only when it clears the last one kept: a crowded
        // tree gets every k-th label; one so crowded that under a third would stay gets none
        // (scattered ids among hundreds of leaves name nothing).
        let mut kept = Vec::new();
        let mut candidates = 0usize;
        let mut last_right = i32::MIN;
        for &l in &dg.order {
            let text = match &p.leaf_labels {
                Some(t) => t.get(l).cloned().unwrap_or_default(),
                None => dg.leaves[l].id.to_string(),
            };
            if text.is_empty() {
                continue;
            }
            candidates += 1;
            let (px, py) = chart.backend_coord(&(x[l], dg.leaves[l].energy));
            let half = (text.chars().count() as f64 * fs * 0.32).ceil() as i32 + 1;
            if px - half <= last_right {
                continue;
            }
            last_right = px + half;
            kept.push((text, px, py));
        }
        if 3 * kept.len() >= candidates {
            for (text, px, py) in kept {
                root.draw(&Text::new(text, (px, py + rmax as i32 + 3), style.clone()))
                    .map_err(pe)?;
            }
        }
    }
    if let Some(la) = legend_area {
        let (ox, oy) = la.get_base_pixel();
        let style = font(14.0).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        ));
        for ((text, c, is_line), (sx, row)) in legend.into_iter().zip(slots) {
            let (cx, cy) = (ox + sx, oy + 16 + 24 * row);
            if is_line {
                root.draw(&PathElement::new(
                    vec![(cx - 8, cy), (cx + 10, cy)],
                    c.stroke_width(3),
                ))
                .map_err(pe)?;
            } else {
                root.draw(&Circle::new((cx, cy), 5, c.filled()))
                    .map_err(pe)?;
            }
            root.draw(&Text::new(text, (cx + 16, cy), style.clone()))
                .map_err(pe)?;
        }
    }
    Ok(TreeLayout { leaf_px, spacing })
}

/// The side of an image cell under a DG whose leaves are `spacing` pixels apart, at most
/// `most` (the height each image row may take).
fn image_cell(spacing: f64, most: f64) -> f64 {
    (spacing * 0.92).min(most).clamp(4.0, 96.0)
}

fn draw_dg<DB: DrawingBackend>(
    fig: &Figure,
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &DgPicture,
) -> Result<()> {
    let nl = p.dg.leaves.len();
    let with_images = p.images.is_some() || !p.members.is_empty();
    let max_members = p.members.iter().map(|m| m.len()).max().unwrap_or(0);
    let (aw, ah) = area.dim_in_pixel();
    // Room for images: a column of member images above a row of representatives.
    let rows_img = usize::from(p.images.is_some()) + max_members;
    let (tree_area, _) = if with_images {
        // An image cell is about as wide as the leaf spacing (the plot's width over the
        // leaves), so many leaves make small images: the tree then takes the height the image
        // rows leave free, instead of a fixed share with blank space under the images.
        let cell = image_cell(aw as f64 * 0.85 / nl.max(1) as f64, f64::INFINITY);
        let band = rows_img as f64 * cell * 1.15 + 20.0;
        let least = ah as f64 * if rows_img > 3 { 0.45 } else { 0.6 };
        let tree_h = (ah as f64 - band).clamp(least, (ah as f64 * 0.9).max(least));
        area.split_vertically(tree_h as u32)
    } else {
        (area.clone(), area.clone())
    };
    let layout = draw_tree(
        fig,
        root,
        &tree_area,
        p,
        dg_range(std::iter::once(&p.dg)),
        true,
        0,
    )?;
    if with_images {
        let spacing = layout.spacing;
        let (_, h) = root.dim_in_pixel();
        let (_, top) = tree_area.get_base_pixel();
        let top_img = top + tree_area.dim_in_pixel().1 as i32 + 5;
        let avail = (h as i32 - top_img - 10).max(1) as f64 * 0.85;
        let size = image_cell(spacing, avail / rows_img.max(1) as f64);
        // Each image sits in a `size` cell with a small margin; a wider gap separates the
        // representatives from the members above them.
        let pad = (size * 0.05).max(1.0) as i32;
        let gap = if p.images.is_some() && max_members > 0 {
            (size * 0.15) as i32
        } else {
            0
        };
        let inner = size as i32 - 2 * pad;
        for l in 0..nl {
            let px = layout.leaf_px[l];
            let xa = px - (size / 2.0) as i32 + pad;
            // Representatives in the bottom row.
            let bottom = top_img + (rows_img as f64 * size) as i32 + gap;
            if let Some(reps) = &p.images {
                blit(root, &reps[l], xa, bottom - size as i32 + pad, inner, inner)?;
            }
            let base = bottom
                - if p.images.is_some() {
                    size as i32 + gap
                } else {
                    0
                };
            if let Some(ms) = p.members.get(l) {
                for (k, img) in ms.iter().enumerate() {
                    let y = base - ((k + 1) as f64 * size) as i32 + pad;
                    blit(root, img, xa, y, inner, inner)?;
                }
            }
        }
    }
    Ok(())
}

/// Trees side by side, each under its title, on one energy scale.
fn draw_dgs<DB: DrawingBackend>(
    fig: &Figure,
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    panels: &[DgPicture],
    titles: &[String],
) -> Result<()> {
    let range = dg_range(panels.iter().map(|p| &p.dg));
    let parts = area.split_evenly((1, panels.len()));
    // Every panel gets the tallest legend strip, so that one energy sits at one height.
    let legend_h = panels
        .iter()
        .zip(&parts)
        .map(|(p, a)| legend_layout(p, a.dim_in_pixel().0).2)
        .max()
        .unwrap_or(0);
    let titled = titles.iter().any(|t| !t.is_empty());
    for (k, (p, part)) in panels.iter().zip(&parts).enumerate() {
        let part = if titled {
            part.titled(titles.get(k).map(String::as_str).unwrap_or(""), font(18.0))
                .map_err(pe)?
        } else {
            part.clone()
        };
        draw_tree(fig, root, &part, p, range, k == 0, legend_h)?;
    }
    Ok(())
}

#[cfg(test)]
mod clip_tests {
    use super::clip_segment;

    /// Against dense sampling of the segment: the clipped part holds exactly the sampled
    /// points inside the box, and its ends lie on the segment and inside the box.
    #[test]
    fn clipping_keeps_exactly_the_part_inside_the_box() {
        let bounds = [-1.0, 2.0, 0.0, 1.5];
        let inside = |(x, y): (f64, f64)| {
            (-1.0 - 1e-12..=2.0 + 1e-12).contains(&x) && (-1e-12..=1.5 + 1e-12).contains(&y)
        };
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 2.5
        };
        for _ in 0..2000 {
            let (p, q) = ((next(), next()), (next(), next()));
            let clipped = clip_segment(p, q, bounds);
            let samples: Vec<(f64, f64)> = (0..=400)
                .map(|k| {
                    let t = k as f64 / 400.0;
                    (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
                })
                .collect();
            match clipped {
                // Nothing inside (a sample may touch the box where the segment grazes it).
                None => assert!(samples.iter().filter(|&&s| inside(s)).count() <= 1),
                Some([a, b]) => {
                    assert!(inside(a) && inside(b), "{p:?} {q:?} -> {a:?} {b:?}");
                    let along = |r: (f64, f64)| {
                        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
                        ((r.0 - p.0) * dx + (r.1 - p.1) * dy) / (dx * dx + dy * dy).max(1e-300)
                    };
                    let (ta, tb) = (along(a), along(b));
                    for (k, &s) in samples.iter().enumerate() {
                        let t = k as f64 / 400.0;
                        if inside(s) {
                            assert!(
                                t >= ta - 1e-9 && t <= tb + 1e-9,
                                "an inside point was cut off"
                            );
                        }
                    }
                }
            }
        }
    }
}
