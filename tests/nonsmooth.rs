//! Minimizing energies with kinks (ReLU networks and L1 terms have them), against closed forms.
//! FIRE and gradient descent stop on a kink wherever they meet one: before gradient sampling took
//! over their stalled chains, no chain of the lassos below converged, and the farthest stopped
//! 0.46-0.85 away from the minimum.
//!
//! - A rotated lasso `sum_j |(W x)_j| + ||x - a||^2 / 2` with orthogonal `W` is convex; its
//!   minimum is `W^T soft(W a, 1)`, where several kinks meet.
//! - A rotated kinked well `sum_j |(W x)_j^2 - 1|` is not convex: its local minima are the
//!   corners `W^T s`, `s` in `{-1, 1}^D`, all at energy 0, each where `D` kinks meet.
//! - Ridges `x^2 / 2 - |x|` crossed with valley kinks `|y - 1|`, started on the ridges: gradient
//!   sampling alone stopped there (the gradients on a ridge's two sides cancel), or zigzagged
//!   for thousands of steps across a valley kink just outside its shrunken ball.
//! - Latent energies of small ReLU networks: no point near a converged chain is lower.

use tch::{Kind, Tensor};
use telescope::energy::{Energy, Space};
use telescope::minimize::{minimize, MinimizeMethod, MinimizeOptions};
use telescope::{tensor, Result};

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `sum_j |(W x)_j| + ||x - a||^2 / 2` with orthogonal `W` `[D, D]`.
struct RotatedLasso {
    w: Tensor,
    a: Tensor,
}

impl RotatedLasso {
    /// A random orthogonal `W` and a centre `a` whose rotated coordinates lie in `[-2, 2]`, so
    /// that about half of them are cut to zero at the minimum.
    fn random(d: i64) -> RotatedLasso {
        let q = rotation(d);
        let wa = Tensor::rand([d], (Kind::Double, tch::Device::Cpu)) * 4.0 - 2.0;
        let a = q.transpose(0, 1).matmul(&wa);
        RotatedLasso { w: q, a }
    }

    /// The minimum `W^T soft(W a, 1)` and its energy.
    fn minimum(&self) -> (Vec<f64>, f64) {
        let wa = self.w.matmul(&self.a);
        let y = wa.sign() * (wa.abs() - 1.0).clamp_min(0.0);
        let x = self.w.transpose(0, 1).matmul(&y);
        let u = tensor::to_vec_f64(&self.energy(&x.unsqueeze(0)).unwrap()).unwrap()[0];
        (tensor::to_vec_f64(&x).unwrap(), u)
    }
}

fn space(d: usize) -> Space {
    Space::Continuous {
        lo: vec![-3.0; d],
        hi: vec![3.0; d],
    }
}

/// A random orthogonal `[d, d]` matrix.
fn rotation(d: i64) -> Tensor {
    Tensor::randn([d, d], (Kind::Double, tch::Device::Cpu))
        .qr(true)
        .0
}

impl Energy for RotatedLasso {
    fn name(&self) -> String {
        "rotated_lasso".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(self.a.size()[0] as usize)
    }
    fn space(&self) -> Space {
        space(self.a.size()[0] as usize)
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let l1 = x
            .f_matmul(&self.w.f_transpose(0, 1)?)?
            .f_abs()?
            .f_sum_dim_intlist(1, false, x.kind())?;
        let fit = x
            .f_sub(&self.a)?
            .f_square()?
            .f_sum_dim_intlist(1, false, x.kind())?
            .f_mul_scalar(0.5)?;
        Ok(l1.f_add(&fit)?)
    }
}

/// `sum_j |(W x)_j^2 - 1|` with orthogonal `W`.
struct KinkedWells {
    w: Tensor,
}

impl Energy for KinkedWells {
    fn name(&self) -> String {
        "kinked_wells".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(self.w.size()[0] as usize)
    }
    fn space(&self) -> Space {
        space(self.w.size()[0] as usize)
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_matmul(&self.w.f_transpose(0, 1)?)?
            .f_square()?
            .f_sub_scalar(1.0)?
            .f_abs()?
            .f_sum_dim_intlist(1, false, x.kind())?)
    }
}

fn search(e: &dyn Energy, x0: &Tensor, method: MinimizeMethod) -> telescope::minimize::Minima {
    minimize(
        e,
        x0,
        &MinimizeOptions {
            method,
            ..Default::default()
        },
    )
    .unwrap()
}

const METHODS: [MinimizeMethod; 2] = [MinimizeMethod::Fire, MinimizeMethod::Gd];

#[test]
fn every_chain_reaches_the_soft_thresholded_minimum_of_a_rotated_lasso() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for case in 0..12u64 {
        tensor::manual_seed(case);
        let d = 1 + (case as i64 * 5) % 10;
        let e = RotatedLasso::random(d);
        let (best, lowest) = e.minimum();
        let x0 = telescope::energy::random_states(&e, 16).unwrap();
        for method in METHODS {
            let m = search(&e, &x0, method);
            let u = tensor::to_vec_f64(&m.energy).unwrap();
            for (i, row) in tensor::to_matrix(&m.x).unwrap().iter().enumerate() {
                let far = tensor::distance(row, &best);
                assert!(
                    m.converged[i] && far < 1e-4 && u[i] - lowest < 1e-6,
                    "case {case} (D {d}, {method:?}), chain {i}: converged {}, {far:.2e} from \
                     the minimum, energy {:.2e} above it",
                    m.converged[i],
                    u[i] - lowest
                );
            }
        }
    }
}

#[test]
fn every_chain_stops_at_a_corner_of_the_kinked_wells() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for case in 0..8u64 {
        tensor::manual_seed(100 + case);
        let d = 2 + case as i64 % 5;
        let e = KinkedWells { w: rotation(d) };
        let x0 = telescope::energy::random_states(&e, 16).unwrap();
        for method in METHODS {
            let m = search(&e, &x0, method);
            let y = tensor::to_matrix(&m.x.matmul(&e.w.transpose(0, 1))).unwrap();
            let u = tensor::to_vec_f64(&m.energy).unwrap();
            for (i, yi) in y.iter().enumerate() {
                let off = yi.iter().map(|v| (v.abs() - 1.0).abs()).fold(0.0, f64::max);
                assert!(
                    m.converged[i] && off < 1e-5 && u[i] < 1e-5,
                    "case {case} (D {d}, {method:?}), chain {i}: converged {}, rotated \
                     coordinates {yi:?} (energy {:.2e}) are not a corner",
                    m.converged[i],
                    u[i]
                );
            }
        }
    }
}

/// The sampled balls are seeded by each chain's own coordinates, not drawn from the session's
/// random stream: minimizing leaves the stream where it was, so a map that minimizes between
/// samplers draws the same numbers whether or not its chains met kinks.
#[test]
fn gradient_sampling_leaves_the_random_stream_alone() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tensor::manual_seed(7);
    let e = RotatedLasso::random(6);
    let x0 = telescope::energy::random_states(&e, 12).unwrap();
    for method in METHODS {
        tensor::manual_seed(11);
        let expected = Tensor::randn([4], (Kind::Double, tch::Device::Cpu));
        tensor::manual_seed(11);
        let m = search(&e, &x0, method);
        assert!(m.iterations > 0 && m.converged.iter().all(|c| *c));
        let next = Tensor::randn([4], (Kind::Double, tch::Device::Cpu));
        assert_eq!(
            tensor::to_vec_f64(&next).unwrap(),
            tensor::to_vec_f64(&expected).unwrap(),
            "{method:?}"
        );
    }
}

/// `|x_0|` inside the unit disk and NaN outside it (an energy defined on a domain): its minima
/// are the segment `x_0 = 0`, energy 0.
struct NanOutside;

impl Energy for NanOutside {
    fn name(&self) -> String {
        "nan_outside".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(2)
    }
    fn space(&self) -> Space {
        space(2)
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        // 0 * sqrt(1 - r^2): zero inside, NaN (with a NaN gradient) outside.
        let domain = x
            .f_square()?
            .f_sum_dim_intlist(1, false, x.kind())?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_sqrt()?
            .f_mul_scalar(0.0)?;
        Ok(x.f_select(1, 0)?.f_abs()?.f_add(&domain)?)
    }
}

#[test]
fn samples_outside_the_domain_do_not_stop_a_chain_at_its_rim() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Starts next to the rim: FIRE stalls on the kink, and the balls reach outside the disk.
    let x0 = tensor::from_vec(&[0.01, 0.999, -0.02, -0.998, 0.3, 0.2], &[3, 2]).unwrap();
    for method in METHODS {
        let m = search(&NanOutside, &x0, method);
        let u = tensor::to_vec_f64(&m.energy).unwrap();
        for (i, (ui, ok)) in u.iter().zip(&m.converged).enumerate() {
            assert!(
                *ok && ui.abs() < 1e-6,
                "{method:?}, chain {i}: converged {ok} with energy {ui}"
            );
        }
    }
}

/// On a smooth energy FIRE converges before its time step collapses, so gradient sampling never
/// takes over: `minimize` returns exactly what FIRE alone does (Müller-Brown and a bowl in 12
/// dimensions, at the default and a tight tolerance).
#[test]
fn smooth_energies_never_reach_gradient_sampling() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tensor::manual_seed(5);
    let energies: Vec<Box<dyn Energy>> = vec![
        Box::new(telescope::energy::muller_brown()),
        Box::new(telescope::energy::quadratic(12).unwrap()),
    ];
    for e in &energies {
        let x0 = telescope::energy::random_states(e.as_ref(), 200).unwrap();
        for tol in [1e-6, 1e-9] {
            let opts = MinimizeOptions {
                tol,
                ..Default::default()
            };
            let both = minimize(e.as_ref(), &x0, &opts).unwrap();
            let alone = telescope::minimize::fire(e.as_ref(), &x0, &opts).unwrap();
            assert_eq!(
                both.iterations,
                alone.iterations,
                "{} at tol {tol}",
                e.name()
            );
            assert!(
                both.converged.iter().all(|c| *c),
                "{} at tol {tol}",
                e.name()
            );
            assert_eq!(
                tensor::to_vec_f64(&both.x.reshape([-1])).unwrap(),
                tensor::to_vec_f64(&alone.x.reshape([-1])).unwrap()
            );
        }
    }
}

/// Lowest energy found around `x` `[D]`: at 256 random points on each sphere of radius
/// `r * width`, r in 1e-6..1e-3, and one step of the same length down the gradient at each of
/// them (on a kinked energy, each piece's own descent direction). Returns how much lower than
/// `E(x)` the lowest of them is.
fn lowest_nearby(e: &dyn Energy, x: &Tensor, width: f64) -> f64 {
    let u0 = tensor::to_vec_f64(&e.energy(&x.unsqueeze(0)).unwrap()).unwrap()[0];
    let d = x.size()[0];
    let mut lowest = f64::INFINITY;
    for r in [1e-6, 1e-5, 1e-4, 1e-3] {
        let dir = Tensor::randn([256, d], (Kind::Double, tch::Device::Cpu));
        let dir = &dir / dir.norm_scalaropt_dim(2, [1i64], true);
        let points = x.unsqueeze(0) + dir * (r * width);
        let (u, g) = e.energy_and_grad(&points).unwrap();
        let g = &g / g.norm_scalaropt_dim(2, [1i64], true).clamp_min(1e-300);
        let down = x.unsqueeze(0) - g * (r * width);
        for v in [u, e.energy(&down).unwrap()] {
            lowest = tensor::to_vec_f64(&v)
                .unwrap()
                .into_iter()
                .fold(lowest, f64::min);
        }
    }
    u0 - lowest
}

/// Property: on latent energies of small ReLU networks with random weights (float64, the
/// paper's `U(g(z)) + ||z||^2 / 2` with kinks from every ReLU), every chain converges, and no
/// point within `1e-3` of the box's width of a converged chain, nor a step down any gradient
/// there, is lower than it beyond round-off: the chains stop at local minima, not merely where
/// sampled gradients cancel.
#[test]
fn converged_chains_on_relu_latent_energies_are_local_minima() {
    use std::rc::Rc;
    use telescope::models::{LatentEnergy, Net};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (case, z) in [(0u64, 2i64), (1, 3), (2, 4), (3, 6), (4, 8), (5, 5)] {
        tensor::manual_seed(100 + case);
        let desc = Net::descriptor("fc(32) fc(16) fc(1)", [64, 1, 1], "float64").unwrap();
        let gen = Net::generator("fc(24) fc(64)", z, "float64").unwrap();
        let e = LatentEnergy::new(Rc::new(desc), Rc::new(gen), 0.3, 1.0, 3.0).unwrap();
        let x0 = telescope::energy::random_states(&e, 24).unwrap();
        let found = search(&e, &x0, MinimizeMethod::Fire);
        let u = tensor::to_vec_f64(&found.energy).unwrap();
        for (i, converged) in found.converged.iter().enumerate() {
            assert!(
                *converged,
                "case {case} (Z = {z}): chain {i} did not converge"
            );
            let lower = lowest_nearby(&e, &found.x.get(i as i64).to_kind(Kind::Double), 6.0);
            assert!(
                lower <= 1e-7 * u[i].abs().max(1.0),
                "case {case} (Z = {z}): a point near chain {i} is {lower:e} lower (energy {})",
                u[i]
            );
        }
    }
}

/// `sum_{j < k} (x_j^2 / 2 - |x_j|) + sum_{j >= k} |x_j - 1|`: a ridge (a concave kink) along
/// each of the first `k` axes, a valley kink at 1 along the others. Its minima are `x_j = +-1`
/// for `j < k` and `x_j = 1` for the others, at energy `-k / 2`.
struct Ridges {
    d: usize,
    k: usize,
}

impl Energy for Ridges {
    fn name(&self) -> String {
        "ridges".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(self.d)
    }
    fn space(&self) -> Space {
        space(self.d)
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let k = self.k as i64;
        let r = x.f_narrow(1, 0, k)?;
        let ridges = r.f_square()?.f_mul_scalar(0.5)?.f_sub(&r.f_abs()?)?;
        let valleys = x
            .f_narrow(1, k, self.d as i64 - k)?
            .f_sub_scalar(1.0)?
            .f_abs()?;
        Ok(ridges
            .f_sum_dim_intlist(1, false, x.kind())?
            .f_add(&valleys.f_sum_dim_intlist(1, false, x.kind())?)?)
    }
}

/// Chains that start on the ridges (the symmetric point of a symmetric energy, where libtorch's
/// gradient of `|x|` is 0): the sampled gradients on the ridges' two sides cancel, so gradient
/// sampling alone called them converged there, at energy 0 per ridge. They must go on down to a
/// minimum.
#[test]
fn chains_started_on_a_ridge_do_not_stop_there() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (d, k) in [(2usize, 1usize), (3, 1), (4, 2), (6, 3), (8, 2)] {
        tensor::manual_seed(d as u64);
        let e = Ridges { d, k };
        let ridge = Tensor::zeros([16, k as i64], (Kind::Double, tch::Device::Cpu));
        let rest = Tensor::rand([16, (d - k) as i64], (Kind::Double, tch::Device::Cpu)) * 4.0 - 2.0;
        let x0 = Tensor::cat(&[ridge, rest], 1);
        for method in METHODS {
            let found = search(&e, &x0, method);
            let u = tensor::to_vec_f64(&found.energy).unwrap();
            let x = tensor::to_matrix(&found.x).unwrap();
            for i in 0..16 {
                assert!(found.converged[i], "D = {d}, {method:?}: chain {i} did not converge ({} iterations, energy {}, at {:?})", found.iterations, u[i], x[i]);
                assert!(
                    (u[i] + k as f64 / 2.0).abs() < 1e-6,
                    "D = {d}, {method:?}: chain {i} stopped at energy {} at {:?}, minima at {}",
                    u[i],
                    x[i],
                    -(k as f64) / 2.0
                );
            }
        }
    }
}
