//! Stateful optimizer steps over a force: FIRE and L-BFGS as small objects that take the
//! current state and force and return the next state, so that any loop (the NEB band, the
//! single-image saddle climb) can drive either without holding their internals.
//!
//! A state is a tensor `[n, D]` whose rows move together as one system (the images of a band,
//! or a single state `[1, D]`); the force is a tensor of the same shape (minus the gradient, or
//! a projected force with no objective behind it, such as the NEB force). Both steppers cap the
//! move of every row at `max_step`.
//!
//! [`minimize::fire`](super::fire) is a separate, batched FIRE: there every row is its own chain
//! with its own time step, and it stops rows one by one.

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

/// FIRE (Bitzek et al. 2006) over the whole state: one velocity, time step and mixing factor
/// for all rows. The velocity is mixed towards the force while the power `F·v` stays positive
/// (the time step grows by 1.1 after 5 such steps, up to 10 times the first, and the mixing
/// factor decays from 0.1 by 0.99), and is zeroed with the time step halved when the power
/// turns negative. The first time step is `sqrt(0.1 max_step / max|F_row|)`; each row moves
/// at most `max_step` per step.
pub struct Fire {
    max_step: f64,
    vel: Option<Tensor>,
    alpha: f64,
    dt: f64,
    dt_max: f64,
    n_pos: usize,
}

const FIRE_ALPHA0: f64 = 0.1;
const FIRE_F_ALPHA: f64 = 0.99;
const FIRE_F_INC: f64 = 1.1;
const FIRE_F_DEC: f64 = 0.5;
const FIRE_N_MIN: usize = 5;

impl Fire {
    /// A FIRE stepper whose rows move at most `max_step` per step.
    pub fn new(max_step: f64) -> Fire {
        Fire {
            max_step,
            vel: None,
            alpha: FIRE_ALPHA0,
            dt: 0.0,
            dt_max: 0.0,
            n_pos: 0,
        }
    }
}

impl Stepper for Fire {
    fn step(&mut self, x: &Tensor, f: &Tensor) -> Result<Tensor> {
        if self.dt == 0.0 {
            let fmax = max_row_norm(f)?.max(1e-300);
            self.dt = (0.1 * self.max_step / fmax).sqrt();
            self.dt_max = 10.0 * self.dt;
        }
        let vel = match self.vel.take() {
            Some(v) => v,
            None => x.f_zeros_like()?,
        };
        let power = dot(f, &vel)?;
        let vel = if power > 0.0 {
            let vnorm = tensor::scalar_f64(&vel.f_norm()?)?;
            let ftot = tensor::scalar_f64(&f.f_norm()?)?.max(1e-300);
            let mixed = vel
                .f_mul_scalar(1.0 - self.alpha)?
                .f_add(&f.f_mul_scalar(self.alpha * vnorm / ftot)?)?;
            if self.n_pos > FIRE_N_MIN {
                self.dt = (self.dt * FIRE_F_INC).min(self.dt_max);
                self.alpha *= FIRE_F_ALPHA;
            }
            self.n_pos += 1;
            mixed
        } else {
            self.dt *= FIRE_F_DEC;
            self.alpha = FIRE_ALPHA0;
            self.n_pos = 0;
            vel.f_zeros_like()?
        };
        let vel = vel.f_add(&f.f_mul_scalar(self.dt)?)?;
        let step = vel.f_mul_scalar(self.dt)?;
        self.vel = Some(vel);
        Ok(x.f_add(&cap_rows(&step, self.max_step)?)?)
    }

    /// Zeroes the velocity; the time step and mixing factor are kept.
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
