//! Incremental single-pixel scores of conv-then-fc descriptors against the full forward pass,
//! as a property over random networks (channels, kernel, stride, padding, depth), images,
//! pixels and levels, in float64: plain image energies, magnetized ones with per-chain targets
//! and strengths, after chains of changes, and through the samplers and descent that use them.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::rc::Rc;
use tch::{Device, Kind, Tensor};
use telescope::energy::{Energy, EnergyRef, FullPass, Magnetized};
use telescope::models::{DeepFrameEnergy, ImageSpace, Net, Role};

/// A random conv-then-fc descriptor (sometimes with more fc layers after), its image energy
/// on `levels` grey levels, and a description for failure messages.
fn random_energy(rng: &mut StdRng, levels: usize) -> (Rc<DeepFrameEnergy>, [i64; 3], String) {
    loop {
        let c0 = rng.random_range(1..=2);
        let (h, w) = (rng.random_range(3..=9), rng.random_range(3..=9));
        let kernel = rng.random_range(1..=5);
        let stride = rng.random_range(1..=3);
        let padding = rng.random_range(0..=kernel);
        let mut spec = format!(
            "conv({},{kernel},{stride},{padding}) fc({})",
            rng.random_range(1..=6),
            rng.random_range(1..=8)
        );
        for _ in 0..rng.random_range(0..=2) {
            spec.push_str(&format!(" fc({})", rng.random_range(1..=5)));
        }
        tch::manual_seed(rng.random_range(0..1_000_000));
        let Ok(net) = Net::new(Role::Descriptor, &spec, [c0, h, w], "float64", Device::Cpu) else {
            continue; // an output size of zero: draw again
        };
        let space = ImageSpace {
            levels,
            ..Default::default()
        };
        let sigma = rng.random_range(0.3..2.0);
        let e = DeepFrameEnergy::new(Rc::new(net), sigma, space).unwrap();
        return (
            Rc::new(e),
            [c0, h, w],
            format!("{spec} on [{c0}, {h}, {w}], sigma {sigma}"),
        );
    }
}

fn level_values(levels: usize) -> Tensor {
    Tensor::linspace(-1.0, 1.0, levels as i64, (Kind::Double, Device::Cpu))
}

/// `b` random images on the levels.
fn random_images(rng: &mut StdRng, b: i64, d: i64, levels: usize) -> Tensor {
    let idx: Vec<i64> = (0..b * d)
        .map(|_| rng.random_range(0..levels as i64))
        .collect();
    level_values(levels)
        .index_select(0, &Tensor::from_slice(&idx))
        .view([b, d])
}

/// Full-pass energies `[B, K]` of `x` with site `j` set to each of `values`.
fn full_candidates(e: &dyn Energy, x: &Tensor, j: i64, values: &Tensor) -> Tensor {
    let (b, k) = (x.size()[0], values.size()[0]);
    let cols: Vec<Tensor> = (0..k)
        .map(|v| {
            let y = x.copy();
            let _ = y.select(1, j).fill_(values.double_value(&[v]));
            e.energy(&y).unwrap()
        })
        .collect();
    Tensor::stack(&cols, 1).view([b, k])
}

fn max_gap(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Checks a scorer of `e` over a walk of random site changes: every candidate set equals the
/// full pass at 1e-9, before and after each change.
fn check_walk(e: &dyn Energy, x: &Tensor, rng: &mut StdRng, levels: usize, what: &str) {
    let d = x.size()[1];
    let values = level_values(levels);
    let x = x.copy();
    let mut sites = e
        .site_scorer(&x)
        .unwrap()
        .expect("a conv-then-fc net has a scorer");
    for step in 0..12 {
        let j = rng.random_range(0..d);
        let ours = sites.candidates(j, &values).unwrap();
        let truth = full_candidates(e, &x, j, &values);
        let gap = max_gap(&ours, &truth);
        assert!(
            gap <= 1e-9 * (1.0 + truth.abs().max().double_value(&[])),
            "{what}: step {step}, site {j}: gap {gap}"
        );
        // Change site j of every chain to a random level (sometimes without scoring first).
        let pick: Vec<i64> = (0..x.size()[0])
            .map(|_| rng.random_range(0..levels as i64))
            .collect();
        let new = values.index_select(0, &Tensor::from_slice(&pick));
        let j2 = if rng.random_bool(0.3) {
            rng.random_range(0..d)
        } else {
            j
        };
        sites.set(j2, &new).unwrap();
        x.select(1, j2).copy_(&new);
    }
}

#[test]
fn single_pixel_scores_equal_the_full_pass_on_random_networks() {
    tch::set_num_threads(1);
    let mut rng = StdRng::seed_from_u64(7);
    for case in 0..40 {
        let levels = rng.random_range(2..=8);
        let (e, [c0, h, w], what) = random_energy(&mut rng, levels);
        let b = rng.random_range(1..=5);
        let x = random_images(&mut rng, b, c0 * h * w, levels);
        check_walk(
            e.as_ref(),
            &x,
            &mut rng,
            levels,
            &format!("case {case}: {what}"),
        );
    }
}

#[test]
fn magnetized_single_pixel_scores_equal_the_full_pass() {
    tch::set_num_threads(1);
    let mut rng = StdRng::seed_from_u64(11);
    for case in 0..20 {
        let levels = rng.random_range(2..=8);
        let (e, [c0, h, w], what) = random_energy(&mut rng, levels);
        let (b, d) = (rng.random_range(1..=4), c0 * h * w);
        let x = random_images(&mut rng, b, d, levels);
        let target = random_images(&mut rng, b, d, levels);
        let t = rng.random_range(0.5..30.0);
        let base: EnergyRef = e;
        let m = if case % 2 == 0 {
            let alphas: Vec<f64> = (0..b).map(|_| rng.random_range(0.0..50.0)).collect();
            Magnetized::with_alphas(base, t, &alphas, target).unwrap()
        } else {
            // One target for every chain, one strength.
            Magnetized::new(base, t, rng.random_range(0.0..50.0), Some(target.get(0))).unwrap()
        };
        check_walk(
            &m,
            &x,
            &mut rng,
            levels,
            &format!("case {case}: T {t}, {what}"),
        );
    }
}

#[test]
fn other_networks_and_full_pass_wrappers_have_no_scorer() {
    tch::set_num_threads(1);
    let x = Tensor::zeros([2, 64], (Kind::Double, Device::Cpu));
    for spec in ["fc(4) fc(1)", "conv(4,3,2) conv(4,3,2) fc(1)"] {
        let net = Net::new(Role::Descriptor, spec, [1, 8, 8], "float64", Device::Cpu).unwrap();
        let e = DeepFrameEnergy::new(Rc::new(net), 1.0, ImageSpace::default()).unwrap();
        assert!(e.site_scorer(&x).unwrap().is_none(), "{spec}");
    }
    let net = Net::new(
        Role::Descriptor,
        "conv(4,3,2) fc(3) fc(1)",
        [1, 8, 8],
        "float64",
        Device::Cpu,
    )
    .unwrap();
    let e: EnergyRef =
        Rc::new(DeepFrameEnergy::new(Rc::new(net), 1.0, ImageSpace::default()).unwrap());
    assert!(e.site_scorer(&x).unwrap().is_some());
    assert!(FullPass(e).site_scorer(&x).unwrap().is_none());
}

/// Gibbs sweeps and single-site descent through the scorer: every state stays on the levels,
/// the sampler's energies are the full pass's, and descent ends where no single-pixel change
/// lowers the full-pass energy (checked pixel by pixel, level by level).
#[test]
fn gibbs_and_descent_through_the_scorer_keep_their_guarantees() {
    use telescope::minimize::descend_discrete;
    use telescope::sampler::{Chains, Gibbs, Sampler};
    tch::set_num_threads(1);
    let mut rng = StdRng::seed_from_u64(3);
    for case in 0..6 {
        let levels = 4;
        let (e, [c0, h, w], what) = random_energy(&mut rng, levels);
        let d = c0 * h * w;
        let x = random_images(&mut rng, 3, d, levels);
        let mut gibbs = Gibbs::new(e.space()).unwrap();
        let mut chains = Chains::new(e.as_ref(), &x).unwrap();
        for _ in 0..3 {
            gibbs.step(e.as_ref(), &mut chains).unwrap();
        }
        let values = level_values(levels);
        let off = (chains.x.unsqueeze(-1) - values.view([1, 1, -1]))
            .abs()
            .amin([-1], false)
            .max()
            .double_value(&[]);
        assert!(off < 1e-12, "case {case}: a pixel left the levels ({what})");
        assert!(max_gap(&chains.u, &e.energy(&chains.x).unwrap()) < 1e-9);
        let mins = descend_discrete(e.as_ref(), &chains.x, 100).unwrap();
        assert!(mins.converged.iter().all(|&c| c), "case {case}: {what}");
        let u = e.energy(&mins.x).unwrap();
        for j in 0..d {
            let all = full_candidates(e.as_ref(), &mins.x, j, &values);
            let lowest = all.amin([1], false);
            let drop = (&u - lowest).max().double_value(&[]);
            assert!(
                drop <= 1e-9 * (1.0 + u.abs().max().double_value(&[])),
                "case {case}: pixel {j} lowers the energy by {drop} ({what})"
            );
        }
    }
}

/// A Gibbs sweep under a magnetized image energy keeps the highest unmagnetized energy of the
/// single-pixel states it passes through. A systematic sweep visits each pixel once in order,
/// so its path is known from its two ends: after pixel j, pixels 0..=j hold the final values
/// and the rest the first ones. The kept maximum must equal the maximum of the full-pass
/// energies along that path, and so be at least the energy of the end.
#[test]
fn a_gibbs_sweep_keeps_the_path_maximum_of_its_single_pixel_states() {
    use telescope::sampler::{Chains, Gibbs, Sampler};
    tch::set_num_threads(1);
    let mut rng = StdRng::seed_from_u64(9);
    for case in 0..8 {
        let levels = 4;
        let (e, [c0, h, w], what) = random_energy(&mut rng, levels);
        let d = c0 * h * w;
        let x = random_images(&mut rng, 2, d, levels);
        let target = random_images(&mut rng, 2, d, levels);
        let base: EnergyRef = e.clone();
        let t = rng.random_range(0.1..3.0);
        let m = Magnetized::with_alphas(base, t, &[0.5, 2.0], target).unwrap();
        let mut chains = Chains::new(&m, &x).unwrap();
        Gibbs::new(m.space())
            .unwrap()
            .step(&m, &mut chains)
            .unwrap();
        let kept = chains
            .path_max
            .clone()
            .expect("a magnetized image sweep keeps its path maximum");
        let mut highest = [f64::NEG_INFINITY; 2];
        let y = x.copy();
        for j in 0..d {
            y.select(1, j).copy_(&chains.x.select(1, j));
            let now = Vec::<f64>::try_from(&e.energy(&y).unwrap()).unwrap();
            for (hgh, v) in highest.iter_mut().zip(now) {
                *hgh = hgh.max(v);
            }
        }
        let end = Vec::<f64>::try_from(&e.energy(&chains.x).unwrap()).unwrap();
        for b in 0..2 {
            assert!(
                kept[b] >= end[b] - 1e-9,
                "case {case}: below the end ({what})"
            );
            assert!(
                (kept[b] - highest[b]).abs() <= 1e-9 * (1.0 + highest[b].abs()),
                "case {case}, chain {b}: kept {} against the path's {} ({what})",
                kept[b],
                highest[b]
            );
        }
    }
}
