//! Unicode text rendering of figures: braille dots for lines and trees, block characters for
//! bars, a shading ramp for maps and images, with axes, tick labels, title and legend. The
//! output depends only on the figure and the size, so it can be snapshot-tested.

use super::{format_tick, nice_ticks, padded_range, Figure, Heatmap, Image, Marker, Plot, Series};

/// Shading ramp from low to high.
const RAMP: [char; 10] = [' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
/// Symbols for point series (scatter labels), by series index.
const SYMBOLS: [char; 10] = ['•', '+', 'x', 'o', '*', '#', '^', '%', '&', '$'];
/// ANSI 256-color codes approximating the palette.
const ANSI: [u8; 10] = [32, 208, 34, 160, 98, 94, 176, 244, 142, 38];

/// Counts per bin, the lower edge and the bin width.
pub(crate) fn histogram_counts(values: &[f64], bins: usize) -> (Vec<usize>, f64, f64) {
    let bins = bins.max(1);
    let (lo, hi) = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    let (lo, hi) = if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi <= lo {
        (lo - 0.5, lo + 0.5)
    } else {
        (lo, hi)
    };
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let k = (((v - lo) / width) as usize).min(bins - 1);
        counts[k] += 1;
    }
    (counts, lo, width)
}

/// A character canvas with a braille layer, a base layer and a text layer.
struct Canvas {
    w: usize,
    h: usize,
    base: Vec<char>,
    dots: Vec<u8>,
    text: Vec<Option<char>>,
    color: Vec<Option<usize>>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            base: vec![' '; w * h],
            dots: vec![0; w * h],
            text: vec![None; w * h],
            color: vec![None; w * h],
        }
    }
    /// Sets a braille dot at dot coordinates (2 per cell across, 4 down).
    fn dot(&mut self, dx: i64, dy: i64, color: Option<usize>) {
        if dx < 0 || dy < 0 || dx >= 2 * self.w as i64 || dy >= 4 * self.h as i64 {
            return;
        }
        let (cx, cy) = (dx as usize / 2, dy as usize / 4);
        let (bx, by) = (dx as usize % 2, dy as usize % 4);
        let bit = match (bx, by) {
            (0, 3) => 0x40,
            (1, 3) => 0x80,
            (0, r) => 1 << r,
            (_, r) => 1 << (r + 3),
        };
        let i = cy * self.w + cx;
        self.dots[i] |= bit;
        if color.is_some() {
            self.color[i] = color;
        }
    }
    fn line(&mut self, a: (i64, i64), b: (i64, i64), color: Option<usize>) {
        let (mut x, mut y) = a;
        let (dx, dy) = ((b.0 - a.0).abs(), -(b.1 - a.1).abs());
        let (sx, sy) = (
            if a.0 < b.0 { 1 } else { -1 },
            if a.1 < b.1 { 1 } else { -1 },
        );
        let mut err = dx + dy;
        let mut guard = 0;
        loop {
            self.dot(x, y, color);
            if (x, y) == b || guard > 100_000 {
                break;
            }
            guard += 1;
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }
    fn put(&mut self, cx: i64, cy: i64, c: char, color: Option<usize>) {
        if cx >= 0 && cy >= 0 && (cx as usize) < self.w && (cy as usize) < self.h {
            let i = cy as usize * self.w + cx as usize;
            self.text[i] = Some(c);
            self.color[i] = color;
        }
    }
    fn row(&self, y: usize, ansi: bool) -> String {
        let mut s = String::new();
        for x in 0..self.w {
            let i = y * self.w + x;
            let c = if let Some(t) = self.text[i] {
                t
            } else if self.dots[i] != 0 {
                char::from_u32(0x2800 + self.dots[i] as u32).unwrap_or('?')
            } else {
                self.base[i]
            };
            match (ansi, self.color[i]) {
                (true, Some(k)) if c != ' ' => {
                    s.push_str(&format!("\x1b[38;5;{}m{c}\x1b[0m", ANSI[k % ANSI.len()]))
                }
                _ => s.push(c),
            }
        }
        s
    }
}

/// Maps data to dot coordinates of a canvas.
struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    w: usize,
    h: usize,
}

impl Frame {
    fn dot(&self, x: f64, y: f64) -> (i64, i64) {
        let dx = (x - self.x0) / (self.x1 - self.x0) * (2 * self.w - 1) as f64;
        let dy = (self.y1 - y) / (self.y1 - self.y0) * (4 * self.h - 1) as f64;
        (dx.round() as i64, dy.round() as i64)
    }
    fn cell(&self, x: f64, y: f64) -> (i64, i64) {
        let (dx, dy) = self.dot(x, y);
        (dx.div_euclid(2), dy.div_euclid(4))
    }
}

fn center(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        return s.chars().take(w).collect();
    }
    format!("{}{}", " ".repeat((w - n) / 2), s)
}

/// Assembles the canvas with a y axis, an x axis with tick labels, title and legend.
struct Layout {
    lines: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn framed(
    fig: &Figure,
    cols: usize,
    rows: usize,
    ansi: bool,
    xr: (f64, f64),
    yr: (f64, f64),
    x_ticks: Option<Vec<(f64, String)>>,
    legend: &[(String, char, usize)],
    draw: &dyn Fn(&mut Canvas, &Frame),
) -> String {
    let mut out = Layout { lines: Vec::new() };
    if !fig.title.is_empty() {
        out.lines.push(center(&fig.title, cols));
    }
    let legend_rows = usize::from(!legend.is_empty());
    let xlabel_rows = usize::from(!fig.x_label.is_empty());
    let ylabel_rows = usize::from(!fig.y_label.is_empty());
    let used = out.lines.len() + 2 + legend_rows + xlabel_rows + ylabel_rows;
    let h = rows.saturating_sub(used).max(3);
    let yt = nice_ticks(yr.0, yr.1, (h / 3).max(2));
    let ystep = if yt.len() > 1 {
        yt[1] - yt[0]
    } else {
        (yr.1 - yr.0).abs()
    };
    let ylabels: Vec<String> = yt.iter().map(|v| format_tick(*v, ystep)).collect();
    let lw = ylabels.iter().map(|s| s.chars().count()).max().unwrap_or(1);
    let w = cols.saturating_sub(lw + 1).max(5);
    let frame = Frame {
        x0: xr.0,
        x1: xr.1,
        y0: yr.0,
        y1: yr.1,
        w,
        h,
    };
    let mut canvas = Canvas::new(w, h);
    draw(&mut canvas, &frame);
    // Tick rows.
    let mut ytick_at: Vec<Option<String>> = vec![None; h];
    for (v, s) in yt.iter().zip(&ylabels) {
        let (_, cy) = frame.cell(xr.0, *v);
        if cy >= 0 && (cy as usize) < h {
            ytick_at[cy as usize] = Some(s.clone());
        }
    }
    if ylabel_rows == 1 {
        out.lines.push(fig.y_label.clone());
    }
    for (y, tick) in ytick_at.iter().enumerate() {
        let (label, axis) = match tick {
            Some(s) => (format!("{s:>lw$}"), '┤'),
            None => (" ".repeat(lw), '│'),
        };
        out.lines
            .push(format!("{label}{axis}{}", canvas.row(y, ansi)));
    }
    // x axis.
    let xt: Vec<(f64, String)> = match x_ticks {
        Some(t) => t,
        None => {
            let t = nice_ticks(xr.0, xr.1, (w / 12).max(2));
            let step = if t.len() > 1 {
                t[1] - t[0]
            } else {
                (xr.1 - xr.0).abs()
            };
            t.into_iter().map(|v| (v, format_tick(v, step))).collect()
        }
    };
    let mut axis: Vec<char> = vec!['─'; w];
    let mut labels: Vec<char> = vec![' '; w + lw + 1];
    let mut free_from = 0usize;
    for (v, s) in &xt {
        let (cx, _) = frame.cell(*v, yr.0);
        if cx < 0 || cx as usize >= w {
            continue;
        }
        axis[cx as usize] = '┬';
        let n = s.chars().count();
        let start = (cx as usize + lw + 1)
            .saturating_sub(n / 2)
            .min(labels.len().saturating_sub(n));
        if start >= free_from && start + n <= labels.len() {
            for (k, ch) in s.chars().enumerate() {
                labels[start + k] = ch;
            }
            free_from = start + n + 1;
        }
    }
    out.lines.push(format!(
        "{}└{}",
        " ".repeat(lw),
        axis.iter().collect::<String>()
    ));
    out.lines
        .push(labels.iter().collect::<String>().trim_end().to_string());
    if xlabel_rows == 1 {
        out.lines.push(center(&fig.x_label, cols));
    }
    if legend_rows == 1 {
        let mut s = String::new();
        for (name, sym, color) in legend {
            if !s.is_empty() {
                s.push_str("   ");
            }
            if ansi {
                s.push_str(&format!(
                    "\x1b[38;5;{}m{sym}\x1b[0m {name}",
                    ANSI[color % ANSI.len()]
                ));
            } else {
                s.push_str(&format!("{sym} {name}"));
            }
        }
        out.lines.push(s);
    }
    let mut text = out
        .lines
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

fn draw_series(
    c: &mut Canvas,
    f: &Frame,
    s: &Series,
    idx: usize,
    tx: &dyn Fn(f64) -> f64,
    ty: &dyn Fn(f64) -> f64,
) {
    let pts: Vec<(f64, f64)> =
        s.xs.iter()
            .zip(&s.ys)
            .map(|(&x, &y)| (tx(x), ty(y)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
    let color = Some(s.color);
    if s.line {
        for w in pts.windows(2) {
            c.line(f.dot(w[0].0, w[0].1), f.dot(w[1].0, w[1].1), color);
        }
        if pts.len() == 1 {
            let d = f.dot(pts[0].0, pts[0].1);
            c.dot(d.0, d.1, color);
        }
    } else if s.marker != Marker::None {
        for &(x, y) in &pts {
            let (cx, cy) = f.cell(x, y);
            c.put(cx, cy, SYMBOLS[idx % SYMBOLS.len()], color);
        }
    }
}

/// Renders `fig` as text `cols` wide and `rows` high.
pub fn render(fig: &Figure, cols: usize, rows: usize, ansi: bool) -> String {
    match &fig.plot {
        Plot::Xy {
            series,
            log_x,
            log_y,
            vlines,
        } => {
            let (lx, ly) = (*log_x, *log_y);
            let tx = move |v: f64| {
                if lx {
                    if v > 0.0 {
                        v.log10()
                    } else {
                        f64::NAN
                    }
                } else {
                    v
                }
            };
            let ty = move |v: f64| {
                if ly {
                    if v > 0.0 {
                        v.log10()
                    } else {
                        f64::NAN
                    }
                } else {
                    v
                }
            };
            let xr = padded_range(
                series
                    .iter()
                    .flat_map(|s| s.xs.iter().copied())
                    .chain(vlines.iter().copied())
                    .map(tx),
                0.0,
            );
            let yr = padded_range(
                series.iter().flat_map(|s| s.ys.iter().copied()).map(ty),
                0.05,
            );
            let x_ticks = if lx {
                let t = nice_ticks(xr.0, xr.1, 4);
                Some(
                    t.into_iter()
                        .filter(|v| v.fract() == 0.0)
                        .map(|v| (v, format_tick(10f64.powi(v as i32), 10f64.powi(v as i32))))
                        .collect(),
                )
            } else {
                None
            };
            let legend: Vec<(String, char, usize)> = series
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.name.is_empty())
                .map(|(i, s)| {
                    (
                        s.name.clone(),
                        if s.line {
                            '⠒'
                        } else {
                            SYMBOLS[i % SYMBOLS.len()]
                        },
                        s.color,
                    )
                })
                .collect();
            framed(fig, cols, rows, ansi, xr, yr, x_ticks, &legend, &|c, f| {
                for &v in vlines {
                    let (dx, _) = f.dot(tx(v), yr.0);
                    for dy in (0..4 * f.h as i64).step_by(2) {
                        c.dot(dx, dy, None);
                    }
                }
                for (i, s) in series.iter().enumerate() {
                    draw_series(c, f, s, i, &tx, &ty);
                }
            })
        }
        Plot::Heatmap(h) => render_heatmap(fig, cols, rows, ansi, h),
        Plot::Histogram { values, bins } => {
            let (counts, lo, width) = histogram_counts(values, *bins);
            let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
            let xr = (lo, lo + width * counts.len() as f64);
            framed(
                fig,
                cols,
                rows,
                ansi,
                xr,
                (0.0, top * 1.05),
                None,
                &[],
                &|c, f| {
                    const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
                    for cx in 0..f.w {
                        let xc = f.x0 + (cx as f64 + 0.5) / f.w as f64 * (f.x1 - f.x0);
                        let k = (((xc - lo) / width) as usize).min(counts.len() - 1);
                        let eighths =
                            (counts[k] as f64 / (top * 1.05) * (f.h * 8) as f64).round() as usize;
                        for cy in 0..f.h {
                            let from_bottom = f.h - 1 - cy;
                            let e = eighths.saturating_sub(from_bottom * 8).min(8);
                            c.base[cy * f.w + cx] = BLOCKS[e];
                        }
                    }
                },
            )
        }
        Plot::Images {
            images,
            cols: ncols,
        } => render_images(fig, cols, rows, images, *ncols),
        Plot::Dgs { panels, titles } => render_dgs(fig, cols, rows, ansi, panels, titles),
        Plot::Dg(p) => {
            let dg = &p.dg;
            let x = dg.node_x();
            let xmax = x.iter().copied().fold(0.0, f64::max);
            let er = padded_range((0..dg.n_nodes()).map(|i| dg.energy(i)), 0.08);
            let xr = (-0.5, xmax + 0.5);
            let ticks: Vec<(f64, String)> = dg
                .order
                .iter()
                .map(|&l| (x[l], dg.leaves[l].id.to_string()))
                .collect();
            framed(fig, cols, rows, ansi, xr, er, Some(ticks), &[], &|c, f| {
                for m in &dg.merges {
                    let (lo, hi) = m
                        .children
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &ch| {
                            (a.min(x[ch]), b.max(x[ch]))
                        });
                    c.line(f.dot(lo, m.energy), f.dot(hi, m.energy), None);
                    for &ch in &m.children {
                        c.line(f.dot(x[ch], dg.energy(ch)), f.dot(x[ch], m.energy), None);
                    }
                }
                let stub = (er.1 - er.0) * 0.04;
                for &r in &dg.roots {
                    c.line(
                        f.dot(x[r], dg.energy(r)),
                        f.dot(x[r], dg.energy(r) + stub),
                        None,
                    );
                }
                if p.circles {
                    for (l, leaf) in dg.leaves.iter().enumerate() {
                        let (cx, cy) = f.cell(x[l], leaf.energy);
                        c.put(cx, cy, 'o', Some(3));
                    }
                }
            })
        }
    }
}

/// Trees side by side: each panel rendered as its own DG figure, joined line by line.
fn render_dgs(
    fig: &Figure,
    cols: usize,
    rows: usize,
    ansi: bool,
    panels: &[super::DgPicture],
    titles: &[String],
) -> String {
    let w = (cols / panels.len().max(1)).max(20);
    let blocks: Vec<Vec<String>> = panels
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let mut f = Figure::new(Plot::Dg(Box::new(p.clone())));
            f.title = titles.get(k).cloned().unwrap_or_default();
            f.y_label = fig.y_label.clone();
            render(&f, w, rows, ansi)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .collect();
    let height = blocks.iter().map(|b| b.len()).max().unwrap_or(0);
    let visible = |s: &str| {
        let mut n = 0;
        let mut esc = false;
        for ch in s.chars() {
            if esc {
                esc = ch != 'm';
            } else if ch == '\u{1b}' {
                esc = true;
            } else {
                n += 1;
            }
        }
        n
    };
    let mut out = String::new();
    if !fig.title.is_empty() {
        out.push_str(&format!(
            "{:^width$}\n",
            fig.title,
            width = w * panels.len()
        ));
    }
    for r in 0..height {
        let mut line = String::new();
        for (k, b) in blocks.iter().enumerate() {
            let cell = b.get(r).map(String::as_str).unwrap_or("");
            line.push_str(cell);
            if k + 1 < blocks.len() {
                line.push_str(&" ".repeat(w.saturating_sub(visible(cell))));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn render_heatmap(fig: &Figure, cols: usize, rows: usize, ansi: bool, h: &Heatmap) -> String {
    let (nx, ny) = (h.xs.len(), h.ys.len());
    let xr = (h.xs[0], h.xs[nx - 1]);
    let yr = (h.ys[0], h.ys[ny - 1]);
    let (zlo, zhi) = h.color_range();
    let legend: Vec<(String, char, usize)> = h
        .paths
        .iter()
        .filter(|s| !s.name.is_empty())
        .map(|s| (s.name.clone(), '⠒', s.color))
        .collect();
    // The shading scale takes the last line.
    let mut text = framed(
        fig,
        cols,
        rows.saturating_sub(1).max(4),
        ansi,
        xr,
        yr,
        None,
        &legend,
        &|c, f| {
            let nearest = |v: &[f64], t: f64| -> usize {
                let mut best = 0;
                for (i, &g) in v.iter().enumerate() {
                    if (g - t).abs() < (v[best] - t).abs() {
                        best = i;
                    }
                }
                best
            };
            for cy in 0..f.h {
                for cx in 0..f.w {
                    let xc = f.x0 + (cx as f64 + 0.5) / f.w as f64 * (f.x1 - f.x0);
                    let yc = f.y1 - (cy as f64 + 0.5) / f.h as f64 * (f.y1 - f.y0);
                    let z = h.z[nearest(&h.ys, yc) * nx + nearest(&h.xs, xc)];
                    let t = if z.is_finite() {
                        ((z - zlo) / (zhi - zlo)).clamp(0.0, 1.0)
                    } else {
                        1.0
                    };
                    c.base[cy * f.w + cx] =
                        RAMP[((t * (RAMP.len() - 1) as f64).round() as usize).min(RAMP.len() - 1)];
                }
            }
            for (i, s) in h.paths.iter().enumerate() {
                let mut s = s.clone();
                s.line = true;
                draw_series(c, f, &s, i, &|v| v, &|v| v);
            }
        },
    );
    let short = |v: f64| format!("{}", (v * 1000.0).round() / 1000.0);
    let scale = format!(
        "shades \"{}\" from {} to {}",
        RAMP.iter().collect::<String>(),
        short(zlo),
        short(zhi)
    );
    text.push_str(&scale.chars().take(cols).collect::<String>());
    text.push('\n');
    text
}

fn render_images(fig: &Figure, cols: usize, rows: usize, images: &[Image], ncols: usize) -> String {
    let mut lines = Vec::new();
    if !fig.title.is_empty() {
        lines.push(center(&fig.title, cols));
    }
    let ncols = ncols.max(1);
    let nrows = images.len().div_ceil(ncols);
    let avail_rows = rows.saturating_sub(lines.len()).max(nrows);
    // A character is about twice as tall as wide: tiles are 2*th wide and th high.
    let th = (avail_rows / nrows.max(1)).saturating_sub(1).max(1);
    let tw = ((cols / ncols).saturating_sub(1)).min(2 * th).max(1);
    let th = th.min(tw.div_ceil(2)).max(1);
    for r in 0..nrows {
        for y in 0..th {
            let mut s = String::new();
            for c in 0..ncols {
                let k = r * ncols + c;
                if k >= images.len() {
                    break;
                }
                let img = &images[k];
                for x in 0..tw {
                    let px = ((x as f64 + 0.5) / tw as f64 * img.width as f64) as usize;
                    let py = ((y as f64 + 0.5) / th as f64 * img.height as f64) as usize;
                    let g = img.gray(px.min(img.width - 1), py.min(img.height - 1));
                    s.push(
                        RAMP[((g * (RAMP.len() - 1) as f64).round() as usize).min(RAMP.len() - 1)],
                    );
                }
                s.push(' ');
            }
            lines.push(s.trim_end().to_string());
        }
        lines.push(String::new());
    }
    let mut t = lines.join("\n");
    t.push('\n');
    t
}
