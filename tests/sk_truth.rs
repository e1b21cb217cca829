//! ADELM, AD and greedy barriers on small SK spin glasses against exact enumeration.

mod common;

use common::{exact, index_of, spins};
use std::rc::Rc;
use telescope::energy::{sk, Energy, EnergyRef};
use telescope::landscape::ad::AdOptions;
use telescope::landscape::adelm::{adelm, AdelmOptions, RandomProposer};
use telescope::landscape::barrier::barrier_greedy;
use telescope::tensor;

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Small instances have larger single-flip energy changes than N = 100, so they are mapped
/// colder than the paper's T = 0.1 (at T = 0.1 every minimum of an N = 16 glass merges).
fn sk_opts(seed: u64, iters: usize) -> AdelmOptions {
    let mut o = sk_opts_alpha(seed, iters, 0.3);
    o.ad.temperature = 0.02;
    o
}

fn sk_opts_alpha(seed: u64, iters: usize, alpha: f64) -> AdelmOptions {
    AdelmOptions {
        ad: common::gibbs_ad(0.1, alpha),
        iters,
        seed,
        same_tol: 0.0,
        max_checks: 20,
        ..Default::default()
    }
}

#[test]
fn adelm_on_enumerable_sk_respects_exact_barriers() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = 14;
    let model = sk(n, 7, 1.0).unwrap();
    let truth = exact(&model);
    let ground = *truth
        .minima
        .iter()
        .min_by(|&&a, &&b| truth.energy[a].total_cmp(&truth.energy[b]))
        .unwrap();
    let e: EnergyRef = Rc::new(sk(n, 7, 1.0).unwrap());
    tensor::manual_seed(3);
    let map = adelm(&e, &mut RandomProposer(e.clone()), &sk_opts(3, 150)).unwrap();
    // Every group representative is an exact single-flip local minimum.
    let idx_of_rep: Vec<usize> = map.groups.iter().map(|g| index_of(&g.state)).collect();
    for (g, &s) in map.groups.iter().zip(&idx_of_rep) {
        assert!(
            truth.minima.contains(&s),
            "representative is not a local minimum"
        );
        assert!((g.energy - truth.energy[s]).abs() < 1e-9);
    }
    // The ground state pair (s and -s) is found.
    let mirror = (!ground) & ((1 << n) - 1);
    let found: Vec<usize> = map.minima.iter().map(|m| index_of(&m.state)).collect();
    assert!(
        found.contains(&ground) && found.contains(&mirror),
        "ground state pair not found"
    );
    // Every reported barrier is a real path's maximum: never below the exact minimax barrier.
    let pos = |s: usize| truth.minima.iter().position(|&m| m == s).unwrap();
    for i in 0..map.groups.len() {
        for j in 0..map.groups.len() {
            if let (Some(b), true) = (map.barriers[i][j], i != j) {
                let exact_b = truth.barrier[pos(idx_of_rep[i])][pos(idx_of_rep[j])];
                assert!(b >= exact_b - 1e-9, "barrier {b} below exact {exact_b}");
            }
        }
    }
    // Greedy barriers are real paths too.
    for i in 0..truth.minima.len().min(8) {
        for j in i + 1..truth.minima.len().min(8) {
            let (a, b) = (spins(truth.minima[i], n), spins(truth.minima[j], n));
            let g = barrier_greedy(
                &model,
                &tensor::from_vec(&a, &[n as i64]).unwrap(),
                &tensor::from_vec(&b, &[n as i64]).unwrap(),
            )
            .unwrap();
            assert!(g.barrier >= truth.barrier[i][j] - 1e-9);
        }
    }
    let _ = model.name();
}

#[test]
fn refined_ad_barriers_between_deep_groups_are_close_to_exact() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = 16;
    let model = sk(n, 11, 1.0).unwrap();
    let truth = exact(&model);
    let e: EnergyRef = Rc::new(sk(n, 11, 1.0).unwrap());
    tensor::manual_seed(5);
    let mut map = adelm(&e, &mut RandomProposer(e.clone()), &sk_opts(5, 200)).unwrap();
    let opts = telescope::landscape::barrier::RefineOptions {
        ad: AdOptions {
            alpha: 2.0,
            ..sk_opts(5, 0).ad
        },
        trials: 10,
        shrink: 0.9,
        max_rounds: 60,
        both_directions: true,
        progress: Default::default(),
    };
    telescope::landscape::barrier::refine_map_barriers(&e, &mut map, &opts, 0).unwrap();
    let pos = |s: usize| truth.minima.iter().position(|&m| m == s).unwrap();
    let reps: Vec<usize> = map.groups.iter().map(|g| pos(index_of(&g.state))).collect();
    eprintln!(
        "exact minima {}, groups {}, minima found {}, stats {:?}",
        truth.minima.len(),
        map.groups.len(),
        map.minima.len(),
        map.stats
    );
    // Energy scale: the spread of minimum energies.
    let mut worst: f64 = 0.0;
    for i in 0..reps.len() {
        for j in 0..reps.len() {
            if i == j {
                continue;
            }
            let exact_b = truth.barrier[reps[i]][reps[j]];
            let b = map.barriers[i][j].expect("refinement gives every pair a barrier");
            eprintln!(
                "groups {i}-{j}: AD {b:.4}, exact {exact_b:.4}, depth {:.4}",
                exact_b - map.groups[i].energy.max(map.groups[j].energy)
            );
            assert!(b >= exact_b - 1e-9);
            // Stated tolerance: within 10% of the barrier's depth above the higher minimum.
            let depth = exact_b - map.groups[i].energy.max(map.groups[j].energy);
            assert!(
                b - exact_b <= 0.1 * depth,
                "AD barrier {b} too far above exact {exact_b}"
            );
            worst = worst.max(b - exact_b);
        }
    }
    eprintln!("worst excess {worst}");
    assert!(
        map.groups.len() >= 2,
        "expected the mirror basins as separate groups"
    );
}
