//! A map from minima the user already has (eight trained networks, the minima of a paper):
//! every given state is a group, and every pair's barrier comes from one path method (the
//! straight line, (D)NEB bands relaxed in one batch, trained curves, or the batched AD
//! refinement). The result is a [`LandscapeMap`] like any other: it saves, loads, draws as a
//! DG and compares. Every stored barrier is the highest energy on a real path between the two
//! states, so it is an upper bound of their minimax barrier, as in every map.

use super::barrier::{barrier_1d, refine_barriers, RefineOptions};
use super::curve::{curve_path, CurveOptions};
use super::map::{BarrierKind, LandscapeMap};
use super::neb::{neb_many, NebOptions};
use crate::energy::{energies_f64, EnergyRef};
use crate::{error::invalid, interrupt, tensor, Result};
use tch::Tensor;

/// How each pair's barrier is found.
pub enum PairMethod {
    /// The maximum on the straight segment at this many points.
    Line(usize),
    /// (D)NEB bands, all pairs relaxed in one batch.
    Neb(NebOptions),
    /// A trained curve per pair.
    Curve(CurveOptions),
    /// The AD refinement of all pairs at once (both directions).
    Ad(RefineOptions),
}

impl PairMethod {
    /// The name recorded in the map's parameters.
    pub fn name(&self) -> &'static str {
        match self {
            PairMethod::Line(_) => "line",
            PairMethod::Neb(_) => "neb",
            PairMethod::Curve(_) => "curve",
            PairMethod::Ad(_) => "ad",
        }
    }
}

/// The map of `states` (each `[D]`) on `e` with every pair's barrier from `method`. Pairs
/// whose method found no path (an AD refinement that never succeeded) keep no barrier, and
/// are then joined by their line barrier so that the DG is one tree (kind `line`). Ctrl-C
/// keeps the barriers found so far (`interrupted`), the rest by the line.
pub fn map_from_minima(
    e: &EnergyRef,
    states: &[Tensor],
    method: &PairMethod,
    seed: u64,
) -> Result<LandscapeMap> {
    if states.len() < 2 {
        return Err(invalid(format!(
            "map_from_minima: needs at least two states, got {}",
            states.len()
        )));
    }
    let rows: Vec<Tensor> = states
        .iter()
        .map(|s| s.f_reshape([1, -1]))
        .collect::<std::result::Result<_, _>>()?;
    for r in &rows {
        crate::energy::check_dim(e.as_ref(), r)?;
    }
    let batch = Tensor::f_cat(&rows, 0)?;
    let energies = energies_f64(e.as_ref(), &batch)?;
    if let Some(i) = energies.iter().position(|u| !u.is_finite()) {
        return Err(invalid(format!(
            "map_from_minima: state {i} has energy {}",
            energies[i]
        )));
    }
    let params = serde_json::json!({ "method": method.name(), "states": states.len() });
    let mut map = LandscapeMap::empty("from_minima", e.describe(), params, seed);
    for (i, u) in energies.iter().enumerate() {
        map.add_group(tensor::to_vec_f64(&rows[i].f_reshape([-1])?)?, *u, 0);
    }
    let n = states.len();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let found: Vec<Option<(f64, BarrierKind)>> = match method {
        PairMethod::Line(points) => pairs
            .iter()
            .map(|&(i, j)| {
                Ok(Some((
                    barrier_1d(e.as_ref(), &rows[i], &rows[j], *points)?.barrier,
                    BarrierKind::Line,
                )))
            })
            .collect::<Result<_>>()?,
        PairMethod::Neb(o) => {
            let ends: Vec<(Tensor, Tensor)> = pairs
                .iter()
                .map(|&(i, j)| Ok((rows[i].f_reshape([-1])?, rows[j].f_reshape([-1])?)))
                .collect::<Result<_>>()?;
            neb_many(e.as_ref(), &ends, o)?
                .iter()
                .map(|r| Some((r.max_energy, BarrierKind::Neb)))
                .collect()
        }
        PairMethod::Curve(o) => {
            let mut out = Vec::new();
            for &(i, j) in &pairs {
                if interrupt::requested() {
                    out.push(None);
                    continue;
                }
                out.push(Some((
                    curve_path(e.as_ref(), &rows[i], &rows[j], o)?.max_energy,
                    BarrierKind::Curve,
                )));
            }
            out
        }
        PairMethod::Ad(o) => {
            let a = Tensor::f_cat(
                &pairs
                    .iter()
                    .map(|&(i, _)| rows[i].shallow_clone())
                    .collect::<Vec<_>>(),
                0,
            )?;
            let b = Tensor::f_cat(
                &pairs
                    .iter()
                    .map(|&(_, j)| rows[j].shallow_clone())
                    .collect::<Vec<_>>(),
                0,
            )?;
            refine_barriers(e, &a, &b, o)?
                .iter()
                .map(|r| r.barrier.map(|v| (v, BarrierKind::Refined)))
                .collect()
        }
    };
    map.interrupted = interrupt::requested();
    for (&(i, j), f) in pairs.iter().zip(&found) {
        let (b, kind) = match f {
            Some(v) => *v,
            None => (
                barrier_1d(e.as_ref(), &rows[i], &rows[j], 101)?.barrier,
                BarrierKind::Line,
            ),
        };
        // A path's sampled maximum is at least its ends' energies; the bound keeps them.
        map.offer_barrier(i, j, b.max(energies[i]).max(energies[j]), kind)?;
    }
    map.check()?;
    Ok(map)
}
