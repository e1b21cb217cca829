//! Image-space ADELM (paper section 5.3): Gibbs sampling on K-level pixels, generator
//! proposals, single-site descent. Checked against a closed form (a separable energy has one
//! minimum, the per-pixel argmin) and against exhaustive enumeration of single-pixel changes.

use std::rc::Rc;
use tch::{Kind, Tensor};
use telescope::energy::{EnergyRef, Space};
use telescope::landscape::ad::AdOptions;
use telescope::landscape::adelm::{adelm, AdelmOptions, Proposer};
use telescope::minimize::descend_discrete;
use telescope::models::{DeepFrameEnergy, GeneratorProposer, ImageSpace, Net};
use telescope::sampler::SamplerSpec;
use telescope::tensor;

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const LEVELS: usize = 4;

fn levels() -> Vec<f64> {
    (0..LEVELS)
        .map(|i| -1.0 + 2.0 * i as f64 / (LEVELS as f64 - 1.0))
        .collect()
}

fn image_energy(desc: Net, sigma: f64) -> EnergyRef {
    let space = ImageSpace {
        levels: LEVELS,
        ..Default::default()
    };
    Rc::new(DeepFrameEnergy::new(Rc::new(desc), sigma, space).unwrap())
}

/// A small random ConvNet energy on 8 x 8 images with weights scaled up, so that its
/// landscape is rugged, with several single-pixel minima.
fn rugged_image_energy() -> EnergyRef {
    let desc = Net::descriptor("conv(6,3,2) fc(8) fc(1)", [1, 8, 8], "float64").unwrap();
    tch::no_grad(|| {
        for mut p in desc.parameters().unwrap() {
            let _ = p.f_mul_scalar_(6.0).unwrap();
        }
    });
    image_energy(desc, 1.0)
}

fn gibbs_options(iters: usize) -> AdelmOptions {
    AdelmOptions {
        ad: AdOptions {
            temperature: 1.0,
            alpha: 2.0,
            delta: telescope::landscape::ad::Delta::Fixed(0.0),
            improvement_limit: 20,
            max_steps: 200,
            sampler: SamplerSpec {
                kind: telescope::sampler::SamplerKind::Gibbs,
                ..Default::default()
            },
            ..Default::default()
        },
        iters,
        batch: 4,
        seed: 3,
        ..Default::default()
    }
}

fn energy_of(e: &EnergyRef, state: &[f64]) -> f64 {
    let x = tensor::from_vec(state, &[1, state.len() as i64]).unwrap();
    telescope::energy::energies_f64(e.as_ref(), &x).unwrap()[0]
}

/// True when no single-pixel change of `state` to another level lowers the energy, found by
/// scoring every such change.
fn is_single_pixel_minimum(e: &EnergyRef, state: &[f64]) -> bool {
    let u0 = energy_of(e, state);
    let mut rows = Vec::new();
    for i in 0..state.len() {
        for v in levels() {
            if (v - state[i]).abs() > 1e-9 {
                let mut s = state.to_vec();
                s[i] = v;
                rows.extend(s);
            }
        }
    }
    let n = rows.len() / state.len();
    let x = tensor::from_vec(&rows, &[n as i64, state.len() as i64]).unwrap();
    let u = telescope::energy::energies_f64(e.as_ref(), &x).unwrap();
    u.iter().all(|&v| v >= u0 - 1e-9 * (1.0 + u0.abs()))
}

fn on_grid(state: &[f64]) -> bool {
    state
        .iter()
        .all(|v| levels().iter().any(|l| (l - v).abs() < 1e-9))
}

#[test]
fn separable_image_energy_maps_to_its_single_closed_form_minimum() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    tensor::manual_seed(11);
    // A linear score F(I) = w.I + b makes U(I) = sum_i (-w_i I_i + I_i^2 / (2 sigma^2)) + const
    // separable: its only single-pixel minimum takes, in each pixel, the level minimizing
    // -w_i v + v^2 / (2 sigma^2).
    let sigma = 0.7;
    let desc = Net::descriptor("fc(1)", [1, 8, 8], "float64").unwrap();
    let params = desc.parameters().unwrap();
    let w = Vec::<f64>::try_from(&params[0].flatten(0, -1).to_kind(Kind::Double)).unwrap();
    assert_eq!(w.len(), 64);
    let expected: Vec<f64> = w
        .iter()
        .map(|wi| {
            *levels()
                .iter()
                .min_by(|a, b| {
                    let ua = -wi * *a + *a * *a / (2.0 * sigma * sigma);
                    let ub = -wi * *b + *b * *b / (2.0 * sigma * sigma);
                    ua.total_cmp(&ub)
                })
                .unwrap()
        })
        .collect();
    let e = image_energy(desc, sigma);
    let gen = Rc::new(Net::generator("convT(8,4,1) convT(1,3,2)", 2, "float64").unwrap());
    let mut proposer = GeneratorProposer::new(gen, &e.space(), e.dim()).unwrap();
    let map = adelm(&e, &mut proposer, &gibbs_options(6)).unwrap();
    assert_eq!(map.minima.len(), 1, "a separable energy has one minimum");
    assert_eq!(map.groups.len(), 1);
    assert_eq!(map.groups[0].members, 6);
    for (got, want) in map.minima[0].state.iter().zip(&expected) {
        assert!(
            (got - want).abs() < 1e-9,
            "pixel {got} but closed form {want}"
        );
    }
}

#[test]
fn image_space_adelm_finds_single_pixel_minima_with_generator_proposals() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    tensor::manual_seed(5);
    let e = rugged_image_energy();
    let gen = Rc::new(Net::generator("convT(8,4,1) convT(1,3,2)", 2, "float64").unwrap());
    let mut proposer = GeneratorProposer::new(gen.clone(), &e.space(), e.dim()).unwrap();

    // Proposals are generator images on the pixel grid.
    let p = proposer.propose(5).unwrap();
    assert_eq!(p.size(), vec![5, 64]);
    let rows = tensor::to_vec_f64(&p).unwrap();
    assert!(rows.chunks(64).all(on_grid), "proposals must be quantized");

    let map = adelm(&e, &mut proposer, &gibbs_options(8)).unwrap();
    let total: usize = map.groups.iter().map(|g| g.members).sum();
    assert_eq!(total, 8, "every iteration's minimum is sorted into a group");
    for m in &map.minima {
        assert!(on_grid(&m.state));
        assert!(
            is_single_pixel_minimum(&e, &m.state),
            "a reported minimum (energy {}) can be lowered by one pixel change",
            m.energy
        );
        assert!((energy_of(&e, &m.state) - m.energy).abs() < 1e-9 * (1.0 + m.energy.abs()));
    }
    // A barrier between two groups is the top of a path joining them: at least both ends.
    for (i, row) in map.barriers.iter().enumerate() {
        for (j, b) in row.iter().enumerate() {
            if let (true, Some(b)) = (i != j, b) {
                let hi = map.groups[i].energy.max(map.groups[j].energy);
                assert!(*b >= hi - 1e-9, "barrier {b} below an endpoint energy {hi}");
            }
        }
    }
}

#[test]
fn discrete_descent_stops_at_a_single_pixel_minimum_below_its_start() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    tensor::manual_seed(7);
    let e = rugged_image_energy();
    // Off-grid starts are snapped to the nearest level first.
    let start = Tensor::rand([6, 64], (Kind::Double, tch::Device::Cpu)) * 2.0 - 1.0;
    let snapped: Vec<f64> = tensor::to_vec_f64(&start)
        .unwrap()
        .iter()
        .map(|v| {
            *levels()
                .iter()
                .min_by(|a, b| (*a - v).abs().total_cmp(&(*b - v).abs()))
                .unwrap()
        })
        .collect();
    let found = descend_discrete(e.as_ref(), &start, 100).unwrap();
    assert!(found.converged.iter().all(|c| *c));
    let states = tensor::to_vec_f64(&found.x).unwrap();
    let energies = tensor::to_vec_f64(&found.energy).unwrap();
    for (k, s) in states.chunks(64).enumerate() {
        assert!(on_grid(s));
        assert!(is_single_pixel_minimum(&e, s));
        let u_start = energy_of(&e, &snapped[k * 64..(k + 1) * 64]);
        assert!(energies[k] <= u_start + 1e-9);
        assert!((energy_of(&e, s) - energies[k]).abs() < 1e-9 * (1.0 + energies[k].abs()));
    }
    // Generator proposals refuse energies they cannot feed.
    let gen = Rc::new(Net::generator("convT(8,4,1) convT(1,3,2)", 2, "float64").unwrap());
    assert!(GeneratorProposer::new(gen.clone(), &Space::Spins, Some(64)).is_err());
    assert!(GeneratorProposer::new(gen, &e.space(), Some(16)).is_err());
    let desc_net = Rc::new(Net::descriptor("fc(1)", [1, 8, 8], "float64").unwrap());
    assert!(GeneratorProposer::new(desc_net, &e.space(), Some(64)).is_err());
}
