//! Script functions: plots (line, scatter, heatmap with paths, energy along paths, alpha sweep,
//! phase diagram, histogram, image grid), disconnectivity graphs, saving (SVG/PNG) and showing
//! pictures in the terminal.

use super::convert::{err, num, opts, to_f64s, to_tensor, IntoScript, Opts, RhaiResult};
use super::landscape::MapValue;
use super::{bounds, Api, EnergyValue, OptKind, OptionDoc, TensorValue};
use crate::landscape::dg::{Dg, DgOptions, LeafOrder};
use crate::plot::{
    parse_color, terminal, DgPicture, Figure, Heatmap, Image, LeafMarks, LeafValues, MapImages,
    Marker, Plot, Series, PALETTE,
};
use crate::tensor;
use rhai::{Array, Dynamic, Map};

/// A figure as seen by scripts (script type `Plot`).
#[derive(Clone)]
pub struct PlotValue(pub Figure);

/// A disconnectivity graph as seen by scripts (script type `Dg`).
#[derive(Clone)]
pub struct DgValue(pub Dg);

/// The options every plot takes ([`common`]); each figure sets its own defaults.
pub(super) fn common_options() -> Vec<OptionDoc> {
    common_options_sized(&crate::plot::DEFAULT_SIZE.1.to_string())
}

/// [`common_options`] with the default height described as `height` (DG pictures with images
/// are taller).
pub(super) fn common_options_sized(height: &str) -> Vec<OptionDoc> {
    let width = crate::plot::DEFAULT_SIZE.0;
    vec![
        OptionDoc::text("title", "", "title above the plot"),
        OptionDoc::described("xlabel", OptKind::Text, "depends", "x axis label"),
        OptionDoc::described("ylabel", OptKind::Text, "depends", "y axis label"),
        OptionDoc::described(
            "width",
            OptKind::Count,
            &width.to_string(),
            "width in pixels (SVG/PNG), 16 to 10000",
        )
        .within(16.0, 1e4),
        OptionDoc::described(
            "height",
            OptKind::Count,
            height,
            "height in pixels (SVG/PNG), 16 to 10000",
        )
        .within(16.0, 1e4),
    ]
}

/// The options of functions that draw images ([`shape_opt`], [`range_opt`]).
fn image_options() -> Vec<OptionDoc> {
    vec![
        OptionDoc::described(
            "shape",
            OptKind::Array,
            "square",
            "image shape: [h, w] (gray), [3, h, w] (RGB, channels first) or [h, w, 3]",
        ),
        OptionDoc::described(
            "range",
            OptKind::Array,
            "each image's min..max",
            "[lo, hi] values mapped to black and white",
        ),
    ]
}

/// Reads the options every plot takes; a figure's own title, labels and size are the defaults.
pub(super) fn common(o: &mut Opts, mut f: Figure) -> RhaiResult<Figure> {
    if let Some(t) = o.string_opt("title")? {
        f.title = t;
    }
    if let Some(l) = o.string_opt("xlabel")? {
        f.x_label = l;
    }
    if let Some(l) = o.string_opt("ylabel")? {
        f.y_label = l;
    }
    if let Some(w) = o.usize_opt("width")? {
        f.width = w.clamp(16, 10000) as u32;
    }
    if let Some(h) = o.usize_opt("height")? {
        f.height = h.clamp(16, 10000) as u32;
    }
    Ok(f)
}

/// `extra` followed by the options every plot takes.
fn with_common(mut extra: Vec<OptionDoc>) -> Vec<OptionDoc> {
    extra.extend(common_options());
    extra
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
    match o.value(key)? {
        None => Ok(None),
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
    match o.value("shape")? {
        None => Ok(None),
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
        "Dg({} leaves, {} merges, {} tree{}{})",
        d.0.leaves.len(),
        d.0.merges.len(),
        d.0.roots.len(),
        if d.0.roots.len() == 1 { "" } else { "s" },
        d.0.caveat
            .as_ref()
            .map_or(String::new(), |c| format!("; {c}"))
    )
}

mod charts;
mod dg;

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

    charts::register(api);
    dg::register(api);
}
