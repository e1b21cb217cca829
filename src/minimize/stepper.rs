//! Stateful optimizer steps over a force: FIRE and L-BFGS as small objects that take the
//! current state and force and return the next state, so that any loop (the NEB band, the
//! single-image saddle climb) can drive either without holding their internals.
//!
//! A state is a tensor `[n, D]` whose rows move together as one system (the images of a band,
//! or a single state `[1, D]`); the force is a tensor of the same shape (minus the gradient, or
//! a projected force with no objective behind it, such as the NEB force). Both steppers cap the
//! move of every row at `max_step`.
//!
//! FIRE moves the rows as one system (a band) or each row as its own system (a batch of
//! chains, as [`minimize::fire`](super::fire) drives it).

use crate::{tensor, Result};
use std::collections::VecDeque;
use tch::{Kind, Tensor};

/// One optimizer step at a time, over a force.
pub trait Stepper {
    /// The next state from state `x` and force `f` at `x` (same shape).
    fn step(&mut self, x: &Tensor, f: &Tensor) -> Result<Tensor>;
    /// Forgets what the stepper learned about the force (call it when the force changes
    /// definition, e.g. when a climbing image switches on).
    fn reset(&mut self);
}

/// Default number of L-BFGS correction pairs.
pub const DEFAULT_LBFGS_MEMORY: usize = 5;

/// Euclidean norm of every row, `[n, 1]`.
pub(crate) fn row_norms(a: &Tensor) -> Result<Tensor> {
    Ok(a.f_mul(a)?.f_sum_dim_intlist(1, true, a.kind())?.f_sqrt()?)
}

fn max_row_norm(a: &Tensor) -> Result<f64> {
    tensor::scalar_f64(&row_norms(a)?.f_max()?)
}

fn dot(a: &Tensor, b: &Tensor) -> Result<f64> {
    tensor::scalar_f64(&a.f_mul(b)?.f_sum(Kind::Double)?)
}

/// Scales down the rows of `step` longer than `max_step` to that length.
pub fn cap_rows(step: &Tensor, max_step: f64) -> Result<Tensor> {
    let scale = row_norms(step)?
        .f_clamp_min(max_step)?
        .f_reciprocal()?
        .f_mul_scalar(max_step)?;
    Ok(step.f_mul(&scale)?)
}

/// Which rows of a state FIRE treats as one system: one velocity, time step and mixing factor
/// per system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FireSystems {
    /// All rows move as one system (the images of a band).
    Whole,
    /// Every row is its own system (a batch of independent chains).
    EachRow,
}

/// FIRE (Bitzek et al. 2006). Per system, the velocity is mixed towards the force while the
/// power `F·v` stays positive (the time step grows by 1.1 after 5 such steps, up to 10 times the
/// first, and the mixing factor decays from 0.1 by 0.99), and is zeroed with the time step
/// halved when the power turns negative. The first time step is given, or
/// `sqrt(0.1 max_step / max|F_row|)`; each row moves at most `max_step` per step. A row whose
/// force is zero does not move (a converged chain is frozen by zeroing its force).
pub struct Fire {
    systems: FireSystems,
    max_step: f64,
    first_dt: Option<f64>,
    vel: Option<Tensor>,
    /// Per system (one entry for `Whole`); empty before the first step.
    alpha: Vec<f64>,
    dt: Vec<f64>,
    dt_max: Vec<f64>,
    n_pos: Vec<usize>,
}

const FIRE_ALPHA0: f64 = 0.1;
const FIRE_F_ALPHA: f64 = 0.99;
const FIRE_F_INC: f64 = 1.1;
const FIRE_F_DEC: f64 = 0.5;
const FIRE_N_MIN: usize = 5;

impl Fire {
    /// A FIRE stepper over one system whose rows move at most `max_step` per step; the first
    /// time step is set from the first force.
    pub fn new(max_step: f64) -> Fire {
        Fire {
            systems: FireSystems::Whole,
            max_step,
            first_dt: None,
            vel: None,
            alpha: Vec::new(),
            dt: Vec::new(),
            dt_max: Vec::new(),
            n_pos: Vec::new(),
        }
    }

    /// A FIRE stepper over `systems` with first time step `dt` (the largest is `10 dt`) whose
    /// rows move at most `max_step` per step.
    pub fn with_time_step(systems: FireSystems, dt: f64, max_step: f64) -> Fire {
        Fire {
            systems,
            first_dt: Some(dt),
            ..Fire::new(max_step)
        }
    }

    /// The current time step of every system (empty before the first step).
    pub fn time_steps(&self) -> &[f64] {
        &self.dt
    }

    /// `t` reduced per system by `per_row` (row values `[n, 1]`): `[n, 1]` for `EachRow`,
    /// `[1, 1]` for `Whole` (where `whole` reduces the rows' values).
    fn per_system(
        &self,
        rows: Tensor,
        whole: impl Fn(&Tensor) -> tch::Result<Tensor>,
    ) -> Result<Tensor> {
        Ok(match self.systems {
            FireSystems::EachRow => rows,
            FireSystems::Whole => whole(&rows)?.f_reshape([1, 1])?,
        })
    }

    /// `t` times a per-system factor: one number for `Whole` (no transfer to the device), a
    /// column `[k, 1]` for `EachRow`; factors all 1 leave `t` as it is.
    fn scale(t: &Tensor, values: &[f64]) -> Result<Tensor> {
        Ok(match values {
            _ if values.iter().all(|v| *v == 1.0) => t.shallow_clone(),
            [v] => t.f_mul_scalar(*v)?,
            _ => t.f_mul(
                &tensor::from_vec(values, &[values.len() as i64, 1])?
                    .f_to_kind(t.kind())?
                    .f_to_device(t.device())?,
            )?,
        })
    }
}

impl Stepper for Fire {
    fn step(&mut self, x: &Tensor, f: &Tensor) -> Result<Tensor> {
        let force_rows = row_norms(f)?;
        if self.dt.is_empty() {
            let first: Vec<f64> = match self.first_dt {
                Some(dt) => vec![dt],
                None => {
                    let norms = tensor::to_vec_f64(
                        &self.per_system(force_rows.shallow_clone(), |r| r.f_max())?,
                    )?;
                    norms
                        .iter()
                        .map(|n| (0.1 * self.max_step / n.max(1e-300)).sqrt())
                        .collect()
                }
            };
            let k = match self.systems {
                FireSystems::Whole => 1,
                FireSystems::EachRow => x.size()[0] as usize,
            };
            self.dt = if first.len() == k {
                first
            } else {
                vec![first[0]; k]
            };
            self.dt_max = self.dt.iter().map(|dt| 10.0 * dt).collect();
            self.alpha = vec![FIRE_ALPHA0; k];
            self.n_pos = vec![0; k];
        }
        let vel = match self.vel.take() {
            Some(v) => v,
            None => x.f_zeros_like()?,
        };
        let row_power = f.f_mul(&vel)?.f_sum_dim_intlist(1, true, f.kind())?;
        let power = tensor::to_vec_f64(&self.per_system(row_power, |r| r.f_sum(r.kind()))?)?;
        let mut keep = vec![1.0; power.len()];
        for (i, p) in power.iter().enumerate() {
            if *p > 0.0 {
                if self.n_pos[i] > FIRE_N_MIN {
                    self.dt[i] = (self.dt[i] * FIRE_F_INC).min(self.dt_max[i]);
                    self.alpha[i] *= FIRE_F_ALPHA;
                }
                self.n_pos[i] += 1;
            } else {
                self.dt[i] *= FIRE_F_DEC;
                self.alpha[i] = FIRE_ALPHA0;
                self.n_pos[i] = 0;
                keep[i] = 0.0;
            }
        }
        let sq_sum = |r: &Tensor| r.f_square()?.f_sum(r.kind())?.f_sqrt();
        let vnorm = self.per_system(row_norms(&vel)?, sq_sum)?;
        let fnorm = self.per_system(force_rows, sq_sum)?.f_clamp_min(1e-300)?;
        let one_minus_alpha: Vec<f64> = self.alpha.iter().map(|a| 1.0 - a).collect();
        // Mix the velocity towards the force direction; zero it after an uphill step.
        let towards_force = Fire::scale(&f.f_div(&fnorm)?.f_mul(&vnorm)?, &self.alpha)?;
        let mixed = Fire::scale(&vel, &one_minus_alpha)?.f_add(&towards_force)?;
        let mixed = Fire::scale(&mixed, &keep)?;
        // Semi-implicit Euler with unit mass.
        let vel = mixed.f_add(&Fire::scale(f, &self.dt)?)?;
        let step = Fire::scale(&vel, &self.dt)?;
        self.vel = Some(vel);
        Ok(x.f_add(&cap_rows(&step, self.max_step)?)?)
    }

    /// Zeroes the velocity; the time steps and mixing factors are kept.
    fn reset(&mut self) {
        self.vel = None;
    }
}

/// A step that makes the largest row force grow by more than this factor drops the memory and
/// halves the trust radius.
const LBFGS_GROW: f64 = 2.0;
/// A correction pair is kept only when `s·y >= LBFGS_CURVATURE |s| |y|`.
const LBFGS_CURVATURE: f64 = 0.1;

/// L-BFGS on a force (the "gradient" is `-F`), without a line search, so that it also runs on
/// forces with no objective behind them (the NEB force). Safeguards, each measured to matter on
/// Müller-Brown bands, whose force Jacobian is far from symmetric:
///
/// - only correction pairs with `s·y >= 0.1 |s| |y|` are kept (pairs bent by the non-symmetric
///   part of the Jacobian spoil the inverse Hessian model);
/// - when the largest row force grows by more than a factor 2 over one step, the memory is
///   dropped and the trust radius halved (to half the step that did it);
/// - when the quasi-Newton direction does not point along the force (`d·F <= 0`), the memory is
///   dropped and the step is a scaled force step;
/// - the whole step is scaled so that no row moves more than the trust radius, which starts at
///   `max_step`, grows by 1.5 after every step that used it fully and never exceeds `max_step`.
///
/// Initial inverse Hessian: `gamma I` with `gamma = 0.1 max_step / max|F_row|` for the first step
/// (the most loaded row moves a tenth of `max_step`), then `s·y / y·y` of the newest pair, kept
/// across resets.
pub struct Lbfgs {
    memory: usize,
    max_step: f64,
    trust: f64,
    pairs: VecDeque<(Tensor, Tensor, f64)>,
    /// State, gradient and largest row force before the last step.
    prev: Option<(Tensor, Tensor, f64)>,
    gamma: Option<f64>,
}

impl Lbfgs {
    /// An L-BFGS stepper with `memory` correction pairs (at least 1) whose rows move at most
    /// `max_step` per step.
    pub fn new(memory: usize, max_step: f64) -> Lbfgs {
        Lbfgs {
            memory: memory.max(1),
            max_step,
            trust: max_step,
            pairs: VecDeque::new(),
            prev: None,
            gamma: None,
        }
    }

    /// `-H g` by the two-loop recursion over the stored pairs.
    fn direction(&self, g: &Tensor, gamma: f64) -> Result<Tensor> {
        let mut q = g.shallow_clone();
        let mut alphas = Vec::with_capacity(self.pairs.len());
        for (s, y, rho) in self.pairs.iter().rev() {
            let a = rho * dot(s, &q)?;
            q = q.f_sub(&y.f_mul_scalar(a)?)?;
            alphas.push(a);
        }
        let mut r = q.f_mul_scalar(gamma)?;
        for ((s, y, rho), a) in self.pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &r)?;
            r = r.f_add(&s.f_mul_scalar(a - b)?)?;
        }
        Ok(r.f_neg()?)
    }
}

impl Stepper for Lbfgs {
    fn step(&mut self, x: &Tensor, f: &Tensor) -> Result<Tensor> {
        let g = f.f_neg()?;
        let fmax = max_row_norm(f)?;
        if let Some((xp, gp, fmax_prev)) = self.prev.take() {
            let s = x.f_sub(&xp)?;
            let moved = max_row_norm(&s)?;
            if fmax > LBFGS_GROW * fmax_prev {
                self.pairs.clear();
                self.trust = (0.5 * moved).max(1e-9 * self.max_step);
            } else {
                let y = g.f_sub(&gp)?;
                let sy = dot(&s, &y)?;
                let yy = dot(&y, &y)?;
                let ss = dot(&s, &s)?;
                if sy.is_finite() && sy > LBFGS_CURVATURE * (ss * yy).sqrt() && yy > 0.0 {
                    self.pairs.push_back((s, y, 1.0 / sy));
                    while self.pairs.len() > self.memory {
                        self.pairs.pop_front();
                    }
                    self.gamma = Some(sy / yy);
                }
                if moved >= 0.99 * self.trust {
                    self.trust = (1.5 * self.trust).min(self.max_step);
                }
            }
        }
        let gamma = *self
            .gamma
            .get_or_insert(0.1 * self.max_step / fmax.max(1e-300));
        let mut d = self.direction(&g, gamma)?;
        if dot(&d, f)? <= 0.0 {
            self.pairs.clear();
            d = f.f_mul_scalar(gamma)?;
        }
        let longest = max_row_norm(&d)?;
        if longest > self.trust {
            d = d.f_mul_scalar(self.trust / longest)?;
        }
        self.prev = Some((x.shallow_clone(), g, fmax));
        Ok(x.f_add(&d)?)
    }

    /// Drops the correction pairs and the previous point; the scaling and trust radius are kept.
    fn reset(&mut self) {
        self.pairs.clear();
        self.prev = None;
    }
}
