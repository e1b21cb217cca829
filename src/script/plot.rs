//! Script functions: plots (line, scatter, heatmap with paths, energy along paths, alpha sweep,
//! phase diagram, histogram, image grid), disconnectivity graphs, saving (SVG/PNG) and showing
//! pictures in the terminal.

use super::convert::{err, num, opts, to_f64s, to_tensor, IntoScript, Opts, RhaiResult};
use super::landscape::MapValue;
use super::{Api, EnergyValue, TensorValue};
use crate::landscape::dg::{Dg, DgOptions, LeafOrder};
use crate::plot::{
    parse_color, terminal, DgPicture, Figure, Heatmap, Image, LeafMarks, MapImages, Marker, Plot,
    Series, PALETTE,
};
use crate::tensor;
use rhai::{Array, Dynamic, Map};

/// A figure as seen by scripts (script type `Plot`).
#[derive(Clone)]
pub struct PlotValue(pub Figure);

/// A disconnectivity graph as seen by scripts (script type `Dg`).
#[derive(Clone)]
pub struct DgValue(pub Dg);

/// The options every plot takes: `(key, default, doc)`.
pub(super) const COMMON: [(&str, &str, &str); 5] = [
    ("title", "\"\"", "title above the plot"),
    ("xlabel", "depends", "x axis label"),
    ("ylabel", "depends", "y axis label"),
    ("width", "800", "width in pixels (SVG/PNG)"),
    (
        "height",
        "600 (900 for DGs with images)",
        "height in pixels (SVG/PNG)",
    ),
];

/// Reads the options every plot takes.
pub(super) fn common(o: &mut Opts, mut f: Figure) -> RhaiResult<Figure> {
    f.title = o.string("title", &f.title)?;
    f.x_label = o.string("xlabel", &f.x_label)?;
    f.y_label = o.string("ylabel", &f.y_label)?;
    f.width = o.usize("width", f.width as usize)?.clamp(16, 10000) as u32;
    f.height = o.usize("height", f.height as usize)?.clamp(16, 10000) as u32;
    Ok(f)
}

fn with_common(
    extra: &[(&'static str, &'static str, &'static str)],
) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut v = extra.to_vec();
    v.extend_from_slice(&COMMON);
    v
}

/// Rows of numbers from a Tensor `[N, D]`, an array of states (arrays or tensors), or one state.
fn rows_of(v: &Dynamic) -> RhaiResult<Vec<Vec<f64>>> {
    if let Some(t) = v.clone().try_cast::<TensorValue>() {
        return tensor::to_matrix(&t.0).script();
    }
    if let Some(a) = v.read_lock::<Array>() {
        if a.iter().all(|x| x.is_array() || x.is::<TensorValue>()) {
            return a.iter().map(to_f64s).collect();
        }
    }
    Ok(vec![to_f64s(v)?])
}

/// Points `[N, 2]` as xs and ys.
fn points_of(v: &Dynamic) -> RhaiResult<(Vec<f64>, Vec<f64>)> {
    let rows = rows_of(v)?;
    if rows.iter().any(|r| r.len() != 2) {
        return Err(err("points must have shape [N, 2]"));
    }
    Ok((
        rows.iter().map(|r| r[0]).collect(),
        rows.iter().map(|r| r[1]).collect(),
    ))
}

fn strings(v: Option<Dynamic>, what: &str) -> RhaiResult<Vec<String>> {
    match v {
        None => Ok(vec![]),
        Some(v) => {
            let a = v
                .read_lock::<Array>()
                .ok_or_else(|| err(format!("{what} must be an array of strings")))?
                .clone();
            Ok(a.into_iter().map(|s| s.to_string()).collect())
        }
    }
}

fn range_opt(o: &mut Opts, key: &str) -> RhaiResult<Option<(f64, f64)>> {
    match o.value(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => {
            let r = to_f64s(&v)?;
            if r.len() != 2 || !(r[0] < r[1]) || !r[0].is_finite() || !r[1].is_finite() {
                return Err(err(format!(
                    "option `{key}` must be [lo, hi] with finite lo < hi, got {r:?}"
                )));
            }
            Ok(Some((r[0], r[1])))
        }
    }
}

fn shape_opt(o: &mut Opts) -> RhaiResult<Option<Vec<usize>>> {
    match o.value("shape") {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => Ok(Some(
            to_f64s(&v)?
                .into_iter()
                .map(|x| x.max(0.0) as usize)
                .collect(),
        )),
    }
}

fn images_of(
    v: &Dynamic,
    shape: Option<&[usize]>,
    range: Option<(f64, f64)>,
) -> RhaiResult<Vec<Image>> {
    rows_of(v)?
        .iter()
        .map(|r| Image::from_flat(r, shape, range).script())
        .collect()
}

/// A barrier matrix: nested arrays with `()` for unknown, or a Tensor `[n, n]` (NaN or inf unknown).
fn barriers_of(v: &Dynamic) -> RhaiResult<Vec<Vec<Option<f64>>>> {
    if let Some(t) = v.clone().try_cast::<TensorValue>() {
        let m = tensor::to_matrix(&t.0).script()?;
        return Ok(m
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|x| if x.is_finite() { Some(x) } else { None })
                    .collect()
            })
            .collect());
    }
    let a = v
        .read_lock::<Array>()
        .ok_or_else(|| err("barriers must be an n x n array (use () for unknown) or a Tensor"))?
        .clone();
    a.iter()
        .map(|row| {
            let r = row
                .read_lock::<Array>()
                .ok_or_else(|| err("barriers must be an array of rows"))?
                .clone();
            r.iter()
                .map(|x| {
                    if x.is_unit() {
                        Ok(None)
                    } else {
                        let v = num(x).ok_or_else(|| {
                            err(format!(
                                "a barrier must be a number or (), got {}",
                                x.type_name()
                            ))
                        })?;
                        Ok(if v.is_nan() || v == f64::INFINITY {
                            None
                        } else {
                            Some(v)
                        })
                    }
                })
                .collect()
        })
        .collect()
}

fn line_plot(xs: Vec<f64>, ys: Vec<f64>, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "line_plot");
    let mut f = Figure::line(xs, ys, &o.string("label", "")?).script()?;
    let markers = o.bool("markers", false)?;
    let lx = o.bool("log_x", false)?;
    let ly = o.bool("log_y", false)?;
    if let Plot::Xy {
        series,
        log_x,
        log_y,
        ..
    } = &mut f.plot
    {
        *log_x = lx;
        *log_y = ly;
        if markers {
            series[0].marker = Marker::Circle;
        }
    }
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

/// Adds a series to the plot `p` in place (so that `p.add_line(...)` as a statement changes
/// `p`, as in matplotlib) and returns the plot.
fn add_series(
    p: &mut PlotValue,
    xs: Vec<f64>,
    ys: Vec<f64>,
    label: &str,
    line: bool,
) -> RhaiResult<PlotValue> {
    let mut f = p.0.clone();
    match &mut f.plot {
        Plot::Xy { series, .. } => {
            if xs.len() != ys.len() {
                return Err(err(format!(
                    "{} x values but {} y values",
                    xs.len(),
                    ys.len()
                )));
            }
            let color = series.iter().map(|s| s.color + 1).max().unwrap_or(0);
            series.push(if line {
                Series::line(label, xs, ys, color)
            } else {
                Series::points(label, xs, ys, color)
            });
            p.0 = f;
            Ok(p.clone())
        }
        _ => Err(err(
            "add_line/add_points work on line, scatter, path energy, alpha sweep and phase plots",
        )),
    }
}

fn scatter(points: &Dynamic, labels: Option<&Dynamic>, map: Map) -> RhaiResult<PlotValue> {
    let (xs, ys) = points_of(points)?;
    let labels: Option<Vec<i64>> = match labels {
        None => None,
        Some(l) => Some(to_f64s(l)?.into_iter().map(|x| x.round() as i64).collect()),
    };
    let mut o = opts(map, "scatter");
    let f = Figure::scatter(xs, ys, labels.as_deref()).script()?;
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn paths_of(v: Option<Dynamic>, labels: &[String]) -> RhaiResult<Vec<Series>> {
    let Some(v) = v else { return Ok(vec![]) };
    let a = v
        .read_lock::<Array>()
        .ok_or_else(|| err("paths must be an array of [K, 2] paths"))?
        .clone();
    a.iter()
        .enumerate()
        .map(|(k, p)| {
            let (xs, ys) = points_of(p)?;
            let name = labels
                .get(k)
                .cloned()
                .unwrap_or_else(|| format!("path {}", k + 1));
            let mut s = Series::line(&name, xs, ys, k);
            s.marker = Marker::Circle;
            Ok(s)
        })
        .collect()
}

fn heatmap(u: EnergyValue, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "heatmap");
    let xlim = range_opt(&mut o, "xlim")?.unwrap_or((-2.0, 2.0));
    let ylim = range_opt(&mut o, "ylim")?.unwrap_or((-2.0, 2.0));
    let n = o.usize("n", 100)?;
    if !(2..=1000).contains(&n) {
        return Err(err("heatmap: n must be between 2 and 1000"));
    }
    let levels = o.usize("levels", 12)?;
    let zmin = o.f64_opt("zmin")?;
    let zmax = o.f64_opt("zmax")?;
    let labels = strings(o.value("labels"), "labels")?;
    let paths = paths_of(o.value("paths"), &labels)?;
    if let Some(d) = u.0.dim() {
        if d != 2 {
            return Err(err(format!(
                "heatmap needs a 2-D energy; {} has dimension {d}",
                u.0.name()
            )));
        }
    }
    let grid = |lo: f64, hi: f64| -> Vec<f64> {
        (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect()
    };
    let (xs, ys) = (grid(xlim.0, xlim.1), grid(ylim.0, ylim.1));
    let mut pts = Vec::with_capacity(2 * n * n);
    for &y in &ys {
        for &x in &xs {
            pts.push(x);
            pts.push(y);
        }
    }
    let x = tensor::from_vec(&pts, &[(n * n) as i64, 2]).script()?;
    let z = crate::energy::energies_f64(&*u.0, &x).script()?;
    let h = Heatmap {
        xs,
        ys,
        z,
        zrange: None,
        levels,
        paths,
    };
    let (lo, hi) = h.color_range();
    let zrange = match (zmin, zmax) {
        (None, None) => None,
        (a, b) => Some((a.unwrap_or(lo), b.unwrap_or(hi))),
    };
    if let Some((a, b)) = zrange {
        if a >= b {
            return Err(err("heatmap: zmin must be below zmax"));
        }
    }
    let f = Figure::heatmap(Heatmap { zrange, ..h })
        .script()?
        .with_title(&u.0.name());
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn path_energy(
    energies: Vec<Vec<f64>>,
    paths: Option<&[Vec<Vec<f64>>]>,
    map: Map,
) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "path_energy_plot");
    let labels = strings(o.value("labels"), "labels")?;
    let xmode = o.string("x", "fraction")?;
    // Cumulative Euclidean length along each path.
    let arc = |rows: &Vec<Vec<f64>>| -> Vec<f64> {
        let mut acc = 0.0;
        let mut out = vec![0.0];
        for w in rows.windows(2) {
            acc += tensor::distance(&w[0], &w[1]);
            out.push(acc);
        }
        out.truncate(rows.len());
        out
    };
    let xs: Option<Vec<Vec<f64>>> = match xmode.as_str() {
        // With the paths known: the fraction of each path's length; otherwise of its points.
        "fraction" => paths.map(|p| {
            p.iter()
                .map(|rows| {
                    let s = arc(rows);
                    let total = s.last().copied().unwrap_or(0.0);
                    if total > 0.0 {
                        s.iter().map(|v| v / total).collect()
                    } else {
                        (0..rows.len())
                            .map(|i| i as f64 / (rows.len().max(2) - 1) as f64)
                            .collect()
                    }
                })
                .collect()
        }),
        "index" => Some(
            energies
                .iter()
                .map(|e| (0..e.len()).map(|i| i as f64).collect())
                .collect(),
        ),
        "distance" => {
            let p = paths.ok_or_else(|| err("path_energy_plot: x: \"distance\" needs the paths (call it with an energy and paths)"))?;
            Some(p.iter().map(arc).collect())
        }
        other => {
            return Err(err(format!(
            "path_energy_plot: x must be \"fraction\", \"index\" or \"distance\", got \"{other}\""
        )))
        }
    };
    let mut f = Figure::path_energy(energies, &labels, xs).script()?;
    if xmode != "fraction" {
        f.x_label = if xmode == "index" {
            "image index".into()
        } else {
            "distance along path".into()
        };
    }
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn path_energy_u(u: EnergyValue, paths: Array, map: Map) -> RhaiResult<PlotValue> {
    let mut energies = Vec::new();
    let mut states = Vec::new();
    for p in &paths {
        let t = to_tensor(p)?;
        energies.push(crate::energy::energies_f64(&*u.0, &t).script()?);
        states.push(tensor::to_matrix(&t).script()?);
    }
    path_energy(energies, Some(&states), map)
}

fn alpha_sweep(alphas: &Dynamic, counts: &Dynamic, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "alpha_sweep_plot");
    let chosen = o.f64_opt("chosen")?;
    let f = Figure::alpha_sweep(to_f64s(alphas)?, to_f64s(counts)?, chosen).script()?;
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn phase(temps: &Dynamic, pairs: Array, map: Map) -> RhaiResult<PlotValue> {
    let temps = to_f64s(temps)?;
    let mut rows = Vec::new();
    for (k, p) in pairs.iter().enumerate() {
        let m = p
            .read_lock::<Map>()
            .ok_or_else(|| err("phase_plot: each pair must be a map #{label, forward, backward}"))?
            .clone();
        let mut po = opts(m, "phase_plot pair");
        let label = po.string("label", &format!("pair {}", k + 1))?;
        let fwd = po
            .value("forward")
            .ok_or_else(|| err("phase_plot: a pair needs `forward`"))?;
        let bwd = po
            .value("backward")
            .ok_or_else(|| err("phase_plot: a pair needs `backward`"))?;
        po.finish()?;
        rows.push((label, to_f64s(&fwd)?, to_f64s(&bwd)?));
    }
    let mut o = opts(map, "phase_plot");
    let f = Figure::phase(temps, rows).script()?;
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn histogram(xs: &Dynamic, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "histogram");
    let bins = o.usize("bins", 20)?;
    let f = Figure::histogram(to_f64s(xs)?, bins).script()?;
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn image_grid(images: &Dynamic, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "image_grid");
    let shape = shape_opt(&mut o)?;
    let range = range_opt(&mut o, "range")?;
    let cols = o.usize("cols", 0)?;
    let f = Figure::images(images_of(images, shape.as_deref(), range)?, cols).script()?;
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

/// Reads the DG construction options (order, max_leaves, max_energy).
fn dg_options(o: &mut Opts) -> RhaiResult<DgOptions> {
    let order = LeafOrder::parse(&o.string("order", "energy")?).script()?;
    let max_leaves = if o.has("max_leaves") {
        Some(o.usize("max_leaves", 0)?)
    } else {
        None
    };
    let max_energy = o.f64_opt("max_energy")?;
    Ok(DgOptions {
        order,
        max_leaves,
        max_energy,
    })
}

fn map_dg(m: &MapValue, map: Map) -> RhaiResult<DgValue> {
    let mut o = opts(map, "dg");
    let dgo = dg_options(&mut o)?;
    o.finish()?;
    warn_if_forest(&m.0, "dg");
    Dg::from_map(&m.0, &dgo).map(DgValue).script()
}

/// Says so on stderr when a map's groups are not all connected by barriers (an interrupted
/// run, a run with `complete: false`, or a map file from before completion existed): its DG
/// is then a forest.
fn warn_if_forest(m: &crate::landscape::map::LandscapeMap, what: &str) {
    let parts = m.component_count();
    if parts > 1 {
        eprintln!(
            "{what}: warning: the map's {} groups fall into {} parts that no barrier joins, so the graph is a forest; m.connect(U) joins them (greedy or line bounds, then a short AD refinement), m.barrier_matrix(U) refines every pair",
            m.groups.len(),
            parts
        );
    }
}

/// True when a state of length `n` can be shown as a square image without a shape.
fn looks_like_image(n: usize) -> bool {
    let square = |k: usize| {
        let r = (k as f64).sqrt().round() as usize;
        r * r == k && k >= 16
    };
    square(n) || (n.is_multiple_of(3) && square(n / 3))
}

/// True for maps of spin energies (`sk`, `ising`) or whose representatives are all ±1: their
/// states are configurations, not pictures, so DG plots draw no images unless asked.
fn spin_map(m: &crate::landscape::map::LandscapeMap) -> bool {
    let named = matches!(
        m.energy.get("name").and_then(|v| v.as_str()),
        Some("sk" | "ising")
    );
    let pm1 = !m.groups.is_empty()
        && m.groups
            .iter()
            .all(|g| g.state.iter().all(|&v| v == 1.0 || v == -1.0));
    named || pm1
}

/// Reads `marks`: an array of #{groups: [ids], color, label} (Figure 12's dots).
fn marks_opt(o: &mut Opts, what: &str) -> RhaiResult<Vec<LeafMarks>> {
    let Some(v) = o.value("marks") else {
        return Ok(vec![]);
    };
    let a = v
        .read_lock::<Array>()
        .ok_or_else(|| {
            err(format!(
                "{what}: marks must be an array of #{{groups, color, label}}"
            ))
        })?
        .clone();
    let mut out = Vec::new();
    for (k, m) in a.iter().enumerate() {
        let mm = m
            .read_lock::<Map>()
            .ok_or_else(|| {
                err(format!(
                    "{what}: each mark must be a map #{{groups, color, label}}"
                ))
            })?
            .clone();
        let mut mo = opts(mm, &format!("{what} mark"));
        let groups = match mo.value("groups") {
            None => return Err(err(format!("{what}: a mark needs `groups` (group ids)"))),
            Some(g) => to_f64s(&g)?
                .into_iter()
                .map(|x| {
                    if x >= 0.0 && x.fract() == 0.0 {
                        Ok(x as usize)
                    } else {
                        Err(err(format!(
                            "{what}: mark groups must be group ids (integers >= 0), got {x}"
                        )))
                    }
                })
                .collect::<RhaiResult<Vec<usize>>>()?,
        };
        let color = match mo.value("color") {
            None => PALETTE[k % PALETTE.len()],
            Some(c) => parse_color(&c.to_string()).script()?,
        };
        let label = mo.string("label", "")?;
        mo.finish()?;
        out.push(LeafMarks {
            groups,
            color,
            label,
        });
    }
    Ok(out)
}

fn map_dg_plot(m: &MapValue, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "dg_plot");
    let dgo = dg_options(&mut o)?;
    let shape = shape_opt(&mut o)?;
    let range = range_opt(&mut o, "range")?;
    let dim = m.0.groups.first().map(|g| g.state.len()).unwrap_or(0);
    let images = o.bool(
        "images",
        shape.is_some() || (looks_like_image(dim) && !spin_map(&m.0)),
    )?;
    let marks = marks_opt(&mut o, "dg_plot")?;
    let max_members = o.usize("max_members", 5)?;
    let seed = match o.value("seed") {
        None => tensor::next_seed(),
        Some(v) => v
            .as_int()
            .map_err(|_| err("dg_plot: seed must be an integer"))? as u64,
    };
    let circles = o.bool("circles", true)?;
    let labels = o.bool("labels", true)?;
    warn_if_forest(&m.0, "dg_plot");
    let dg = Dg::from_map(&m.0, &dgo).script()?;
    let pic = if images {
        DgPicture::from_map(
            dg,
            &m.0,
            &MapImages {
                shape,
                range,
                max_members,
                seed,
            },
        )
        .script()?
    } else {
        DgPicture::new(dg)
    };
    let f = Figure::dg(DgPicture {
        circles,
        labels,
        marks,
        ..pic
    })
    .script()?
    .with_title("disconnectivity graph");
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn build_dg(
    energies: &Dynamic,
    barriers: &Dynamic,
    members: Option<&Dynamic>,
    map: Map,
) -> RhaiResult<DgValue> {
    let e = to_f64s(energies)?;
    let b = barriers_of(barriers)?;
    let m: Vec<usize> = match members {
        None => vec![],
        Some(m) => to_f64s(m)?
            .into_iter()
            .map(|x| x.max(0.0).round() as usize)
            .collect(),
    };
    let mut o = opts(map, "dg");
    let dgo = dg_options(&mut o)?;
    o.finish()?;
    Dg::build_with(&e, &b, &m, &dgo).map(DgValue).script()
}

fn dg_plot(d: &DgValue, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "Dg.plot");
    let shape = shape_opt(&mut o)?;
    let range = range_opt(&mut o, "range")?;
    let circles = o.bool("circles", true)?;
    let labels = o.bool("labels", true)?;
    let max_members = o.usize("max_members", 5)?;
    let reps = match o.value("images") {
        None => None,
        Some(v) => Some(images_of(&v, shape.as_deref(), range)?),
    };
    let energies: Option<Array> = match o.value("member_energies") {
        None => None,
        Some(e) => Some(
            e.read_lock::<Array>()
                .ok_or_else(|| err("Dg.plot: member_energies must be an array of lists"))?
                .clone(),
        ),
    };
    let members = match o.value("members") {
        None => None,
        Some(v) => {
            let a = v
                .read_lock::<Array>()
                .ok_or_else(|| {
                    err("Dg.plot: members must be an array with one [M, D] batch per group")
                })?
                .clone();
            let mut out = Vec::new();
            for (k, g) in a.iter().enumerate() {
                let rows = if g.is_array()
                    && g.read_lock::<Array>()
                        .map(|x| x.is_empty())
                        .unwrap_or(false)
                {
                    vec![]
                } else {
                    rows_of(g)?
                };
                let mut idx: Vec<usize> = (0..rows.len()).collect();
                if let Some(es) = &energies {
                    let e = to_f64s(es.get(k).ok_or_else(|| {
                        err("Dg.plot: member_energies must have one list per group")
                    })?)?;
                    if e.len() != rows.len() {
                        return Err(err(format!(
                            "Dg.plot: group {k} has {} member images but {} energies",
                            rows.len(),
                            e.len()
                        )));
                    }
                    idx.sort_by(|&i, &j| e[i].total_cmp(&e[j]));
                }
                idx.truncate(max_members);
                out.push(
                    idx.iter()
                        .map(|&i| Image::from_flat(&rows[i], shape.as_deref(), range))
                        .collect::<crate::Result<Vec<_>>>()
                        .script()?,
                );
            }
            Some(out)
        }
    };
    let marks = marks_opt(&mut o, "Dg.plot")?;
    let pic = DgPicture {
        circles,
        labels,
        marks,
        ..DgPicture::new(d.0.clone())
    }
    .with_group_images(reps, members)
    .script()?;
    let f = Figure::dg(pic)
        .script()?
        .with_title("disconnectivity graph");
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn describe_plot(p: &PlotValue) -> String {
    let kind = match &p.0.plot {
        Plot::Xy { series, .. } => format!("{} series", series.len()),
        Plot::Heatmap(h) => format!("heatmap {}x{}", h.xs.len(), h.ys.len()),
        Plot::Histogram { values, bins } => {
            format!("histogram of {} values, {bins} bins", values.len())
        }
        Plot::Images { images, .. } => format!("{} images", images.len()),
        Plot::Dg(d) => format!("disconnectivity graph, {} leaves", d.dg.leaves.len()),
        Plot::Dgs { panels, .. } => format!("{} disconnectivity graphs", panels.len()),
    };
    if p.0.title.is_empty() {
        format!("Plot({kind})")
    } else {
        format!("Plot(\"{}\", {kind})", p.0.title)
    }
}

fn describe_dg(d: &DgValue) -> String {
    format!(
        "Dg({} leaves, {} merges, {} tree{})",
        d.0.leaves.len(),
        d.0.merges.len(),
        d.0.roots.len(),
        if d.0.roots.len() == 1 { "" } else { "s" }
    )
}

const MARKS_DOC: (&str, &str, &str) = (
    "marks",
    "none",
    "dots at chosen leaves: [#{groups: [ids], color: \"blue\" or \"#rrggbb\" (default: palette), label: \"...\" (legend entry)}, ...] (Figure 12's blue and orange dots)",
);

/// Registers the plot functions.
pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<PlotValue>("Plot");
    api.engine.register_type_with_name::<DgValue>("Dg");
    api.engine
        .register_fn("to_string", |p: &mut PlotValue| describe_plot(p));
    api.engine
        .register_fn("to_debug", |p: &mut PlotValue| describe_plot(p));
    api.engine
        .register_fn("to_string", |d: &mut DgValue| describe_dg(d));
    api.engine
        .register_fn("to_debug", |d: &mut DgValue| describe_dg(d));

    // ---- line plots
    const LINE_DOC: &str = "A line plot of ys against xs (or against 0, 1, 2, ... when only ys are given).\n\
        Returns a Plot: save it with p.save(\"x.svg\") or p.save(\"x.png\"), show it with p.show(), add series with p.add_line(...).";
    api.func(
        "line_plot",
        "line_plot(ys) -> Plot",
        LINE_DOC,
        |ys: Dynamic| -> RhaiResult<PlotValue> {
            let ys = to_f64s(&ys)?;
            line_plot((0..ys.len()).map(|i| i as f64).collect(), ys, Map::new())
        },
    );
    api.func(
        "line_plot",
        "line_plot(xs, ys) -> Plot",
        LINE_DOC,
        |xs: Dynamic, ys: Dynamic| line_plot(to_f64s(&xs)?, to_f64s(&ys)?, Map::new()),
    );
    api.func(
        "line_plot",
        "line_plot(xs, ys, opts: map) -> Plot",
        LINE_DOC,
        |xs: Dynamic, ys: Dynamic, m: Map| line_plot(to_f64s(&xs)?, to_f64s(&ys)?, m),
    );
    api.options(
        "line_plot",
        &with_common(&[
            ("label", "\"\"", "legend entry of the series"),
            ("markers", "false", "draw a dot at each point"),
            ("log_x", "false", "logarithmic x axis"),
            ("log_y", "false", "logarithmic y axis"),
        ]),
    );
    api.example("line_plot", "let p = line_plot([0, 1, 2, 3], [0, 1, 4, 9], #{label: \"x^2\", title: \"squares\"});\np.save(\"squares.svg\");");

    api.method(
        "Plot",
        "add_line",
        "p.add_line(xs, ys, label: string) -> Plot",
        "Adds a line series (next palette color) to an x-y plot, in place, and returns the plot: `p.add_line(...)` as a statement changes p.",
        |p: &mut PlotValue, xs: Dynamic, ys: Dynamic, label: &str| {
            add_series(p, to_f64s(&xs)?, to_f64s(&ys)?, label, true)
        },
    );
    api.method(
        "Plot",
        "add_points",
        "p.add_points(xs, ys, label: string) -> Plot",
        "Adds a point series (next palette color) to an x-y plot, in place, and returns the plot: `p.add_points(...)` as a statement changes p.",
        |p: &mut PlotValue, xs: Dynamic, ys: Dynamic, label: &str| {
            add_series(p, to_f64s(&xs)?, to_f64s(&ys)?, label, false)
        },
    );

    // ---- scatter
    const SCATTER_DOC: &str = "A scatter plot of points [N, 2] (Tensor or array of pairs), colored by integer labels with a legend.\n\
        E.g. latent vectors (first two coordinates) colored by the basin they were sorted into.";
    api.func(
        "scatter",
        "scatter(points) -> Plot",
        SCATTER_DOC,
        |p: Dynamic| scatter(&p, None, Map::new()),
    );
    api.func(
        "scatter",
        "scatter(points, labels) -> Plot",
        SCATTER_DOC,
        |p: Dynamic, l: Dynamic| scatter(&p, Some(&l), Map::new()),
    );
    api.func(
        "scatter",
        "scatter(points, labels, opts: map) -> Plot",
        SCATTER_DOC,
        |p: Dynamic, l: Dynamic, m: Map| scatter(&p, Some(&l), m),
    );
    api.options("scatter", &COMMON);
    api.example(
        "scatter",
        "let p = scatter([[0, 0], [1, 1], [0, 1]], [0, 1, 1], #{title: \"basins\"});",
    );

    // ---- heatmap
    const HEAT_DOC: &str = "A heatmap with contour lines of a 2-D energy, evaluated on an n x n grid in one batched call, with paths drawn over it.\n\
        Paths are [K, 2] Tensors or arrays (e.g. an AD path, a 1-D line and a NEB band). The color scale runs from the minimum to the 90th percentile unless zmin/zmax are given.";
    api.func(
        "heatmap",
        "heatmap(U: Energy) -> Plot",
        HEAT_DOC,
        |u: EnergyValue| heatmap(u, Map::new()),
    );
    api.func(
        "heatmap",
        "heatmap(U: Energy, opts: map) -> Plot",
        HEAT_DOC,
        heatmap,
    );
    api.options(
        "heatmap",
        &with_common(&[
            ("xlim", "[-2, 2]", "x range of the grid"),
            ("ylim", "[-2, 2]", "y range of the grid"),
            ("n", "100", "grid points per axis (2..1000)"),
            ("levels", "12", "number of contour lines (0 for none)"),
            (
                "zmin",
                "minimum",
                "energy at the low end of the color scale",
            ),
            (
                "zmax",
                "90th percentile",
                "energy at the high end of the color scale (higher values saturate)",
            ),
            ("paths", "[]", "array of paths [K, 2] to draw over the map"),
            ("labels", "\"path 1\", ...", "legend names of the paths"),
        ]),
    );
    api.example("heatmap", "let U = muller_brown();\nlet p = heatmap(U, #{xlim: [-1.5, 1.2], ylim: [-0.5, 2.0], zmax: 50, paths: [[[-0.56, 1.44], [0.62, 0.03]]], labels: [\"line\"]});\np.save(\"mb.png\");");

    // ---- energy along paths
    const PATH_DOC: &str = "Energy along one or more paths in one plot (AD path, 1-D interpolation, NEB...).\n\
        With an energy, each path is a [K, D] Tensor or array of states and its energies are computed; without, give the energy lists directly.";
    api.func(
        "path_energy_plot",
        "path_energy_plot(energies: array) -> Plot",
        PATH_DOC,
        |e: Array| -> RhaiResult<PlotValue> {
            path_energy(
                e.iter().map(to_f64s).collect::<RhaiResult<_>>()?,
                None,
                Map::new(),
            )
        },
    );
    api.func(
        "path_energy_plot",
        "path_energy_plot(energies: array, opts: map) -> Plot",
        PATH_DOC,
        |e: Array, m: Map| -> RhaiResult<PlotValue> {
            path_energy(e.iter().map(to_f64s).collect::<RhaiResult<_>>()?, None, m)
        },
    );
    api.func(
        "path_energy_plot",
        "path_energy_plot(U: Energy, paths: array) -> Plot",
        PATH_DOC,
        |u: EnergyValue, p: Array| path_energy_u(u, p, Map::new()),
    );
    api.func(
        "path_energy_plot",
        "path_energy_plot(U: Energy, paths: array, opts: map) -> Plot",
        PATH_DOC,
        path_energy_u,
    );
    api.options(
        "path_energy_plot",
        &with_common(&[
            ("labels", "\"path 1\", ...", "legend names of the paths"),
            ("x", "\"fraction\"", "x axis: \"fraction\" (0..1 along each path: of its length when called with U and paths, of its points otherwise), \"index\" (image number) or \"distance\" (cumulative Euclidean length; needs U and paths)"),
        ]),
    );
    api.example(
        "path_energy_plot",
        "let p = path_energy_plot([[0, 3, 1], [0, 2, 2, 1]], #{labels: [\"AD\", \"1-D\"]});",
    );

    // ---- alpha sweep
    const SWEEP_DOC: &str = "Number of basins found against the magnetization alpha on a log x axis (the paper's Figure 13), with an optional vertical line at the chosen alpha.";
    api.func(
        "alpha_sweep_plot",
        "alpha_sweep_plot(alphas, counts) -> Plot",
        SWEEP_DOC,
        |a: Dynamic, c: Dynamic| alpha_sweep(&a, &c, Map::new()),
    );
    api.func(
        "alpha_sweep_plot",
        "alpha_sweep_plot(alphas, counts, opts: map) -> Plot",
        SWEEP_DOC,
        |a: Dynamic, c: Dynamic, m: Map| alpha_sweep(&a, &c, m),
    );
    api.options(
        "alpha_sweep_plot",
        &with_common(&[(
            "chosen",
            "none",
            "alpha to mark with a dotted vertical line",
        )]),
    );
    api.example(
        "alpha_sweep_plot",
        "let p = alpha_sweep_plot([0.1, 0.3, 1, 3, 10], [40, 25, 6, 2, 1], #{chosen: 1.35});",
    );

    // ---- phase diagram
    const PHASE_DOC: &str = "Phase diagram: the metastable alpha threshold against temperature for pairs of minima (the paper's Figure 10).\n\
        Each pair is a map #{label, forward, backward} with one threshold per temperature in each direction; forward is drawn solid with circles, backward dashed with triangles, in the pair's color.";
    api.func(
        "phase_plot",
        "phase_plot(temps, pairs: array) -> Plot",
        PHASE_DOC,
        |t: Dynamic, p: Array| phase(&t, p, Map::new()),
    );
    api.func(
        "phase_plot",
        "phase_plot(temps, pairs: array, opts: map) -> Plot",
        PHASE_DOC,
        |t: Dynamic, p: Array, m: Map| phase(&t, p, m),
    );
    api.options("phase_plot", &COMMON);
    api.example("phase_plot", "let p = phase_plot([0.1, 0.5, 1.0], [#{label: \"A-B\", forward: [1.2, 1.1, 0.9], backward: [1.5, 1.3, 1.0]}]);");

    // ---- histogram
    const HIST_DOC: &str =
        "A histogram of values (array or Tensor) with equal-width bins over their range.";
    api.func(
        "histogram",
        "histogram(xs) -> Plot",
        HIST_DOC,
        |x: Dynamic| histogram(&x, Map::new()),
    );
    api.func(
        "histogram",
        "histogram(xs, opts: map) -> Plot",
        HIST_DOC,
        |x: Dynamic, m: Map| histogram(&x, m),
    );
    api.options(
        "histogram",
        &with_common(&[("bins", "20", "number of bins")]),
    );
    api.example(
        "histogram",
        "let p = histogram(randn([1000]), #{bins: 30});",
    );

    // ---- image grid
    const IMG_DOC: &str = "A grid of images from states: a Tensor [N, D] or an array of states.\n\
        A state whose length is a perfect square is a square grayscale image, three times a square a square RGB image (channels first); otherwise give `shape`.";
    api.func(
        "image_grid",
        "image_grid(images) -> Plot",
        IMG_DOC,
        |x: Dynamic| image_grid(&x, Map::new()),
    );
    api.func(
        "image_grid",
        "image_grid(images, opts: map) -> Plot",
        IMG_DOC,
        |x: Dynamic, m: Map| image_grid(&x, m),
    );
    let img_opts = [
        (
            "shape",
            "square",
            "image shape: [h, w] (gray), [3, h, w] (RGB, channels first) or [h, w, 3]",
        ),
        (
            "range",
            "each image's min..max",
            "[lo, hi] values mapped to black and white",
        ),
    ];
    let mut grid_opts = img_opts.to_vec();
    grid_opts.push(("cols", "about sqrt(N)", "images per row"));
    api.options("image_grid", &with_common(&grid_opts));
    api.example(
        "image_grid",
        "let p = image_grid(rand([16, 784]), #{cols: 8});",
    );

    // ---- Plot methods
    api.method(
        "Plot",
        "save",
        "p.save(path: string)",
        "Writes the picture: SVG or PNG chosen by the file extension.",
        |p: &mut PlotValue, path: &str| p.0.save(path).script(),
    );
    api.method("Plot", "show", "p.show()", "Shows the picture: inline (kitty, iTerm2, WezTerm) when the terminal supports it, else as Unicode text; when stdout is not a terminal, writes a PNG to the temp directory and prints its path.\n\
        Set TELESCOPE_PLOT=text|kitty|iterm|file to override detection.", |p: &mut PlotValue| -> RhaiResult<()> {
        terminal::show(&p.0, None).script().map(|_| ())
    });
    api.method("Plot", "show", "p.show(dir: string) -> string", "Like p.show(), but a file written because stdout is not a terminal goes to dir; returns its path (\"\" when shown inline).", |p: &mut PlotValue, dir: &str| -> RhaiResult<String> {
        Ok(terminal::show(&p.0, Some(std::path::Path::new(dir))).script()?.map(|p| p.display().to_string()).unwrap_or_default())
    });
    api.method(
        "Plot",
        "text",
        "p.text() -> string",
        "The Unicode text rendering (80 x 24 characters, no colors).",
        |p: &mut PlotValue| p.0.to_text(80, 24, false),
    );
    api.method(
        "Plot",
        "text",
        "p.text(cols: int, rows: int) -> string",
        "The Unicode text rendering with the given size in characters (no colors).",
        |p: &mut PlotValue, c: i64, r: i64| {
            p.0.to_text(c.clamp(20, 1000) as usize, r.clamp(8, 500) as usize, false)
        },
    );
    api.method(
        "Plot",
        "title",
        "p.title(text: string) -> Plot",
        "A copy with a new title.",
        |p: &mut PlotValue, t: &str| PlotValue(p.0.clone().with_title(t)),
    );
    api.method(
        "Plot",
        "xlabel",
        "p.xlabel(text: string) -> Plot",
        "A copy with a new x axis label.",
        |p: &mut PlotValue, t: &str| {
            let mut f = p.0.clone();
            f.x_label = t.to_string();
            PlotValue(f)
        },
    );
    api.method(
        "Plot",
        "ylabel",
        "p.ylabel(text: string) -> Plot",
        "A copy with a new y axis label.",
        |p: &mut PlotValue, t: &str| {
            let mut f = p.0.clone();
            f.y_label = t.to_string();
            PlotValue(f)
        },
    );
    api.method(
        "Plot",
        "size",
        "p.size(width: int, height: int) -> Plot",
        "A copy with a new size in pixels (16..10000).",
        |p: &mut PlotValue, w: i64, h: i64| {
            let mut f = p.0.clone();
            f.width = w.clamp(16, 10000) as u32;
            f.height = h.clamp(16, 10000) as u32;
            PlotValue(f)
        },
    );
    api.method(
        "Plot",
        "to_svg",
        "p.to_svg() -> string",
        "The picture as SVG text.",
        |p: &mut PlotValue| p.0.to_svg().script(),
    );

    // ---- disconnectivity graphs
    const DG_DOC: &str = "A disconnectivity graph by single linkage over a barrier matrix.\n\
        energies: one per minimum; barriers: n x n (arrays with () for unknown, or a Tensor with inf/NaN for unknown; asymmetric matrices use the lower direction); members: basin sizes (circle areas, default 1).\n\
        Leaves sit at the minima; a merge sits at the lowest barrier joining two groups, raised to the energies of both sides so the tree stays monotone; equal-energy merges share one node. Groups never joined are separate trees.";
    api.func(
        "dg",
        "dg(energies, barriers) -> Dg",
        DG_DOC,
        |e: Dynamic, b: Dynamic| build_dg(&e, &b, None, Map::new()),
    );
    api.func(
        "dg",
        "dg(energies, barriers, members) -> Dg",
        DG_DOC,
        |e: Dynamic, b: Dynamic, m: Dynamic| build_dg(&e, &b, Some(&m), Map::new()),
    );
    api.func(
        "dg",
        "dg(energies, barriers, members, opts: map) -> Dg",
        DG_DOC,
        |e: Dynamic, b: Dynamic, m: Dynamic, o: Map| {
            let m = if m.is_unit() { None } else { Some(m) };
            build_dg(&e, &b, m.as_ref(), o)
        },
    );
    api.options(
        "dg",
        &[
            ("order", "\"energy\"", "leaf order: \"energy\" (global minimum leftmost, children by lowest leaf) or \"center\" (global minimum centered)"),
            ("max_leaves", "all", "keep only the lowest N minima (merge energies come from the full tree)"),
            ("max_energy", "none", "keep only minima at or below this energy"),
        ],
    );
    api.example("dg", "let d = dg([0.0, 1.0, 2.0], [[(), 3, 6], [3, (), 5], [6, 5, ()]], [10, 5, 1]);\nd.plot().save(\"dg.svg\");\nd.save(\"dg.json\");");
    api.func("dg", "dg(m: Map) -> Dg", "The disconnectivity graph of an ADELM map: its groups are the leaves (group energies, member counts, barrier matrix).", |m: MapValue| map_dg(&m, Map::new()));
    api.func("dg", "dg(m: Map, opts: map) -> Dg", "The disconnectivity graph of an ADELM map with options (order, max_leaves, max_energy, as for dg(energies, barriers)).", |m: MapValue, o: Map| map_dg(&m, o));
    const DG_PLOT_DOC: &str = "The DG picture of an ADELM map in one call: tree, circles sized by member count, group labels, and for image landscapes each group's representative under its leaf with randomly chosen members (sorted low to high energy) above it.";
    api.func(
        "dg_plot",
        "dg_plot(m: Map) -> Plot",
        DG_PLOT_DOC,
        |m: MapValue| map_dg_plot(&m, Map::new()),
    );
    api.func(
        "dg_plot",
        "dg_plot(m: Map, opts: map) -> Plot",
        DG_PLOT_DOC,
        |m: MapValue, o: Map| map_dg_plot(&m, o),
    );
    api.options(
        "dg_plot",
        &with_common(&[
            ("order", "\"energy\"", "leaf order: \"energy\" or \"center\""),
            ("max_leaves", "all", "keep only the lowest N groups"),
            ("max_energy", "none", "keep only groups at or below this energy"),
            ("images", "true for image-like states", "draw representatives and members as images (automatic when the state length is a square >= 16, or 3 x one, or a shape is given; never automatic for spin maps: energy sk or ising, or ±1 states)"),
            ("max_members", "5", "member images per group"),
            ("seed", "session", "seed of the random choice of members"),
            ("shape", "square", "image shape: [h, w], [3, h, w] or [h, w, 3]"),
            ("range", "each image's min..max", "[lo, hi] values mapped to black and white"),
            ("circles", "true", "circles around leaves, area proportional to the member count (none when every leaf holds one minimum)"),
            ("labels", "true", "group ids under the leaves (thinned where leaves are too close for every label)"),
            MARKS_DOC,
        ]),
    );
    api.example(
        "dg_plot",
        "let m = adelm(U, #{iterations: 50});\nlet p = dg_plot(m);\np.show();\np.save(\"dg.png\");",
    );
    api.func(
        "load_dg",
        "load_dg(path: string) -> Dg",
        "Reads a disconnectivity graph saved with d.save(path).",
        |path: &str| Dg::load(path).map(DgValue).script(),
    );

    api.method("Dg", "plot", "d.plot() -> Plot", "The DG picture: tree, energy axis, circles sized by member count, leaf labels (group ids).", |d: &mut DgValue| dg_plot(d, Map::new()));
    api.method("Dg", "plot", "d.plot(opts: map) -> Plot", "The DG picture with options; for image landscapes, representatives in a row under the tree and member images above each (lowest energy nearest the representative).", |d: &mut DgValue, m: Map| dg_plot(d, m));
    let mut dgo = vec![
        ("circles", "true", "circles around leaves, area proportional to the member count (none when every leaf holds one minimum)"),
        ("labels", "true", "group ids under the leaves (thinned where leaves are too close for every label)"),
        MARKS_DOC,
        ("images", "none", "representative states, one per group (Tensor [n, D] or array), drawn as images under the tree"),
        ("members", "none", "per group, a batch of member states [M, D] drawn above its representative"),
        ("member_energies", "none", "per group, energies of the member states: sorts them low to high"),
        ("max_members", "5", "member images drawn per group"),
    ];
    dgo.extend_from_slice(&img_opts);
    api.options("Dg.plot", &with_common(&dgo));
    api.method(
        "Dg",
        "save",
        "d.save(path: string)",
        "Writes the tree as JSON (leaves, merges, roots, order).",
        |d: &mut DgValue, path: &str| d.0.save(path).script(),
    );
    api.method(
        "Dg",
        "to_json",
        "d.to_json() -> string",
        "The tree as JSON text.",
        |d: &mut DgValue| d.0.to_json().script(),
    );
    api.getter("Dg", "leaves", "Leaves in input order: array of #{node, id, energy, members} (id = group index given to dg).", |d: &mut DgValue| -> Array {
        d.0.leaves
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut m = Map::new();
                m.insert("node".into(), Dynamic::from_int(i as i64));
                m.insert("id".into(), Dynamic::from_int(l.id as i64));
                m.insert("energy".into(), Dynamic::from_float(l.energy));
                m.insert("members".into(), Dynamic::from_int(l.members as i64));
                Dynamic::from_map(m)
            })
            .collect()
    });
    api.getter("Dg", "merges", "Merge nodes in merge order: array of #{node, children, energy} (children are node ids; leaves are nodes 0..n-1).", |d: &mut DgValue| -> Array {
        let nl = d.0.leaves.len();
        d.0.merges
            .iter()
            .enumerate()
            .map(|(k, mg)| {
                let mut m = Map::new();
                m.insert("node".into(), Dynamic::from_int((nl + k) as i64));
                m.insert("children".into(), Dynamic::from_array(mg.children.iter().map(|&c| Dynamic::from_int(c as i64)).collect()));
                m.insert("energy".into(), Dynamic::from_float(mg.energy));
                Dynamic::from_map(m)
            })
            .collect()
    });
    api.getter(
        "Dg",
        "roots",
        "Root node ids, left to right (several when some groups are never connected).",
        |d: &mut DgValue| -> Array {
            d.0.roots
                .iter()
                .map(|&r| Dynamic::from_int(r as i64))
                .collect()
        },
    );
    api.getter(
        "Dg",
        "order",
        "Group ids of the leaves from left to right, as drawn.",
        |d: &mut DgValue| -> Array {
            d.0.leaf_ids()
                .into_iter()
                .map(|r| Dynamic::from_int(r as i64))
                .collect()
        },
    );
}
