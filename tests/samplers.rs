//! Samplers against known distributions: Gaussian moments and an exact 2-spin distribution.

use std::rc::Rc;
use tch::Tensor;
use telescope::energy::{self, tempered, Energy, EnergyRef};
use telescope::sampler::{make_sampler, run, SamplerSpec};
use telescope::tensor;

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Samples N(0, T I) from the quadratic bowl at temperature T; checks mean and variance.
fn gaussian_moments(kind: &str, step: f64, steps: usize) {
    tensor::manual_seed(42);
    let t = 2.0;
    let base: EnergyRef = Rc::new(energy::quadratic(3).unwrap());
    let e = tempered(base, t).unwrap();
    let mut s = make_sampler(
        &SamplerSpec {
            kind: telescope::sampler::SamplerKind::parse(kind).unwrap(),
            step,
            leapfrog: 8,
        },
        &e_space(),
    )
    .unwrap();
    let x0 = Tensor::f_zeros([512, 3], (tch::Kind::Double, tch::Device::Cpu)).unwrap();
    let burn = run(&e, s.as_mut(), &x0, steps / 2, 0).unwrap();
    let tr = run(&e, s.as_mut(), &burn.chains.x, steps, 10).unwrap();
    let all = Tensor::f_stack(&tr.states.iter().collect::<Vec<_>>(), 0)
        .unwrap()
        .f_view([-1, 3])
        .unwrap();
    let mean = tensor::to_vec_f64(
        &all.f_mean_dim(&[0i64][..], false, tch::Kind::Double)
            .unwrap(),
    )
    .unwrap();
    let var = tensor::to_vec_f64(&all.f_var_dim(&[0i64][..], false, false).unwrap()).unwrap();
    for j in 0..3 {
        // Chains are independent; correlated draws within a chain widen the error: loose but real bounds.
        assert!(mean[j].abs() < 0.15, "{kind}: mean {} not near 0", mean[j]);
        assert!(
            (var[j] - t).abs() < 0.25 * t,
            "{kind}: variance {} not near {t}",
            var[j]
        );
    }
    let acc = tr.chains.acceptance().unwrap();
    let mean_acc = acc.iter().sum::<f64>() / acc.len() as f64;
    assert!(
        mean_acc > 0.05 && mean_acc <= 1.0,
        "{kind}: acceptance {mean_acc}"
    );
}

fn e_space() -> telescope::energy::Space {
    telescope::energy::Space::Continuous {
        lo: vec![-3.0; 3],
        hi: vec![3.0; 3],
    }
}

#[test]
fn random_walk_mh_samples_a_gaussian() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    gaussian_moments("mh", 1.2, 600);
}

#[test]
fn component_wise_mh_samples_a_gaussian() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    gaussian_moments("cmh", 1.5, 300);
}

#[test]
fn mala_samples_a_gaussian() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    gaussian_moments("mala", 0.9, 400);
}

#[test]
fn unadjusted_langevin_samples_a_gaussian_with_small_steps() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // ULA's stationary variance for this bowl is T / (1 - eps^2 / (4T)): about 2.5% high at eps = 0.3.
    gaussian_moments("langevin", 0.3, 1000);
}

#[test]
fn hmc_samples_a_gaussian() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    gaussian_moments("hmc", 0.3, 200);
}

/// Two coupled spins with a field: exact probabilities by enumeration.
#[test]
fn gibbs_matches_the_exact_two_spin_distribution() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Ising 1x2 torus: one bond (counted once since the two neighbours coincide), T = 1.5, H = 0.4.
    let model = energy::ising(1, 2, 1.5, 0.4).unwrap();
    let states = [[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]];
    let w: Vec<f64> = states.iter().map(|s| (-model.energy_of(s)).exp()).collect();
    let z: f64 = w.iter().sum();
    let exact: Vec<f64> = w.iter().map(|v| v / z).collect();
    for kind in ["gibbs", "mh"] {
        tensor::manual_seed(7);
        let e: EnergyRef = Rc::new(energy::ising(1, 2, 1.5, 0.4).unwrap());
        let mut s = make_sampler(
            &SamplerSpec {
                kind: telescope::sampler::SamplerKind::parse(kind).unwrap(),
                step: 1.0,
                leapfrog: 1,
            },
            &e.space(),
        )
        .unwrap();
        let x0 = Tensor::f_ones([2000, 2], (tch::Kind::Double, tch::Device::Cpu)).unwrap();
        let tr = run(e.as_ref(), s.as_mut(), &x0, 60, 3).unwrap();
        let mut counts = [0f64; 4];
        for st in &tr.states[5..] {
            for row in tensor::to_matrix(st).unwrap() {
                let k = states
                    .iter()
                    .position(|s| s[0] == row[0] && s[1] == row[1])
                    .unwrap();
                counts[k] += 1.0;
            }
        }
        let n: f64 = counts.iter().sum();
        for k in 0..4 {
            let p = counts[k] / n;
            assert!(
                (p - exact[k]).abs() < 0.02,
                "{kind}: state {k} frequency {p} vs exact {}",
                exact[k]
            );
        }
    }
}

#[test]
fn gibbs_on_a_tempered_spin_glass_matches_the_exact_mean_energy() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Native local-field Gibbs at T = 0.2 against the exact Boltzmann mean over all 16 states.
    tensor::manual_seed(3);
    let model = energy::sk(4, 9, 1.0).unwrap();
    let all: Vec<Vec<f64>> = (0..16)
        .map(|s| {
            (0..4)
                .map(|i| if s >> i & 1 == 1 { 1.0 } else { -1.0 })
                .collect()
        })
        .collect();
    let w: Vec<f64> = all
        .iter()
        .map(|s| (-model.energy_of(s) * 5.0).exp())
        .collect();
    let z: f64 = w.iter().sum();
    let exact_mean_energy: f64 = all
        .iter()
        .zip(&w)
        .map(|(s, w)| model.energy_of(s) * w / z)
        .sum();
    let base: EnergyRef = Rc::new(energy::sk(4, 9, 1.0).unwrap());
    let e = tempered(base, 0.2).unwrap();
    let mut s = make_sampler(
        &SamplerSpec {
            kind: telescope::sampler::SamplerKind::Gibbs,
            step: 1.0,
            leapfrog: 1,
        },
        &e.space(),
    )
    .unwrap();
    let x0 = Tensor::f_ones([4000, 4], (tch::Kind::Double, tch::Device::Cpu)).unwrap();
    let tr = run(&e, s.as_mut(), &x0, 30, 0).unwrap();
    let u = tensor::to_vec_f64(&tr.chains.u).unwrap();
    let mean = u.iter().map(|v| v * 0.2).sum::<f64>() / u.len() as f64;
    assert!(
        (mean - exact_mean_energy).abs() < 0.01,
        "mean energy {mean} vs exact {exact_mean_energy}"
    );
}

/// The quadratic bowl, undefined (NaN) where the first coordinate is positive.
struct NanBeyondZero;

impl Energy for NanBeyondZero {
    fn name(&self) -> String {
        "nan_beyond_zero".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(3)
    }
    fn space(&self) -> telescope::energy::Space {
        e_space()
    }
    fn energy(&self, x: &Tensor) -> telescope::Result<Tensor> {
        let u = x
            .f_square()?
            .f_sum_dim_intlist(1, false, x.kind())?
            .f_mul_scalar(0.5)?;
        let bad = x.f_select(1, 0)?.f_gt(0.0)?;
        Ok(u.f_masked_fill(&bad, f64::NAN)?)
    }
}

/// Acceptance counts are what the chains did, read off the states: a random-walk, Langevin or
/// HMC step is accepted exactly when its row moved, a component-wise sweep counts the share of
/// coordinates that moved (continuous proposals never repeat a value). And a NaN energy is
/// never accepted: chains started at x0 = -0.2 never cross into x0 > 0.
#[test]
fn acceptance_counts_are_the_moves_the_states_made_and_nan_is_never_accepted() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use telescope::sampler::{Chains, SamplerKind};
    let nan: EnergyRef = Rc::new(NanBeyondZero);
    for kind in [
        SamplerKind::Mh,
        SamplerKind::Cmh,
        SamplerKind::Mala,
        SamplerKind::Hmc,
    ] {
        for seed in 0..4u64 {
            tensor::manual_seed(seed);
            let e = tempered(nan.clone(), 0.5).unwrap();
            let spec = SamplerSpec {
                kind,
                step: 0.3,
                leapfrog: 3,
            };
            let mut s = make_sampler(&spec, &e_space()).unwrap();
            let x0 = tensor::from_vec(&[-0.2, 0.0, 0.0], &[1, 3])
                .unwrap()
                .f_repeat([64, 1])
                .unwrap();
            let mut c = Chains::new(&e, &x0).unwrap();
            let mut moved = vec![0.0; 64];
            let _g = tch::no_grad_guard();
            for _ in 0..40 {
                let before = tensor::to_matrix(&c.x).unwrap();
                s.step(&e, &mut c).unwrap();
                c.steps += 1;
                let after = tensor::to_matrix(&c.x).unwrap();
                for (k, (b, a)) in before.iter().zip(&after).enumerate() {
                    assert!(
                        a[0] <= 0.0,
                        "{kind:?} seed {seed}: chain {k} accepted a NaN state {a:?}"
                    );
                    let changed = b.iter().zip(a).filter(|(p, q)| p != q).count() as f64;
                    moved[k] += match kind {
                        SamplerKind::Cmh => changed / 3.0,
                        _ => (changed > 0.0) as u8 as f64,
                    };
                }
            }
            let counted = tensor::to_vec_f64(&c.accepted).unwrap();
            for k in 0..64 {
                assert!(
                    (counted[k] - moved[k]).abs() < 1e-9,
                    "{kind:?} seed {seed} chain {k}: {} accepted, {} moves",
                    counted[k],
                    moved[k]
                );
            }
            assert!(moved.iter().sum::<f64>() > 0.0, "{kind:?}: nothing moved");
        }
    }
}
