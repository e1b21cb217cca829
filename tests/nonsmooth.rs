//! Minimizing energies with kinks (ReLU networks and L1 terms have them), against closed forms.
//! FIRE and gradient descent stop on a kink wherever they meet one: before gradient sampling took
//! over their stalled chains, no chain of the lassos below converged, and the farthest stopped
//! 0.46-0.85 away from the minimum.
//!
//! - A rotated lasso `sum_j |(W x)_j| + ||x - a||^2 / 2` with orthogonal `W` is convex; its
//!   minimum is `W^T soft(W a, 1)`, where several kinks meet.
//! - A rotated kinked well `sum_j |(W x)_j^2 - 1|` is not convex: its local minima are the
//!   corners `W^T s`, `s` in `{-1, 1}^D`, all at energy 0, each where `D` kinks meet.

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
