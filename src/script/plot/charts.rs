//! Script functions: line, scatter, heatmap with paths, energy along paths, alpha sweep, phase
//! diagram, histogram and image grid plots, and the methods of Plot values.

use super::*;

fn line_plot(xs: Vec<f64>, ys: Vec<f64>, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "line_plot");
    let mut f = Figure::line(xs, ys, &o.string("label")?).script()?;
    let markers = o.bool("markers")?;
    let lx = o.bool("log_x")?;
    let ly = o.bool("log_y")?;
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

/// The grid range of a heatmap on each axis unless xlim / ylim say otherwise.
const HEATMAP_LIMITS: (f64, f64) = (-2.0, 2.0);

fn heatmap(u: EnergyValue, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "heatmap");
    let xlim = range_opt(&mut o, "xlim")?.unwrap_or(HEATMAP_LIMITS);
    let ylim = range_opt(&mut o, "ylim")?.unwrap_or(HEATMAP_LIMITS);
    let n = o.usize("n")?;
    let levels = o.usize("levels")?;
    let zmin = o.f64_opt("zmin")?;
    let zmax = o.f64_opt("zmax")?;
    let labels = strings(o.value("labels")?, "labels")?;
    let paths = paths_of(o.value("paths")?, &labels)?;
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
    // No title unless asked for (the docs' default, ""): the energy's name is internal.
    let f = Figure::heatmap(Heatmap { zrange, ..h }).script()?;
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
    let labels = strings(o.value("labels")?, "labels")?;
    let xmode = o.string("x")?;
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

/// The keys of one pair of a phase plot.
fn phase_pair_keys() -> Vec<OptionDoc> {
    vec![
        OptionDoc::described("label", OptKind::Text, "\"pair N\"", "legend name"),
        OptionDoc::described(
            "forward",
            OptKind::Any,
            "required",
            "thresholds a -> b, one per temperature",
        ),
        OptionDoc::described(
            "backward",
            OptKind::Any,
            "required",
            "thresholds b -> a, one per temperature",
        ),
    ]
}

fn phase(temps: &Dynamic, pairs: Array, map: Map) -> RhaiResult<PlotValue> {
    let temps = to_f64s(temps)?;
    let mut rows = Vec::new();
    for (k, p) in pairs.iter().enumerate() {
        let m = p
            .read_lock::<Map>()
            .ok_or_else(|| err("phase_plot: each pair must be a map #{label, forward, backward}"))?
            .clone();
        let mut po = Opts::with_spec(m, "phase_plot pair", phase_pair_keys());
        let label = po
            .string_opt("label")?
            .unwrap_or_else(|| format!("pair {}", k + 1));
        let fwd = po
            .value("forward")?
            .ok_or_else(|| err("phase_plot: a pair needs `forward`"))?;
        let bwd = po
            .value("backward")?
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
    let bins = o.usize("bins")?;
    let f = Figure::histogram(to_f64s(xs)?, bins).script()?;
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

fn image_grid(images: &Dynamic, map: Map) -> RhaiResult<PlotValue> {
    let mut o = opts(map, "image_grid");
    let shape = shape_opt(&mut o)?;
    let range = range_opt(&mut o, "range")?;
    let cols = o.usize("cols")?;
    let f = Figure::images(images_of(images, shape.as_deref(), range)?, cols).script()?;
    let f = common(&mut o, f)?;
    o.finish()?;
    Ok(PlotValue(f))
}

/// Registers the plots and the Plot methods.
pub(super) fn register(api: &mut Api) {
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
        with_common(vec![
            OptionDoc::text("label", "", "legend entry of the series"),
            OptionDoc::flag("markers", false, "draw a dot at each point"),
            OptionDoc::flag("log_x", false, "logarithmic x axis"),
            OptionDoc::flag("log_y", false, "logarithmic y axis"),
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
    api.options("scatter", common_options());
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
    let (lo, hi) = HEATMAP_LIMITS;
    let limits = format!("[{lo:?}, {hi:?}]");
    api.options(
        "heatmap",
        with_common(vec![
            OptionDoc::described("xlim", OptKind::Array, &limits, "x range of the grid"),
            OptionDoc::described("ylim", OptKind::Array, &limits, "y range of the grid"),
            OptionDoc::count("n", 100, "grid points per axis").within(2.0, 1000.0),
            OptionDoc::count(
                "levels",
                12,
                "number of contour lines (0 for none; up to 1,000, more than a figure can show)",
            )
            .within(0.0, 1000.0),
            OptionDoc::described(
                "zmin",
                OptKind::Number,
                "minimum",
                "energy at the low end of the color scale",
            )
            .bounded(bounds::FINITE),
            OptionDoc::described(
                "zmax",
                OptKind::Number,
                "90th percentile",
                "energy at the high end of the color scale (higher values saturate)",
            )
            .bounded(bounds::FINITE),
            OptionDoc::described(
                "paths",
                OptKind::Array,
                "[]",
                "array of paths [K, 2] to draw over the map",
            ),
            OptionDoc::described(
                "labels",
                OptKind::Array,
                "\"path 1\", ...",
                "legend names of the paths",
            ),
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
        with_common(vec![
            OptionDoc::described("labels", OptKind::Array, "\"path 1\", ...", "legend names of the paths"),
            OptionDoc::text("x", "fraction", "x axis: \"fraction\" (0..1 along each path: of its length when called with U and paths, of its points otherwise), \"index\" (image number) or \"distance\" (cumulative Euclidean length; needs U and paths)")
                .choices(&["fraction", "index", "distance"]),
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
        with_common(vec![OptionDoc::described(
            "chosen",
            OptKind::Number,
            "none",
            "alpha to mark with a dotted vertical line",
        )
        .bounded(bounds::FINITE)]),
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
    api.options("phase_plot", common_options());
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
        with_common(vec![OptionDoc::count(
            "bins",
            20,
            "number of bins (1 to 100,000)",
        )
        .within(1.0, 1e5)]),
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
    let mut grid_opts = image_options();
    grid_opts.push(
        OptionDoc::count("cols", 0, "images per row (0: about sqrt(N); up to 10,000)")
            .within(0.0, 1e4),
    );
    api.options("image_grid", with_common(grid_opts));
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
    api.method("Plot", "show", "p.show()", "Shows the picture: inline (kitty, iTerm2, WezTerm, Sixel terminals) when the terminal supports it, else as Unicode text; when stdout is not a terminal, writes a PNG to the temp directory and prints its path.\n\
        Set TELESCOPE_PLOT=text|kitty|iterm|sixel|file to override detection.", |p: &mut PlotValue| -> RhaiResult<()> {
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
}
