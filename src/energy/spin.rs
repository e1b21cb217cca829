//! Quadratic spin models `U(s) = scale * (-sum_{i<k} J_ik s_i s_k - sum_i h_i s_i)`, s_i = ±1:
//! the SK spin glass (paper eq. 5.1) and the Ising model (eq. 3.3), with native O(N)
//! single-site updates through local fields.

use super::{Energy, Space};
use crate::{
    error::{invalid, WithPath},
    tensor, Result,
};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::path::Path;
use tch::Tensor;

/// A ±1 spin system with pairwise couplings and an optional external field.
/// The heat-bath flip probability `1 / (1 + exp(delta))`, written to avoid overflow. Beyond
/// `|delta| = 746`, `exp(-|delta|)` is 0 in float64, so the result is exactly 0 or 1 without
/// calling `exp` (cold chains are mostly there).
fn heat_bath_flip(delta: f64) -> f64 {
    if delta > EXP_UNDERFLOW {
        0.0
    } else if delta < -EXP_UNDERFLOW {
        1.0
    } else if delta > 0.0 {
        let e = (-delta).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + delta.exp())
    }
}

/// `exp(-x)` is exactly 0 in float64 for every `x` above this (the smallest subnormal is
/// `exp(-744.44)`, and half of it rounds to 0).
const EXP_UNDERFLOW: f64 = 746.0;

pub struct SpinModel {
    name: String,
    n: usize,
    /// For each site, its (neighbour, J) pairs; symmetric.
    neighbors: Vec<Vec<(u32, f64)>>,
    field: Vec<f64>,
    scale: f64,
    params: serde_json::Value,
}

/// The SK spin glass of section 5.1: `J_ik ~ N(0, 1/N)` drawn from `seed`, `U = -(1/(T N)) sum_{i<k} J_ik s_i s_k`.
pub fn sk(n: usize, seed: u64, temperature: f64) -> Result<SpinModel> {
    check_sk_size(n)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sd = (1.0 / n as f64).sqrt();
    let mut j = vec![0.0; n * n];
    for i in 0..n {
        for k in i + 1..n {
            let v: f64 = StandardNormal.sample(&mut rng);
            j[i * n + k] = v * sd;
            j[k * n + i] = v * sd;
        }
    }
    let mut m = sk_from_couplings(&j, n, temperature)?;
    m.params = serde_json::json!({"name": "sk", "n": n, "seed": seed, "T": temperature});
    Ok(m)
}

/// Memory an SK model of `n` spins takes (a dense `n x n` matrix while building, and each
/// coupling stored twice as a (site, J) pair), checked against the memory budget
/// ([`crate::budget`]) before anything is allocated.
fn check_sk_size(n: usize) -> Result<()> {
    if n < 2 {
        return Err(invalid("an SK spin glass needs n >= 2"));
    }
    crate::budget::check(
        &format!("an SK glass of {n} spins"),
        (n as f64) * (n as f64),
        24.0,
    )
}

/// An SK energy from a full symmetric coupling matrix (row-major `n*n`; the diagonal is ignored).
pub fn sk_from_couplings(j: &[f64], n: usize, temperature: f64) -> Result<SpinModel> {
    check_sk_size(n)?;
    if let Some(bad) = j.iter().position(|v| !v.is_finite()) {
        return Err(invalid(format!(
            "coupling ({}, {}) is {}; couplings must be finite",
            bad / n.max(1),
            bad % n.max(1),
            j[bad]
        )));
    }
    if j.len() != n * n {
        return Err(invalid(format!(
            "coupling matrix has {} entries, expected {n}x{n}",
            j.len()
        )));
    }
    if !(temperature > 0.0) {
        return Err(invalid("SK temperature must be positive"));
    }
    let mut neighbors = vec![Vec::with_capacity(n); n];
    for i in 0..n {
        for k in 0..n {
            if i == k {
                continue;
            }
            let (a, b) = (j[i * n + k], j[k * n + i]);
            if (a - b).abs() > 1e-9 * (1.0 + a.abs()) {
                return Err(invalid(format!(
                    "coupling matrix is not symmetric at ({i}, {k}): {a} vs {b}"
                )));
            }
            if a != 0.0 {
                neighbors[i].push((k as u32, a));
            }
        }
    }
    Ok(SpinModel {
        name: format!("sk(n={n})"),
        n,
        neighbors,
        field: vec![0.0; n],
        scale: 1.0 / (temperature * n as f64),
        params: serde_json::json!({"name": "sk", "n": n, "T": temperature}),
    })
}

/// Reads SK couplings from a `.npy` file (2-D float array) or JSON `{"n": N, "J": [[...]]}`.
pub fn sk_load(path: &Path, temperature: f64) -> Result<SpinModel> {
    let (j, n) = if path.extension().and_then(|e| e.to_str()) == Some("npy") {
        let (data, shape) = crate::tensor_io::read_npy(path)?;
        if shape.len() != 2 || shape[0] != shape[1] {
            return Err(invalid(format!(
                "{}: expected a square matrix, got shape {:?}",
                path.display(),
                shape
            )));
        }
        (data, shape[0])
    } else {
        let text = std::fs::read_to_string(path).with_path(path)?;
        let v: serde_json::Value = serde_json::from_str(&text)?;
        let rows = v["J"]
            .as_array()
            .ok_or_else(|| invalid(format!("{}: no \"J\" matrix", path.display())))?;
        let n = rows.len();
        if let Some(declared) = v.get("n") {
            if declared.as_u64() != Some(n as u64) {
                return Err(invalid(format!(
                    "{}: \"n\" is {declared} but \"J\" has {n} rows",
                    path.display()
                )));
            }
        }
        check_sk_size(n).with_path(path)?;
        let mut j = Vec::with_capacity(n * n);
        for r in rows {
            let r = r
                .as_array()
                .ok_or_else(|| invalid("J must be a list of rows"))?;
            if r.len() != n {
                return Err(invalid(format!(
                    "J row of length {} in an n={n} model",
                    r.len()
                )));
            }
            for x in r {
                j.push(
                    x.as_f64()
                        .ok_or_else(|| invalid("J entries must be numbers"))?,
                );
            }
        }
        (j, n)
    };
    let mut m = sk_from_couplings(&j, n, temperature)?;
    m.params = serde_json::json!({"name": "sk", "n": n, "T": temperature, "path": path.display().to_string()});
    Ok(m)
}

/// Ising model on a `rows x cols` torus: `U = -(1/T) sum_<ij> s_i s_j - H sum_i s_i`.
pub fn ising(rows: usize, cols: usize, temperature: f64, h: f64) -> Result<SpinModel> {
    if rows == 0 || cols == 0 {
        return Err(invalid("ising needs rows, cols >= 1"));
    }
    if !(temperature > 0.0) {
        return Err(invalid("Ising temperature must be positive"));
    }
    let n = rows
        .checked_mul(cols)
        .filter(|&n| n <= u32::MAX as usize)
        .ok_or_else(|| {
            invalid(format!(
                "an Ising lattice of {rows} x {cols} spins is too large"
            ))
        })?;
    // Four neighbours of 16 bytes per spin, each list's own header, fields and states.
    crate::budget::check(&format!("an Ising lattice of {n} spins"), n as f64, 128.0)?;
    let mut neighbors: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    let mut add = |a: usize, b: usize| {
        if a != b && !neighbors[a].iter().any(|&(k, _)| k as usize == b) {
            neighbors[a].push((b as u32, 1.0));
            neighbors[b].push((a as u32, 1.0));
        }
    };
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            add(i, r * cols + (c + 1) % cols);
            add(i, ((r + 1) % rows) * cols + c);
        }
    }
    Ok(SpinModel {
        name: format!("ising({rows}x{cols})"),
        n,
        neighbors,
        // U = (1/T) * (-sum J s s - (H T) sum s) so that scale * field = H.
        field: vec![h * temperature; n],
        scale: 1.0 / temperature,
        params: serde_json::json!({"name": "ising", "rows": rows, "cols": cols, "T": temperature, "H": h}),
    })
}

impl SpinModel {
    /// Number of spins N.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Dense coupling matrix, row-major `n*n`.
    pub fn couplings(&self) -> Vec<f64> {
        let mut j = vec![0.0; self.n * self.n];
        for (i, row) in self.neighbors.iter().enumerate() {
            for &(k, v) in row {
                j[i * self.n + k as usize] = v;
            }
        }
        j
    }
    /// Energy of one state.
    pub fn energy_of(&self, s: &[f64]) -> f64 {
        let mut pair = 0.0;
        let mut ext = 0.0;
        for i in 0..self.n {
            let li: f64 = self.neighbors[i]
                .iter()
                .map(|&(k, j)| j * s[k as usize])
                .sum();
            pair += s[i] * li;
            ext += self.field[i] * s[i];
        }
        self.scale * (-0.5 * pair - ext)
    }
    /// Local fields `L_i = sum_k J_ik s_k + h_i` of one state.
    pub fn local_fields(&self, s: &[f64]) -> Vec<f64> {
        (0..self.n)
            .map(|i| {
                self.field[i]
                    + self.neighbors[i]
                        .iter()
                        .map(|&(k, j)| j * s[k as usize])
                        .sum::<f64>()
            })
            .collect()
    }
    /// Energy change of flipping site `i`, given the local fields: `2 * scale * s_i * L_i`.
    #[inline]
    pub fn flip_delta(&self, s: &[f64], fields: &[f64], i: usize) -> f64 {
        2.0 * self.scale * s[i] * fields[i]
    }
    /// Flips site `i` and updates the local fields in O(degree).
    #[inline]
    pub fn flip(&self, s: &mut [f64], fields: &mut [f64], i: usize) {
        let change = -2.0 * s[i];
        s[i] = -s[i];
        for &(k, j) in &self.neighbors[i] {
            fields[k as usize] += j * change;
        }
    }

    /// Heat-bath Gibbs sweeps (sites in order) of every chain of `states` (`B*N`, row-major),
    /// sampling `exp(-(U/T + alpha_b*||s - target_b||_2))`. `targets` is one state per chain or
    /// absent; `alphas` one strength per chain. Each chain uses its own RNG seeded from `seed` and
    /// its index, so results do not depend on the number of threads. Returns, per chain, the
    /// highest energy U met at any single flip along the way (start included): the barrier of
    /// the path, which a sweep-end energy would underestimate.
    pub fn gibbs_sweeps(
        &self,
        states: &mut [f64],
        targets: Option<&[f64]>,
        t: f64,
        alphas: &[f64],
        sweeps: usize,
        seed: u64,
    ) -> Vec<f64> {
        let n = self.n;
        states
            .par_chunks_mut(n)
            .enumerate()
            .map(|(b, s)| {
                let mut rng =
                    rand::rngs::StdRng::seed_from_u64(crate::tensor::next_seed_for(seed, b as u64));
                let target = targets.map(|t| &t[b * n..(b + 1) * n]);
                let alpha = alphas.get(b).copied().unwrap_or(0.0);
                self.gibbs_chain(s, target, t, alpha, sweeps, &mut rng)
            })
            .collect()
    }

    fn gibbs_chain(
        &self,
        s: &mut [f64],
        target: Option<&[f64]>,
        t: f64,
        alpha: f64,
        sweeps: usize,
        rng: &mut impl Rng,
    ) -> f64 {
        let mut chain = SpinChain::new(self, s, target);
        let mut u_max = chain.u;
        for _ in 0..sweeps {
            u_max = u_max.max(chain.sweep(self, s, target, t, alpha, rng));
        }
        u_max
    }

    /// Zero-temperature single-flip descent of every chain: sweep the sites, flip any spin whose
    /// flip lowers the energy, until a sweep flips none (a local minimum under single flips).
    pub fn descend(&self, states: &mut [f64]) {
        let n = self.n;
        states.par_chunks_mut(n).for_each(|s| {
            let mut fields = self.local_fields(s);
            loop {
                let mut changed = false;
                for i in 0..n {
                    if self.flip_delta(s, &fields, i) < -1e-12 {
                        self.flip(s, &mut fields, i);
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
        });
    }

    /// Energies at `points` evenly spaced points of the straight line from `a` to `b` (any
    /// real states), in closed form: U is quadratic, so with `x(t) = (1-t) a + t b`,
    /// `x'Jx = (1-t)² a'Ja + 2t(1-t) a'Jb + t² b'Jb`. O(N²) per line instead of per point.
    pub fn line_energies(&self, a: &[f64], b: &[f64], points: usize) -> Vec<f64> {
        let ja = self.pair_fields(a);
        let jb = self.pair_fields(b);
        let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>();
        let (aja, ajb, bjb) = (dot(a, &ja), dot(b, &ja), dot(b, &jb));
        let (ha, hb) = (dot(&self.field, a), dot(&self.field, b));
        (0..points)
            .map(|k| {
                let t = k as f64 / (points.max(2) - 1) as f64;
                let quad = (1.0 - t) * (1.0 - t) * aja + 2.0 * t * (1.0 - t) * ajb + t * t * bjb;
                self.scale * (-0.5 * quad - ((1.0 - t) * ha + t * hb))
            })
            .collect()
    }

    /// `J x` without the external field.
    fn pair_fields(&self, x: &[f64]) -> Vec<f64> {
        self.neighbors
            .iter()
            .map(|row| row.iter().map(|&(k, j)| j * x[k as usize]).sum())
            .collect()
    }

    /// Steepest single-flip descent of one state in place, its local fields kept current:
    /// flip the spin whose flip lowers U the most until no flip lowers it. Deterministic, so it
    /// defines the basin of every state. Returns the energy change.
    pub fn steepest_descent(&self, s: &mut [f64], fields: &mut [f64]) -> f64 {
        let mut change = 0.0;
        loop {
            let (mut best, mut best_du) = (usize::MAX, -1e-12);
            for i in 0..self.n {
                let du = self.flip_delta(s, fields, i);
                if du < best_du {
                    (best, best_du) = (i, du);
                }
            }
            if best == usize::MAX {
                return change;
            }
            self.flip(s, fields, best);
            change += best_du;
        }
    }

    /// Energies along the greedy path of section 5.1 from `from` to `to` (both ±1): flip,
    /// among the spins that still differ, the one whose flip raises U the least (or lowers it
    /// the most), until the states agree. O(N) per flip through the local fields.
    pub fn greedy_path(&self, from: &[f64], to: &[f64]) -> Vec<f64> {
        let mut s = from.to_vec();
        let mut fields = self.local_fields(&s);
        let mut u = self.energy_of(&s);
        let mut path = vec![u];
        loop {
            let best = (0..self.n)
                .filter(|&i| s[i] != to[i])
                .map(|i| (i, self.flip_delta(&s, &fields, i)))
                .min_by(|x, y| x.1.total_cmp(&y.1));
            let Some((i, du)) = best else { break };
            self.flip(&mut s, &mut fields, i);
            u += du;
            path.push(u);
        }
        path
    }

    fn states_of(&self, x: &Tensor) -> Result<(Vec<f64>, usize)> {
        let x = tensor::as_batch(x)?;
        if x.size()[1] != self.n as i64 {
            return Err(invalid(format!(
                "{} expects {} spins, got {:?}",
                self.name,
                self.n,
                x.size()
            )));
        }
        let b = x.size()[0] as usize;
        Ok((tensor::to_vec_f64(&x)?, b))
    }
}

impl Energy for SpinModel {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn dim(&self) -> Option<usize> {
        Some(self.n)
    }
    fn space(&self) -> Space {
        Space::Spins
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let (s, b) = self.states_of(x)?;
        let e: Vec<f64> = s.par_chunks(self.n).map(|c| self.energy_of(c)).collect();
        Ok(tensor::from_vec(&e, &[b as i64])?
            .f_to_kind(x.kind())?
            .f_to_device(x.device())?)
    }
    /// The gradient of the multilinear extension: `-scale * L(s)`.
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (s, b) = self.states_of(x)?;
        let mut g = Vec::with_capacity(s.len());
        let mut e = Vec::with_capacity(b);
        for c in s.chunks(self.n) {
            e.push(self.energy_of(c));
            g.extend(self.local_fields(c).iter().map(|l| -self.scale * l));
        }
        let opts = |t: Tensor| {
            t.f_to_kind(x.kind())
                .and_then(|t| t.f_to_device(x.device()))
        };
        Ok((
            opts(tensor::from_vec(&e, &[b as i64])?)?,
            opts(tensor::from_vec(&g, &[b as i64, self.n as i64])?)?,
        ))
    }
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }
    fn spin_model(&self) -> Option<&SpinModel> {
        Some(self)
    }
    fn describe(&self) -> serde_json::Value {
        self.params.clone()
    }
}

/// A spin chain's running state: local fields, energy and Hamming distance to its target
/// (the native backend of heat-bath sampling and of AD trials, `landscape::ad`).
pub(crate) struct SpinChain {
    fields: Vec<f64>,
    u: f64,
    d: f64,
}

impl SpinChain {
    /// The chain at state `s`, measuring its distance to `target` when given.
    pub(crate) fn new(model: &SpinModel, s: &[f64], target: Option<&[f64]>) -> Self {
        let d = target
            .map(|tg| s.iter().zip(tg).filter(|(a, b)| a != b).count())
            .unwrap_or(0) as f64;
        SpinChain {
            fields: model.local_fields(s),
            u: model.energy_of(s),
            d,
        }
    }

    /// Its energy U.
    pub(crate) fn energy(&self) -> f64 {
        self.u
    }

    /// Its Euclidean distance to the target: `2 sqrt(#differing spins)` for ±1 states.
    pub(crate) fn distance(&self) -> f64 {
        2.0 * self.d.sqrt()
    }

    /// One heat-bath sweep; returns the highest U met at any flip.
    pub(crate) fn sweep(
        &mut self,
        model: &SpinModel,
        s: &mut [f64],
        target: Option<&[f64]>,
        t: f64,
        alpha: f64,
        rng: &mut impl Rng,
    ) -> f64 {
        let mut u_max = self.u;
        for i in 0..model.n {
            let du = model.flip_delta(s, &self.fields, i);
            let mut delta = du / t;
            let mut d_new = self.d;
            if let Some(tg) = target {
                d_new = if s[i] == tg[i] {
                    self.d + 1.0
                } else {
                    self.d - 1.0
                };
                if alpha > 0.0 {
                    delta += 2.0 * alpha * (d_new.sqrt() - self.d.sqrt());
                }
            }
            // The uniform is drawn whatever p is: the same stream for every delta.
            let p = heat_bath_flip(delta);
            if rng.random::<f64>() < p {
                self.u += du;
                u_max = u_max.max(self.u);
                model.flip(s, &mut self.fields, i);
                self.d = d_new;
            }
        }
        u_max
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    /// The short cut past the underflow point gives the bits of the plain overflow-safe
    /// formula, over random deltas of every scale and the points around the threshold.
    #[test]
    fn heat_bath_flip_equals_the_plain_formula_bit_for_bit() {
        let plain = |delta: f64| {
            if delta > 0.0 {
                let e = (-delta).exp();
                e / (1.0 + e)
            } else {
                1.0 / (1.0 + delta.exp())
            }
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut deltas: Vec<f64> = (0..20_000)
            .map(|_| rng.random_range(-1.0..1.0) * 10f64.powf(rng.random_range(-3.0..5.0)))
            .collect();
        for x in [
            744.0,
            744.44,
            745.0,
            745.13,
            745.2,
            746.0,
            746.0001,
            1e300,
            f64::INFINITY,
        ] {
            deltas.extend([x, -x]);
        }
        for d in deltas {
            assert_eq!(
                super::heat_bath_flip(d).to_bits(),
                plain(d).to_bits(),
                "delta {d}"
            );
        }
    }
}
