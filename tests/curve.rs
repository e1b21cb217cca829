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
use telescope::landscape::neb::{SaddleOptions, SampledPath};
use telescope::tensor;

use common::serial_f64 as init;

use common::muller_brown::{MIN_A, MIN_B, MIN_C, SADDLE_AC, SADDLE_CB};

fn t(v: &[f64]) -> Tensor {
    tensor::from_vec(v, &[v.len() as i64]).unwrap()
}

fn gap(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// φ(t) of a 2-D curve with control points `control` (`[bends + 2, 2]` flattened): the
/// Bézier sum of Bernstein polynomials, or the chain through equally spaced knots.
fn curve_point(kind: CurveKind, control: &[f64], t: f64) -> [f64; 2] {
    let m = control.len() / 2 - 1;
    let p = |i: usize| [control[2 * i], control[2 * i + 1]];
    match kind {
        CurveKind::Bezier => {
            let mut out = [0.0; 2];
            let mut binom = 1.0;
            for i in 0..=m {
                let w = binom * t.powi(i as i32) * (1.0 - t).powi((m - i) as i32);
                out[0] += w * p(i)[0];
                out[1] += w * p(i)[1];
                binom = binom * (m - i) as f64 / (i + 1) as f64;
            }
            out
        }
        CurveKind::Polychain => {
            let s = (t * m as f64).min(m as f64 - 1e-12);
            let i = s.floor() as usize;
            let f = s - i as f64;
            let (a, b) = (p(i), p(i + 1));
            [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])]
        }
    }
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
                // The images lie on the curve its control points define (Bernstein or
                // piecewise-linear, written out here), and the curve, densely sampled, crosses
                // the ridge: no continuous path between the minima stays below the saddle.
                let control = tensor::to_vec_f64(&c.control.reshape([-1])).unwrap();
                let on_curve = |t: f64| curve_point(kind, &control, t);
                for (k, img) in (0..n).map(|k| (k, c.images.get(k))) {
                    let want = on_curve(k as f64 / (n - 1) as f64);
                    let got = tensor::to_vec_f64(&img).unwrap();
                    assert!(
                        (got[0] - want[0]).abs() < 1e-9 && (got[1] - want[1]).abs() < 1e-9,
                        "{what}: image {k} at {got:?}, the curve at {want:?}"
                    );
                }
                let dense: Vec<f64> = (0..=4000)
                    .flat_map(|k| on_curve(k as f64 / 4000.0))
                    .collect();
                let u = e
                    .energy(&tensor::from_vec(&dense, &[4001, 2]).unwrap())
                    .unwrap();
                let top = u.max().double_value(&[]);
                assert!(
                    top >= saddle[2] - 1e-6,
                    "{what}: the curve's highest energy {top} is below the saddle's {}",
                    saddle[2]
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
    let minibatch = CurveOptions {
        minibatch: Some(16),
        ..Default::default()
    };
    let no_data = curve_path(&e, &a, &b, &minibatch)
        .err()
        .unwrap()
        .to_string();
    assert!(no_data.contains("torch_loss"), "{no_data}");
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
