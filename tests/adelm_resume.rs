//! A map interrupted anywhere (mid-batch, mid-placement, mid-consolidation, during completion)
//! and resumed from its saved file (states in the JSON or in binary sidecars) equals the
//! uninterrupted run with the same seed. Its own test binary: the Ctrl-C flag is process-wide.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use tch::Tensor;
use telescope::energy::{self, Energy, EnergyRef, Space, SpinModel};
use telescope::landscape::ad::{AdOptions, Delta};
use telescope::landscape::adelm::{adelm, resume, AdelmOptions, RandomProposer};
use telescope::landscape::map::LandscapeMap;
use telescope::landscape::map_states::StateStorage;
use telescope::{interrupt, tensor, Result};

/// The Ctrl-C flag and libtorch's RNG are process-wide: the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// An energy that presses Ctrl-C at its `at`-th evaluation (every batched call counts once).
struct Tripwire {
    inner: EnergyRef,
    calls: Cell<usize>,
    at: usize,
}

impl Energy for Tripwire {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn dim(&self) -> Option<usize> {
        self.inner.dim()
    }
    fn space(&self) -> Space {
        self.inner.space()
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        self.count();
        self.inner.energy(x)
    }
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        self.count();
        self.inner.grad(x)
    }
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.count();
        self.inner.energy_and_grad(x)
    }
    fn spin_model(&self) -> Option<&SpinModel> {
        self.inner.spin_model()
    }
    fn describe(&self) -> serde_json::Value {
        self.inner.describe()
    }
}

impl Tripwire {
    fn count(&self) {
        let c = self.calls.get() + 1;
        self.calls.set(c);
        if c == self.at {
            interrupt::request();
        }
    }
}

/// Everything a map holds except the time it took.
fn same_map(a: &LandscapeMap, b: &LandscapeMap, what: &str) {
    assert_eq!(a.iterations, b.iterations, "{what}: iterations");
    assert_eq!(a.groups, b.groups, "{what}: groups");
    assert_eq!(a.minima, b.minima, "{what}: minima");
    assert_eq!(a.proposals, b.proposals, "{what}: proposals");
    assert_eq!(a.barriers, b.barriers, "{what}: barriers");
    assert_eq!(a.barrier_kinds, b.barrier_kinds, "{what}: barrier kinds");
    assert_eq!(a.merges, b.merges, "{what}: merges");
    let (mut sa, mut sb) = (a.stats.clone(), b.stats.clone());
    sa.seconds = 0.0;
    sb.seconds = 0.0;
    assert_eq!(sa, sb, "{what}: counters");
}

/// Runs `opts` uninterrupted, then interrupted at each of `cuts` energy calls, saved, loaded
/// and resumed; every resumed map must equal the uninterrupted one.
fn interrupted_runs_resume_to_the_same_map(e: &EnergyRef, opts: &AdelmOptions, cuts: &[usize]) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::Builder::new()
        .prefix("telescope-resume-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let path = dir.join("map.json");
    let counter = Rc::new(Tripwire {
        inner: e.clone(),
        calls: Cell::new(0),
        at: 0,
    });
    let counted: EnergyRef = counter.clone();
    let full = adelm(&counted, &mut RandomProposer(e.clone()), opts).unwrap();
    assert!(!full.interrupted);
    let calls = counter.calls.get();
    let again = adelm(e, &mut RandomProposer(e.clone()), opts).unwrap();
    same_map(&again, &full, "a second uninterrupted run");
    let mut interrupted = 0;
    for (k, &cut) in cuts.iter().enumerate() {
        let at = 1 + cut % calls;
        let wire: EnergyRef = Rc::new(Tripwire {
            inner: e.clone(),
            calls: Cell::new(0),
            at,
        });
        let part = adelm(&wire, &mut RandomProposer(e.clone()), opts);
        interrupt::clear();
        let part = part.unwrap();
        interrupted += part.interrupted as usize;
        // Every other cut keeps its states in binary sidecars.
        let storage = [StateStorage::Json, StateStorage::Binary][k % 2];
        part.save_with(&path, storage).unwrap();
        let loaded = LandscapeMap::load(&path).unwrap();
        let resumed = resume(e, &mut RandomProposer(e.clone()), loaded, opts).unwrap();
        same_map(
            &resumed,
            &full,
            &format!(
                "cut at call {at} of {calls} (iteration {})",
                part.iterations
            ),
        );
    }
    assert!(
        interrupted * 2 >= cuts.len(),
        "most cuts should interrupt the run"
    );
}

#[test]
fn sk_maps_resumed_from_any_interruption_equal_the_uninterrupted_run() {
    let e: EnergyRef = Rc::new(energy::sk(14, 3, 1.0).unwrap());
    let opts = AdelmOptions {
        ad: common::gibbs_ad(0.05 / 14.0, 0.3),
        iters: 90,
        batch: 16,
        consolidate_every: 30,
        max_checks: 6,
        same_tol: 0.0,
        keep_proposals: true,
        seed: 11,
        ..Default::default()
    };
    let cuts: Vec<usize> = (0..12).map(|k| 7 + 37 * k).collect();
    interrupted_runs_resume_to_the_same_map(&e, &opts, &cuts);
}

#[test]
fn continuous_maps_resumed_from_any_interruption_equal_the_uninterrupted_run() {
    let means = vec![vec![-1.5, 0.0], vec![1.5, 0.0], vec![0.0, 1.8]];
    let e: EnergyRef = Rc::new(energy::gmm(&means, &[1.0, 0.8, 0.6], 0.5).unwrap());
    let opts = AdelmOptions {
        ad: AdOptions {
            temperature: 0.3,
            alpha: 3.0,
            delta: Delta::Auto,
            improvement_limit: 40,
            max_steps: 1500,
            sampler: common::mh(0.1),
            ..Default::default()
        },
        iters: 20,
        batch: 6,
        consolidate_every: 10,
        seed: 5,
        ..Default::default()
    };
    let cuts: Vec<usize> = (0..6).map(|k| 3 + 29 * k).collect();
    interrupted_runs_resume_to_the_same_map(&e, &opts, &cuts);
    // The same with the stop rule read every 16 steps, as on a GPU.
    let mut blocks = opts.clone();
    blocks.ad.sync_every = 16;
    interrupted_runs_resume_to_the_same_map(&e, &blocks, &cuts);
}

#[test]
fn a_gwl_chain_stopped_by_ctrl_c_resumes_to_the_uninterrupted_map() {
    use telescope::landscape::gwl::{gwl, gwl_resume, GwlOptions};
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = energy::sk(40, 8, 1.0).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("telescope-gwl-stop-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let path = dir.join("gwl.json");
    let opts = GwlOptions {
        k: 40,
        emax: -0.3,
        iters: 400_000,
        block: 2_000,
        seed: 11,
        checkpoint: Some(path.clone()),
        ..GwlOptions::default()
    };
    let started = std::time::Instant::now();
    let full = gwl(
        &model,
        &GwlOptions {
            checkpoint: None,
            ..opts.clone()
        },
    )
    .unwrap();
    // Presses at shares of the uninterrupted run's time, so they land inside the chain on a
    // slow machine and a fast one alike.
    let whole = started.elapsed();
    let mut stopped = 0;
    for share in [0.1, 0.3, 0.5] {
        let delay = whole.mul_f64(share);
        let presser = std::thread::spawn(move || {
            std::thread::sleep(delay);
            interrupt::request();
        });
        let part = gwl(&model, &opts);
        presser.join().unwrap();
        interrupt::clear();
        let part = part.unwrap();
        // A press that lands after the chain's last block stops the finishing stage (greedy
        // paths, ridges), not the chain: not the case under test.
        if !part.interrupted || part.iterations == opts.iters {
            let _ = std::fs::remove_file(telescope::landscape::gwl::state_path(&path));
            continue;
        }
        stopped += 1;
        assert!(part.iterations < opts.iters);
        assert_eq!(part.iterations % opts.block, 0, "stops between blocks");
        assert_eq!(
            LandscapeMap::load(&path).unwrap().iterations,
            part.iterations
        );
        let resumed = gwl_resume(&model, &path, &opts).unwrap();
        assert!(!resumed.interrupted);
        assert!(
            resumed.groups == full.groups,
            "groups after a stop at {}",
            part.iterations
        );
        assert!(
            resumed.minima == full.minima,
            "minima after a stop at {}",
            part.iterations
        );
        assert!(
            resumed.barriers == full.barriers,
            "barriers after a stop at {}",
            part.iterations
        );
        std::fs::remove_file(telescope::landscape::gwl::state_path(&path)).unwrap();
    }
    assert!(
        stopped > 0,
        "no run was stopped: the chain is faster than the presser"
    );
}

#[test]
fn a_mapping_leaves_the_session_seed_as_it_found_it() {
    // ADELM reseeds itself every iteration; afterwards the session seed is the script's again,
    // so the same call twice (seed defaulting to the session seed) gives the same map. Here,
    // not in tests/adelm.rs: the session seed is process-wide.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e: EnergyRef = Rc::new(energy::sk(12, 4, 1.0).unwrap());
    tensor::manual_seed(7);
    let run = || {
        let opts = AdelmOptions {
            ad: common::gibbs_ad(0.05 / 12.0, 0.4),
            iters: 30,
            seed: tensor::session_seed(),
            ..Default::default()
        };
        adelm(&e, &mut RandomProposer(e.clone()), &opts).unwrap()
    };
    let a = run();
    assert_eq!(tensor::session_seed(), 7);
    let b = run();
    assert!(a.groups == b.groups && a.minima == b.minima);
}
