//! ADELM on continuous landscapes whose basins are known by construction; maps as data.

mod common;

use common::mh;
use std::rc::Rc;
use telescope::energy::{self, EnergyRef};
use telescope::landscape::ad::{
    ad_trials, ad_trials_in_form, AdOptions, Delta, DeltaCache, RuleForm,
};
use telescope::landscape::adelm::{adelm, resume, AdelmOptions, RandomProposer};
use telescope::landscape::barrier::{barrier_1d, refine_barriers, RefineOptions};
use telescope::landscape::map::LandscapeMap;
use telescope::tensor;

/// libtorch has one global RNG: tests that draw random numbers take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Four macroscopic basins, each made of two Gaussian components whose minima are separated
/// by a shallow barrier (under 1), while basins are separated by barriers above 6.
fn four_basin_gmm() -> (EnergyRef, Vec<[f64; 2]>) {
    let centers = vec![[-1.85, -1.9], [1.9, -1.85], [-1.9, 1.85], [1.85, 1.9]];
    (common::four_basin_gmm(), centers)
}

/// ADELM settings that resolve the four macroscopic basins of `four_basin_gmm`.
fn gmm_options(iters: usize, seed: u64) -> AdelmOptions {
    AdelmOptions {
        ad: AdOptions {
            temperature: 0.3,
            alpha: 5.0,
            delta: telescope::landscape::ad::Delta::Fixed(0.1),
            improvement_limit: 50,
            sampler: mh(0.1),
            ..Default::default()
        },
        iters,
        seed,
        ..Default::default()
    }
}

fn cluster_of(s: &[f64], centers: &[[f64; 2]]) -> usize {
    (0..centers.len())
        .min_by(|&a, &b| {
            let da = (s[0] - centers[a][0]).powi(2) + (s[1] - centers[a][1]).powi(2);
            let db = (s[0] - centers[b][0]).powi(2) + (s[1] - centers[b][1]).powi(2);
            da.total_cmp(&db)
        })
        .unwrap()
}

#[test]
fn gmm_groups_are_the_macroscopic_basins() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (e, centers) = four_basin_gmm();
    tensor::manual_seed(1);
    let opts = gmm_options(40, 1);
    let map = adelm(&e, &mut RandomProposer(e.clone()), &opts).unwrap();
    assert_eq!(
        map.groups.len(),
        4,
        "expected the four basins, got {:?}",
        map.group_energies()
    );
    assert_eq!(
        map.minima.len(),
        8,
        "all eight local minima should be found"
    );
    // Every group holds exactly the minima of one cluster, and clusters map to distinct groups.
    let mut seen = [None; 4];
    for m in &map.minima {
        let c = cluster_of(&m.state, &centers);
        match seen[c] {
            None => seen[c] = Some(m.group),
            Some(g) => assert_eq!(g, m.group, "cluster {c} split across groups"),
        }
    }
    let mut groups: Vec<usize> = seen.iter().map(|g| g.unwrap()).collect();
    groups.sort();
    groups.dedup();
    assert_eq!(groups.len(), 4);
    // Representatives are the lowest minimum of their group.
    for g in &map.groups {
        let lowest = map
            .minima
            .iter()
            .filter(|m| m.group == g.id)
            .map(|m| m.energy)
            .fold(f64::INFINITY, f64::min);
        assert!((g.energy - lowest).abs() < 1e-9);
    }
}

#[test]
fn muller_brown_groups_are_its_three_minima_and_merge_when_alpha_is_strong() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e: EnergyRef = Rc::new(energy::muller_brown());
    let base = AdelmOptions {
        ad: AdOptions {
            temperature: 1.0,
            alpha: 3.0,
            delta: telescope::landscape::ad::Delta::Fixed(0.02),
            improvement_limit: 50,
            sampler: mh(0.02),
            ..Default::default()
        },
        iters: 30,
        seed: 1,
        ..Default::default()
    };
    let map = adelm(&e, &mut RandomProposer(e.clone()), &base).unwrap();
    let mut energies = map.group_energies();
    energies.sort_by(f64::total_cmp);
    let reference = [-146.699517, -108.166724, -80.767818];
    assert_eq!(energies.len(), 3);
    for (u, r) in energies.iter().zip(reference) {
        assert!((u - r).abs() < 1e-3, "{u} vs {r}");
    }
    // A strong field overcomes the lowest barrier (C-B, 8.5 above C) first: C joins B's group.
    let strong = AdelmOptions {
        ad: AdOptions {
            alpha: 60.0,
            ..base.ad.clone()
        },
        ..base.clone()
    };
    let map = adelm(&e, &mut RandomProposer(e.clone()), &strong).unwrap();
    let mut energies = map.group_energies();
    energies.sort_by(f64::total_cmp);
    assert_eq!(energies.len(), 2);
    assert!(
        (energies[1] - reference[1]).abs() < 1e-3,
        "B keeps its group and absorbs C"
    );
}

#[test]
fn ad_barriers_are_upper_bounds_of_the_true_saddles_and_below_the_straight_line() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Müller-Brown A -> C: the exact saddle is -40.664844; the straight line crosses higher ground.
    let e: EnergyRef = Rc::new(energy::muller_brown());
    tensor::manual_seed(4);
    let a = tensor::from_vec(&[-0.558224, 1.441726], &[1, 2]).unwrap();
    let c = tensor::from_vec(&[-0.050011, 0.466694], &[1, 2]).unwrap();
    let line = barrier_1d(e.as_ref(), &a, &c, 400).unwrap().barrier;
    let opts = RefineOptions {
        ad: AdOptions {
            temperature: 2.0,
            alpha: 40.0,
            delta: telescope::landscape::ad::Delta::Fixed(0.03),
            improvement_limit: 60,
            sampler: mh(0.02),
            ..Default::default()
        },
        trials: 8,
        shrink: 0.9,
        max_rounds: 40,
        both_directions: true,
        progress: Default::default(),
    };
    let r = refine_barriers(&e, &a, &c, &opts).unwrap().remove(0);
    let b = r.barrier.expect("some trial reaches the target");
    assert!(
        b >= -40.664844 - 1e-6,
        "AD barrier {b} below the true saddle"
    );
    assert!(
        b < line,
        "AD barrier {b} should beat the straight line {line}; rounds {:?}",
        r.rounds
    );
    assert!(b < -40.664844 + 15.0, "AD barrier {b} far above the saddle");
}

#[test]
fn batched_trials_equal_their_stop_rules() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Each trial stops by its own rule: success at delta or M steps without improvement.
    let e: EnergyRef = Rc::new(energy::quadratic(2).unwrap());
    tensor::manual_seed(2);
    let starts = tensor::from_vec(&[2.0, 0.0, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0], &[4, 2]).unwrap();
    let targets = tensor::from_vec(&[-2.0, 0.0, 0.0, -2.0, 1.0, 1.0, 0.0, 0.0], &[4, 2]).unwrap();
    let opts = AdOptions {
        temperature: 0.5,
        alpha: 5.0,
        delta: telescope::landscape::ad::Delta::Fixed(0.3),
        improvement_limit: 50,
        sampler: mh(0.1),
        thin: 1,
        ..Default::default()
    };
    let trials = ad_trials(&e, &starts, &targets, &[20.0, 20.0, 20.0, 0.0001], &opts).unwrap();
    // Already at the target: success in zero steps.
    assert!(trials[2].success && trials[2].steps == 0);
    for t in &trials[..2] {
        assert!(
            t.success,
            "a strong field crosses the bowl: steps {} best {} final {} energies {:?}",
            t.steps,
            t.best_distance,
            t.final_distance,
            &t.energies[..t.energies.len().min(30)]
        );
        assert!(*t.distances.last().unwrap() <= 0.3);
        assert!(
            t.distances[..t.distances.len() - 1]
                .iter()
                .all(|d| *d > 0.3),
            "stops at the first arrival"
        );
        // Barrier is the max of the recorded path energies (x^2/2 along the path).
        let max = t.energies.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert!((t.barrier - max).abs() < 1e-9);
        let recomputed: Vec<f64> = t
            .states
            .iter()
            .map(|s| 0.5 * (s[0] * s[0] + s[1] * s[1]))
            .collect();
        assert_eq!(recomputed.len(), t.energies.len());
        for (k, got) in t.energies.iter().enumerate() {
            let want = highest_on_move(&recomputed, k);
            assert!((got - want).abs() < 1e-9, "step {k}: {got} against {want}");
        }
    }
}

/// The highest energy on the k-th move of a path whose states have energies `u` along a convex
/// energy: the higher end, since a convex function peaks at an end of a segment (step 0 is
/// the start itself). AD records the highest energy it finds on each move.
fn highest_on_move(u: &[f64], k: usize) -> f64 {
    if k == 0 {
        u[0]
    } else {
        u[k - 1].max(u[k])
    }
}

/// Trials whose stop rule runs on the device and is read by the host only every k steps end
/// exactly where Algorithm 3 says: replaying the rule, written out here from the paper
/// (success within delta, failure after M steps without a closer approach, the step cap),
/// over each trial's recorded distances ends it at its last record, with the same verdict; its records
/// stop there (no step of the block after it), its barrier is the maximum of its energies (and
/// of U(target) for a success, which joins the target) and
/// its final state is the last state of its path. Random landscapes, strengths and block
/// lengths, with step caps that bind.
#[test]
fn trials_read_every_k_steps_stop_exactly_by_the_rule() {
    use rand::{Rng, SeedableRng};
    use telescope::landscape::ad::Delta;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = rand::rngs::StdRng::seed_from_u64(31);
    let mut ended_early = 0;
    for case in 0..24 {
        let d = rng.random_range(1..=4usize);
        let e: EnergyRef = Rc::new(energy::quadratic(d).unwrap());
        let b = rng.random_range(1..=12usize);
        let draw = |rng: &mut rand::rngs::StdRng| -> Vec<f64> {
            (0..b * d).map(|_| rng.random_range(-2.0..2.0)).collect()
        };
        let (s, t) = (draw(&mut rng), draw(&mut rng));
        let alphas: Vec<f64> = (0..b)
            .map(|_| 10f64.powf(rng.random_range(-1.0..1.5)))
            .collect();
        let k = [1, 2, 5, 16][case % 4];
        let opts = AdOptions {
            temperature: rng.random_range(0.1..1.0),
            delta: Delta::Fixed(rng.random_range(0.05..0.5)),
            improvement_limit: rng.random_range(3..40),
            max_steps: rng.random_range(5..300),
            sampler: mh(rng.random_range(0.02..0.3)),
            thin: 1,
            sync_every: k,
            ..Default::default()
        };
        tensor::manual_seed(case as u64);
        let shape = [b as i64, d as i64];
        let trials = ad_trials(
            &e,
            &tensor::from_vec(&s, &shape).unwrap(),
            &tensor::from_vec(&t, &shape).unwrap(),
            &alphas,
            &opts,
        )
        .unwrap();
        let delta = opts.delta.fixed().unwrap();
        for (i, tr) in trials.iter().enumerate() {
            let what = format!("case {case} trial {i} (sync every {k})");
            assert_eq!(
                tr.distances.len(),
                tr.steps + 1,
                "{what}: one record per step"
            );
            assert_eq!(tr.energies.len(), tr.steps + 1, "{what}");
            let mut best = tr.distances[0];
            let mut stale = 0;
            let mut verdict = (best <= delta).then_some(true);
            let mut end = 0;
            for (step, &dist) in tr.distances.iter().enumerate().skip(1) {
                assert!(
                    verdict.is_none(),
                    "{what}: records go on after the rule ended the trial"
                );
                if dist < best {
                    (best, stale) = (dist, 0);
                } else {
                    stale += 1;
                }
                if dist <= delta || stale >= opts.improvement_limit || step >= opts.max_steps {
                    verdict = Some(dist <= delta);
                }
                end = step;
            }
            assert_eq!(
                verdict,
                Some(tr.success),
                "{what}: the trial ends at step {end}"
            );
            assert_eq!(end, tr.steps, "{what}");
            ended_early += (tr.steps < opts.max_steps) as usize;
            let max = tr
                .energies
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            // A confirmed success joins the target, so its barrier also covers U(target) (here
            // an arbitrary point, not a minimum; in a map it never raises the barrier).
            let target = &t[i * d..(i + 1) * d];
            let u_target: f64 = 0.5 * target.iter().map(|v| v * v).sum::<f64>();
            let want = if tr.success { max.max(u_target) } else { max };
            assert!((tr.barrier - want).abs() < 1e-12, "{what}: barrier");
            assert!((tr.best_distance - best).abs() < 1e-12, "{what}: best");
            // The final state is where the path ended: its energy and distance are the last.
            let x = &tr.final_state;
            assert_eq!(
                tr.states.last(),
                Some(x),
                "{what}: the path ends at the final state"
            );
            let on_path: Vec<f64> = tr
                .states
                .iter()
                .map(|s| 0.5 * s.iter().map(|v| v * v).sum::<f64>())
                .collect();
            assert!(
                (highest_on_move(&on_path, tr.steps) - tr.energies[tr.steps]).abs() < 1e-9,
                "{what}: final energy"
            );
            let dist = tensor::distance(x, &t[i * d..(i + 1) * d]);
            assert!(
                (dist - tr.final_distance).abs() < 1e-9,
                "{what}: final distance"
            );
        }
    }
    assert!(
        ended_early > 20,
        "most trials end by success or patience, not the cap"
    );
}

#[test]
fn maps_round_trip_through_json_and_resume_continues() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (e, _) = four_basin_gmm();
    let tmp = tempfile::Builder::new()
        .prefix("telescope-map-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let path = dir.join("map.json");
    let opts = AdelmOptions {
        batch: 4,
        ..gmm_options(12, 9)
    };
    let half = adelm(
        &e,
        &mut RandomProposer(e.clone()),
        &AdelmOptions {
            iters: 8,
            checkpoint: Some(path.clone()),
            ..opts.clone()
        },
    )
    .unwrap();
    let loaded = LandscapeMap::load(&path).unwrap();
    assert_eq!(loaded.groups, half.groups);
    assert_eq!(loaded.minima, half.minima);
    assert_eq!(loaded.barriers, half.barriers);
    let text = std::fs::read_to_string(&path).unwrap();
    for key in [
        "\"groups\"",
        "\"minima\"",
        "\"barriers\"",
        "\"params\"",
        "\"seed\"",
        "\"version\"",
    ] {
        assert!(text.contains(key), "JSON lacks {key}");
    }
    let resumed = resume(&e, &mut RandomProposer(e.clone()), loaded, &opts).unwrap();
    assert_eq!(resumed.iterations, 12);
    let total: usize = resumed.groups.iter().map(|g| g.members).sum();
    assert_eq!(total, 12, "every iteration's minimum is counted once");
    // Same seed, same map.
    let again = adelm(
        &e,
        &mut RandomProposer(e.clone()),
        &AdelmOptions {
            iters: 8,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(again.minima, half.minima);
    assert!(LandscapeMap::load(&dir.join("missing.json")).is_err());
}

#[test]
fn kept_proposals_descend_into_their_own_basin_and_survive_json() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (e, _) = four_basin_gmm();
    tensor::manual_seed(3);
    let opts = AdelmOptions {
        keep_proposals: true,
        ..gmm_options(40, 3)
    };
    let map = adelm(&e, &mut RandomProposer(e.clone()), &opts).unwrap();
    assert_eq!(map.proposals.len(), 40, "one record per iteration");
    // The basins are the four quadrants (each holds both components of one basin): a start
    // clear of the axes descends to a minimum in its own quadrant.
    let quadrant = |s: &[f64]| (s[0] > 0.0) as usize + 2 * (s[1] > 0.0) as usize;
    let mut checked = 0;
    for p in &map.proposals {
        let m = &map.minima[p.minimum];
        assert!(
            e.energy(&tch::Tensor::from_slice(&p.state).unsqueeze(0))
                .unwrap()
                .double_value(&[0])
                >= m.energy - 1e-9,
            "a minimum above its start"
        );
        if p.state[0].abs() > 0.5 && p.state[1].abs() > 0.5 {
            assert_eq!(
                quadrant(&p.state),
                quadrant(&m.state),
                "start {:?}",
                p.state
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} starts clear of the axes");
    // Every minimum was reached by as many proposals as its count says.
    for (i, m) in map.minima.iter().enumerate() {
        let reached = map.proposals.iter().filter(|p| p.minimum == i).count();
        assert_eq!(reached, m.count);
    }
    // JSON keeps them; a map written before proposals existed still loads.
    let tmp = tempfile::Builder::new()
        .prefix("telescope-prop-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let path = dir.join("map.json");
    map.save(&path).unwrap();
    assert_eq!(LandscapeMap::load(&path).unwrap().proposals, map.proposals);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("proposals");
    v["params"]
        .as_object_mut()
        .unwrap()
        .remove("keep_proposals");
    std::fs::write(&path, v.to_string()).unwrap();
    let old = LandscapeMap::load(&path).unwrap();
    assert!(old.proposals.is_empty());
    assert_eq!(old.minima, map.minima);
}

/// Median of the radius `r = ||x||` under `p(x) ∝ exp(-||x||²/(2T) - alpha ||x||)` in `d`
/// dimensions, by quadrature of the radial density `r^(d-1) exp(-r²/(2T) - alpha r)`.
fn thermal_median_radius(d: usize, t: f64, alpha: f64) -> f64 {
    let log_p = |r: f64| (d as f64 - 1.0) * r.ln() - r * r / (2.0 * t) - alpha * r;
    let hi = 10.0 * (t * d as f64).sqrt() + 10.0;
    let n = 200_000;
    let h = hi / n as f64;
    let peak = (1..n)
        .map(|k| log_p(k as f64 * h))
        .fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = (1..n).map(|k| (log_p(k as f64 * h) - peak).exp()).collect();
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    for (k, v) in w.iter().enumerate() {
        acc += v;
        if acc >= 0.5 * total {
            return (k + 1) as f64 * h;
        }
    }
    hi
}

#[test]
fn auto_delta_is_the_median_thermal_radius_of_a_chain_held_at_the_target() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use telescope::landscape::ad::auto_deltas;
    tensor::manual_seed(12);
    for &(d, t, alpha) in &[
        (2, 0.1, 1.0),
        (10, 0.1, 1.0),
        (10, 0.5, 10.0),
        (40, 0.1, 0.5),
        (40, 0.02, 20.0),
    ] {
        let e: EnergyRef = Rc::new(energy::quadratic(d).unwrap());
        let opts = AdOptions {
            temperature: t,
            sampler: mh(0.5 * (t / d as f64).sqrt()),
            ..Default::default()
        };
        // Two targets, the second twice: one radius per distinct target.
        let targets = tch::Tensor::zeros([3, d as i64], (tch::Kind::Double, tch::Device::Cpu));
        let deltas = auto_deltas(&e, &targets, &[alpha; 3], &opts).unwrap();
        let truth = thermal_median_radius(d, t, alpha);
        eprintln!(
            "d {d} T {t} alpha {alpha}: auto delta {:.4}, exact median radius {truth:.4}",
            deltas[0]
        );
        assert!(
            deltas.iter().all(|&x| x == deltas[0]),
            "one radius per distinct target"
        );
        assert!(
            (deltas[0] - truth).abs() <= 0.15 * truth,
            "d {d} T {t} alpha {alpha}: auto delta {} vs median thermal radius {truth}",
            deltas[0]
        );
    }
    // A field so strong that the held chain hardly moves: delta is one move of the sampler,
    // step sqrt(d), not the near-zero median of a chain that rejects every proposal.
    let e: EnergyRef = Rc::new(energy::quadratic(10).unwrap());
    let opts = AdOptions {
        temperature: 0.1,
        sampler: mh(0.01),
        ..Default::default()
    };
    let targets = tch::Tensor::zeros([1, 10], (tch::Kind::Double, tch::Device::Cpu));
    let deltas = auto_deltas(&e, &targets, &[1e4], &opts).unwrap();
    assert!(
        (deltas[0] - 0.01 * 10f64.sqrt()).abs() < 1e-12,
        "{deltas:?}"
    );
    // Spin spaces: success means reaching the target.
    let s: EnergyRef = Rc::new(energy::sk(12, 1, 1.0).unwrap());
    let x = energy::random_states(s.as_ref(), 2).unwrap();
    let deltas = auto_deltas(&s, &x, &[1.0, 1.0], &AdOptions::default()).unwrap();
    assert_eq!(deltas, vec![0.0, 0.0]);
}

#[test]
fn cached_auto_deltas_equal_fresh_ones_and_leave_the_random_stream_as_a_fresh_run_does() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use telescope::landscape::ad::{auto_deltas, auto_deltas_cached, DeltaCache};
    let e: EnergyRef = Rc::new(energy::quadratic(6).unwrap());
    let opts = AdOptions {
        temperature: 0.2,
        sampler: mh(0.05),
        ..Default::default()
    };
    let dev = (tch::Kind::Double, tch::Device::Cpu);
    tensor::manual_seed(3);
    let a = tch::Tensor::randn([4, 6], dev);
    let b = tch::Tensor::randn([3, 6], dev);
    let alphas_a = [1.0, 2.0, 1.0, 4.0];
    // Cold: every radius measured now; then a draw from the stream that follows.
    tensor::manual_seed(9);
    let cold = auto_deltas(&e, &b, &[2.0; 3], &opts).unwrap();
    let after_cold = tch::Tensor::randn([5], dev);
    // Warm: a cache that already holds other targets and one of b's rows.
    let mut cache = DeltaCache::default();
    let mixed = tch::Tensor::cat(&[a.shallow_clone(), b.narrow(0, 2, 1)], 0);
    auto_deltas_cached(&e, &mixed, &[1.0, 2.0, 1.0, 4.0, 2.0], &opts, &mut cache).unwrap();
    assert_eq!(cache.len(), 5, "one radius per (target, alpha)");
    tensor::manual_seed(9);
    let warm = auto_deltas_cached(&e, &b, &[2.0; 3], &opts, &mut cache).unwrap();
    let after_warm = tch::Tensor::randn([5], dev);
    assert_eq!(
        cold, warm,
        "a cached radius is the radius a fresh measurement gives"
    );
    assert_eq!(cache.len(), 7);
    assert!(
        after_cold.equal(&after_warm),
        "the caller's stream goes on the same whatever the cache held"
    );
    // And each radius depends on its own (target, alpha) only, not on the rows beside it.
    let alone = auto_deltas(&e, &a.narrow(0, 3, 1), &[alphas_a[3]], &opts).unwrap();
    let together = auto_deltas(&e, &a, &alphas_a, &opts).unwrap();
    assert_eq!(alone[0], together[3]);
    assert_ne!(
        together[0], together[1],
        "different alphas, different radii"
    );
}

/// Returns `rows` states whatever it is asked for.
struct FixedRows(i64);

impl telescope::landscape::adelm::Proposer for FixedRows {
    fn propose(&mut self, _n: usize) -> telescope::Result<tch::Tensor> {
        Ok(tch::Tensor::zeros(
            [self.0, 2],
            (tch::Kind::Double, tch::Device::Cpu),
        ))
    }
}

#[test]
fn a_proposer_that_returns_the_wrong_number_of_states_is_an_error() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Zero rows used to loop forever; more rows than asked pushed iterations past `iters`.
    let e: EnergyRef = Rc::new(energy::quadratic(2).unwrap());
    for rows in [0, 3, 5] {
        let opts = AdelmOptions {
            iters: 3,
            batch: 4,
            ..Default::default()
        };
        let err = adelm(&e, &mut FixedRows(rows), &opts).expect_err("an error");
        assert!(
            err.to_string()
                .contains(&format!("returned {rows} states where 4")),
            "{err}"
        );
    }
    let ok = adelm(
        &e,
        &mut FixedRows(4),
        &AdelmOptions {
            iters: 3,
            batch: 4,
            ..Default::default()
        },
    );
    assert_eq!(ok.unwrap().iterations, 3);
}

#[test]
fn maps_are_written_atomically() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::Builder::new()
        .prefix("telescope-atomic-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let e: EnergyRef = Rc::new(energy::quadratic(2).unwrap());
    let map = adelm(
        &e,
        &mut RandomProposer(e.clone()),
        &AdelmOptions {
            iters: 2,
            batch: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let path = dir.join("map.json");
    std::fs::write(&path, "old").unwrap();
    map.save(&path).unwrap();
    assert_eq!(LandscapeMap::load(&path).unwrap().iterations, 2);
    // A write that cannot be renamed into place (the target is a folder) fails with the path,
    // leaves the target as it was and no temporary file behind.
    let blocked = dir.join("taken");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    let err = map.save(&blocked).expect_err("an error");
    assert!(err.to_string().contains("taken"), "{err}");
    assert!(blocked.join("inside").is_dir());
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.contains(".tmp")), "{left:?}");
}

#[test]
fn without_consolidation_the_map_is_placement_alone() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Placement is reseeded per iteration, so the two runs agree until the final
    // consolidation, and every merge it makes removes exactly one group.
    let e: EnergyRef = Rc::new(energy::sk(14, 21, 1.0).unwrap());
    let mut merges = 0;
    for alpha in [0.2, 0.4, 0.8] {
        let opts = |consolidate: bool| AdelmOptions {
            ad: AdOptions {
                temperature: 0.05 / 14.0,
                alpha,
                delta: telescope::landscape::ad::Delta::Fixed(0.0),
                improvement_limit: 50,
                max_steps: 1000,
                sampler: telescope::sampler::SamplerSpec {
                    kind: telescope::sampler::SamplerKind::Gibbs,
                    step: 0.05,
                    leapfrog: 10,
                },
                ..Default::default()
            },
            iters: 60,
            same_tol: 0.0,
            complete: false,
            consolidate,
            seed: 5,
            ..Default::default()
        };
        let plain = adelm(&e, &mut RandomProposer(e.clone()), &opts(false)).unwrap();
        assert!(plain.merges.is_empty() && plain.stats.merges == 0);
        let merged = adelm(&e, &mut RandomProposer(e.clone()), &opts(true)).unwrap();
        assert_eq!(
            merged.groups.len() + merged.stats.merges,
            plain.groups.len(),
            "alpha {alpha}"
        );
        assert_eq!(merged.minima.len(), plain.minima.len());
        merges += merged.stats.merges;
    }
    assert!(
        merges > 0,
        "consolidation never merged: the test shows nothing"
    );
}

/// Wells on a ring: the straight line between two wells that are not neighbours passes
/// through the ring's empty middle, so each well's nearest groups by the 1-D barrier are its
/// two neighbours. `barrier_matrix(#{nearest: 2})` then refines exactly the neighbouring
/// pairs (the map holds no barrier before: `complete: false`, alpha too weak to join), and
/// without `nearest` every pair.
#[test]
fn barrier_matrix_with_nearest_refines_the_neighbouring_wells_of_a_ring() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (n, seed) in [(5, 1), (7, 4), (9, 2)] {
        let code = format!(
            r#"
            seed({seed});
            let n = {n};
            let centres = [];
            for k in 0..n {{
                let a = 6.283185307179586 * k.to_float() / n.to_float();
                centres.push([3.0 * a.cos(), 3.0 * a.sin()]);
            }}
            let w = [];
            for k in 0..n {{ w.push(1.0); }}
            let U = gmm(centres, w, 0.5);
            let m = adelm(U, #{{T: 0.05, alpha: 0.01, iters: 12 * n, complete: false, progress: false}});
            let well = m.groups.map(|g| {{
                let best = 0;
                let bd = 1e9;
                for k in 0..n {{
                    let d = (g.state - tensor(centres[k])).norm().item();
                    if d < bd {{ bd = d; best = k; }}
                }}
                best
            }});
            let all = m;
            // Which pairs are refined does not depend on scoring the moves (no trajectory
            // changes): the states alone keep this test fast.
            let near = m.barrier_matrix(U, #{{T: 0.05, nearest: 2, path_points: 0, progress: false}});
            let every = all.barrier_matrix(U, #{{T: 0.05, path_points: 0, progress: false}});
            [well, near, every]
            "#
        );
        let v = telescope::script::new_session(None)
            .eval("<test>", &code)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_array()
            .unwrap();
        let well = common::script_ints(&v[0]);
        let mut seen = well.clone();
        seen.sort();
        assert_eq!(seen, (0..n).collect::<Vec<i64>>(), "one group per well");
        let filled = |m: &rhai::Dynamic, i: usize, j: usize| {
            !m.clone().into_array().unwrap()[i]
                .clone()
                .into_array()
                .unwrap()[j]
                .is_unit()
        };
        for i in 0..n as usize {
            for j in 0..n as usize {
                if i == j {
                    continue;
                }
                let gap = (well[i] - well[j]).rem_euclid(n);
                let neighbours = gap == 1 || gap == n - 1;
                assert_eq!(
                    filled(&v[1], i, j),
                    neighbours,
                    "n {n}: wells {} and {} with nearest 2",
                    well[i],
                    well[j]
                );
                assert!(filled(&v[2], i, j), "n {n}: every pair without nearest");
            }
        }
    }
}

/// `m.stats` in scripts: every iteration draws one proposal; successes and near-misses are
/// shares of the trials; every batch takes at least one minimizer iteration; the summary
/// line, the getters and `to_map()` agree; a saved and loaded map keeps its counters.
#[test]
fn map_stats_count_the_run_in_scripts() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    for (iters, batch, seed) in [(6, 1, 1), (12, 4, 2), (10, 4, 3), (7, 16, 4)] {
        let mut s = telescope::script::new_session(Some(tmp.path()));
        let file = tmp.path().join("m.json").display().to_string();
        let code = format!(
            "let m = adelm(muller_brown(), #{{iters: {iters}, batch: {batch}, seed: {seed}, progress: false}});\n\
             m.save({file:?});\n\
             let l = load_map({file:?});\n\
             let s = m.stats;\n\
             [s.proposals, s.ad_trials, s.ad_successes, s.ad_near_misses, s.min_iterations, s.repeats,\n\
              l.stats.proposals == s.proposals && l.stats.ad_trials == s.ad_trials && l.stats.min_iterations == s.min_iterations,\n\
              s.to_map().proposals == s.proposals && s.to_map().ad_successes == s.ad_successes, `${{s}}`]"
        );
        let v: rhai::Array = s.eval("stats.rhai", &code).unwrap().cast();
        let n = |i: usize| v[i].as_int().unwrap();
        let (proposals, trials, successes, near, min_iters) = (n(0), n(1), n(2), n(3), n(4));
        assert_eq!(proposals, iters as i64, "{v:?}");
        assert!(successes + near <= trials, "{v:?}");
        assert!(min_iters >= (iters / batch) as i64, "{v:?}");
        assert!(v[6].as_bool().unwrap() && v[7].as_bool().unwrap(), "{v:?}");
        let line = v[8].clone().into_string().unwrap();
        assert!(
            line.starts_with("MapStats: ")
                && line.contains(&format!("{trials} AD trials"))
                && line.contains(&format!("{proposals} proposals")),
            "{line}"
        );
    }
}

/// The host and device forms of the stop rule, reading every step, give the same trials
/// to the bit (records, states, barriers, verdicts, final states) over random energies,
/// batches and settings from the same seed.
#[test]
fn host_and_device_stop_rules_give_identical_trials() {
    use rand::{Rng, SeedableRng};
    use telescope::sampler::{SamplerKind, SamplerSpec};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for case in 0..16 {
        let (e, d): (EnergyRef, usize) = if case % 2 == 0 {
            let d = rng.random_range(1..=4usize);
            (std::rc::Rc::new(energy::quadratic(d).unwrap()), d)
        } else {
            (std::rc::Rc::new(energy::muller_brown()), 2)
        };
        let b = rng.random_range(1..=10usize);
        let draw = |rng: &mut rand::rngs::StdRng| -> Vec<f64> {
            (0..b * d).map(|_| rng.random_range(-1.0..1.0)).collect()
        };
        let shape = [b as i64, d as i64];
        let starts = tensor::from_vec(&draw(&mut rng), &shape).unwrap();
        let targets = tensor::from_vec(&draw(&mut rng), &shape).unwrap();
        let alphas: Vec<f64> = (0..b).map(|_| rng.random_range(0.5..30.0)).collect();
        let opts = AdOptions {
            temperature: rng.random_range(0.2..3.0),
            delta: Delta::Fixed(rng.random_range(0.02..0.4)),
            improvement_limit: rng.random_range(2..30),
            max_steps: rng.random_range(3..200),
            sampler: SamplerSpec {
                kind: [SamplerKind::Mh, SamplerKind::Mala][rng.random_range(0..2)],
                step: rng.random_range(0.01..0.1),
                leapfrog: 1,
            },
            thin: [0, 1, 3][rng.random_range(0..3)],
            sync_every: 1,
            ..Default::default()
        };
        let run = |host: bool| {
            tensor::manual_seed(case);
            let mut cache = DeltaCache::default();
            ad_trials_in_form(
                &e,
                &starts,
                &targets,
                &alphas,
                &opts,
                &mut cache,
                if host {
                    RuleForm::Host
                } else {
                    RuleForm::Device
                },
            )
            .unwrap()
        };
        let (host, device) = (run(true), run(false));
        for (i, (h, v)) in host.iter().zip(&device).enumerate() {
            let what = format!("case {case} trial {i}");
            assert_eq!(
                (
                    h.success,
                    h.steps,
                    h.barrier.to_bits(),
                    h.best_distance.to_bits()
                ),
                (
                    v.success,
                    v.steps,
                    v.barrier.to_bits(),
                    v.best_distance.to_bits()
                ),
                "{what}"
            );
            assert_eq!(
                h.final_distance.to_bits(),
                v.final_distance.to_bits(),
                "{what}"
            );
            assert_eq!(h.energies, v.energies, "{what}");
            assert_eq!(h.distances, v.distances, "{what}");
            assert_eq!(h.states, v.states, "{what}");
            assert_eq!(h.final_state, v.final_state, "{what}");
        }
    }
}
