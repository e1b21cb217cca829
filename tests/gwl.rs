//! The GWL map (section 2.6) against exact enumeration of small SK glasses: it finds every
//! true minimum it can reach below its cutoff and nothing else, keeps exactly the K lowest,
//! bounds every barrier from above and comes close to the exact minimax, and its DG is the
//! exact DG of those minima; checkpoints resume to the same map.

mod common;

use common::{dg_pair_levels, exact, index_of, Exact};
use std::collections::{HashMap, HashSet};
use telescope::energy::{sk, SpinModel};
use telescope::landscape::dg::{Dg, DgOptions};
use telescope::landscape::gwl::{gwl, gwl_resume, state_path, GwlOptions};
use telescope::landscape::map::{BarrierKind, LandscapeMap};

fn options(emax: f64, k: usize, iters: usize, seed: u64) -> GwlOptions {
    GwlOptions {
        k,
        emax,
        bins: 10,
        gamma: 0.05,
        iters,
        block: 5_000,
        seed,
        ..GwlOptions::default()
    }
}

/// The highest exact barrier between any two minima: at or above it every minimum is joined to
/// every other through states no higher, so one chain below the cutoff can reach them all.
fn top_barrier(t: &Exact) -> f64 {
    t.barrier
        .iter()
        .flatten()
        .cloned()
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Which exact minimum (index into `t.minima`) each group of the map is.
fn exact_ids(map: &LandscapeMap, t: &Exact) -> Vec<usize> {
    let at: HashMap<usize, usize> = t.minima.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    map.groups
        .iter()
        .map(|g| {
            *at.get(&index_of(&g.state)).unwrap_or_else(|| {
                panic!(
                    "group {} (energy {}) is not a true local minimum",
                    g.id, g.energy
                )
            })
        })
        .collect()
}

/// Every barrier is a true upper bound; returns the largest and the mean excess over the exact
/// minimax.
fn excess_over_truth(map: &LandscapeMap, t: &Exact, ids: &[usize], what: &str) -> (f64, f64) {
    let (mut max, mut sum, mut count) = (0.0f64, 0.0, 0usize);
    for (i, row) in map.barriers.iter().enumerate() {
        for (j, b) in row.iter().enumerate() {
            let b = b.unwrap_or_else(|| panic!("{what}: no barrier between {i} and {j}"));
            let truth = t.barrier[ids[i]][ids[j]];
            assert!(
                b >= truth - 1e-12,
                "{what}: barrier {i}-{j} = {b} is below the exact minimax {truth}"
            );
            if i != j {
                max = max.max(b - truth);
                sum += b - truth;
                count += 1;
            }
        }
    }
    (max, sum / count.max(1) as f64)
}

#[test]
fn gwl_finds_every_minimum_and_bounds_every_barrier_of_small_sk_glasses() {
    let mut worst_mean = 0.0f64;
    for instance in 0..8u64 {
        let n = 12 + (instance as usize % 5);
        let model = sk(n, 700 + instance, 1.0).unwrap();
        let t = exact(&model);
        let emax = top_barrier(&t) + 0.01;
        let map = gwl(&model, &options(emax, 100_000, 200_000, instance)).unwrap();
        let what = format!("instance {instance} (n {n}, {} minima)", t.minima.len());
        let ids = exact_ids(&map, &t);
        let found: HashSet<usize> = ids.iter().copied().collect();
        assert_eq!(found.len(), ids.len(), "{what}: a minimum kept twice");
        let missing: Vec<(f64, usize)> = (0..t.minima.len())
            .filter(|i| !found.contains(i))
            .map(|i| (t.energy[t.minima[i]], i))
            .collect();
        assert!(
            missing.is_empty(),
            "{what}: below the highest barrier every minimum is reachable; GWL missed {missing:?} (energy, index)"
        );
        let (max, mean) = excess_over_truth(&map, &t, &ids, &what);
        worst_mean = worst_mean.max(mean);
        // The DG of the map: its merge levels are the exact minimax (the DG of the truth).
        let dg = Dg::from_map(&map, &DgOptions::default()).unwrap();
        let levels = dg_pair_levels(&dg);
        let mut dg_excess = 0.0f64;
        for i in 0..ids.len() {
            for j in 0..ids.len() {
                if i != j {
                    dg_excess = dg_excess.max(levels[i][j] - t.barrier[ids[i]][ids[j]]);
                }
            }
        }
        assert!(
            dg_excess < 1e-9,
            "{what}: DG merge levels exceed the exact DG by up to {dg_excess} (matrix max excess {max})"
        );
        assert_eq!(map.method, "gwl");
        assert!(map
            .barrier_kinds
            .iter()
            .flatten()
            .flatten()
            .all(|k| matches!(k, BarrierKind::Transition | BarrierKind::Greedy)));
    }
    eprintln!("worst mean excess of a barrier over the exact minimax: {worst_mean:.2e}");
}

#[test]
fn gwl_keeps_exactly_the_k_lowest_minima() {
    for instance in 0..6u64 {
        let n = 13 + (instance as usize % 4);
        let model = sk(n, 900 + instance, 1.0).unwrap();
        let t = exact(&model);
        if t.minima.len() < 6 {
            continue;
        }
        let k = t.minima.len() / 2;
        let emax = top_barrier(&t) + 1e-9;
        let map = gwl(&model, &options(emax, k, 150_000, instance)).unwrap();
        let ids = exact_ids(&map, &t);
        let mut want: Vec<f64> = t.minima.iter().map(|&s| t.energy[s]).collect();
        want.sort_by(f64::total_cmp);
        let got: Vec<f64> = ids.iter().map(|&i| t.energy[t.minima[i]]).collect();
        assert_eq!(got.len(), k, "instance {instance}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() < 1e-12,
                "instance {instance}: kept {got:?}, the {k} lowest are {:?}",
                &want[..k]
            );
        }
    }
}

/// The minima in the same connected part of `{E <= emax}` as state `from` (single flips).
fn reachable_minima(model: &SpinModel, t: &Exact, emax: f64, from: usize) -> HashSet<usize> {
    let n = model.n();
    let mut seen = vec![false; t.energy.len()];
    let mut stack = vec![from];
    seen[from] = true;
    while let Some(s) = stack.pop() {
        for b in 0..n {
            let x = s ^ (1 << b);
            if !seen[x] && t.energy[x] <= emax {
                seen[x] = true;
                stack.push(x);
            }
        }
    }
    t.minima.iter().copied().filter(|&m| seen[m]).collect()
}

#[test]
fn below_a_low_cutoff_gwl_finds_exactly_the_reachable_minima() {
    for instance in 0..6u64 {
        let n = 12 + (instance as usize % 5);
        let model = sk(n, 1300 + instance, 1.0).unwrap();
        let t = exact(&model);
        // A cutoff halfway between the ground state and the highest barrier.
        let ground = t
            .minima
            .iter()
            .map(|&s| t.energy[s])
            .fold(f64::INFINITY, f64::min);
        let emax = 0.5 * (ground + top_barrier(&t));
        let map = gwl(&model, &options(emax, 100_000, 150_000, instance)).unwrap();
        let ids = exact_ids(&map, &t);
        let found: HashSet<usize> = ids.iter().map(|&i| t.minima[i]).collect();
        assert!(map.groups.iter().all(|g| g.energy <= emax));
        let start = t.minima[ids[0]];
        let want = reachable_minima(&model, &t, emax, start);
        assert_eq!(
            found, want,
            "instance {instance}: GWL below {emax} should find exactly the {} minima joined to its start",
            want.len()
        );
        excess_over_truth(&map, &t, &ids, &format!("instance {instance}"));
    }
}

#[test]
fn a_resumed_gwl_chain_equals_the_uninterrupted_one() {
    let model = sk(40, 5, 1.0).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("telescope-gwl-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let path = dir.join("gwl.json");
    let full_opts = GwlOptions {
        k: 60,
        emax: -0.3,
        iters: 60_000,
        block: 4_000,
        seed: 3,
        ..GwlOptions::default()
    };
    let full = gwl(&model, &full_opts).unwrap();
    let first = GwlOptions {
        iters: 26_000,
        checkpoint: Some(path.clone()),
        checkpoint_every: 8_000,
        ..full_opts.clone()
    };
    let part = gwl(&model, &first).unwrap();
    assert_eq!(part.iterations, 26_000);
    assert!(state_path(&path).exists());
    assert_eq!(LandscapeMap::load(&path).unwrap().iterations, 26_000);
    let resumed = gwl_resume(&model, &path, &full_opts).unwrap();
    assert_eq!(resumed.iterations, full.iterations);
    assert!(resumed.groups == full.groups, "groups differ");
    let counts = |m: &LandscapeMap| {
        m.minima
            .iter()
            .map(|r| (r.count, r.iteration))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        counts(&resumed),
        counts(&full),
        "visits and discovery steps"
    );
    assert!(resumed.minima == full.minima, "minima differ");
    assert_eq!(resumed.barriers, full.barriers);
    assert_eq!(resumed.barrier_kinds, full.barrier_kinds);
    for (key, v) in full.params.as_object().unwrap() {
        assert_eq!(
            &resumed.params[key], v,
            "params.{key}: {} vs {}",
            resumed.params, full.params
        );
    }
    // A resume with a different chain is refused with a reason.
    let other = GwlOptions {
        gamma: 0.5,
        ..full_opts.clone()
    };
    let e = gwl_resume(&model, &path, &other).unwrap_err().to_string();
    assert!(e.contains("resume with the same"), "{e}");
}

#[test]
fn gwl_refuses_what_it_cannot_map() {
    let model = sk(12, 1, 1.0).unwrap();
    let e = gwl(&model, &GwlOptions::default()).unwrap_err().to_string();
    assert!(e.contains("emax"), "{e}");
    let e = gwl(&model, &options(-10.0, 10, 100, 0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("above emax"), "{e}");
    for (bad, what) in [
        (
            GwlOptions {
                block: 0,
                ..options(0.0, 10, 100, 0)
            },
            "at least 1",
        ),
        (
            GwlOptions {
                block: 100_000_000,
                ..options(0.0, 10, 100, 0)
            },
            "Ctrl-C",
        ),
        (
            GwlOptions {
                gamma: f64::NAN,
                ..options(0.0, 10, 100, 0)
            },
            "gamma",
        ),
        (
            GwlOptions {
                emin: Some(1.0),
                ..options(0.0, 10, 100, 0)
            },
            "emin",
        ),
    ] {
        let e = gwl(&model, &bad).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
    let quad = telescope::energy::quadratic(3).unwrap();
    let e = gwl(&quad, &options(0.0, 10, 100, 0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("spin"), "{e}");
}

#[test]
fn a_misspelt_gwl_option_is_named_before_the_missing_cutoff() {
    let mut s = telescope::script::new_session(None);
    let e = s
        .eval("<test>", "gwl(sk(10, 1), #{emx: -0.3})")
        .unwrap_err();
    assert!(e.contains("did you mean `emax`"), "{e}");
    let e = s
        .eval("<test>", "gwl(sk(10, 1), #{iters: 10})")
        .unwrap_err();
    assert!(e.contains("emax"), "{e}");
}
