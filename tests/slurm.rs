//! A real Slurm: a one-node cluster on this machine (munged, slurmctld, slurmd, started by
//! `scripts/slurm/local-cluster.sh`, which installs Debian's packages when they are missing),
//! a real array job of 4 shards and a real dependent merge job, both submitted by
//! `scripts/slurm/submit.sh`. The merged map is checked against exact enumeration of the
//! glass. The daemons are stopped by their process ids however the test ends.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use telescope::energy::sk;
use telescope::landscape::map::LandscapeMap;

/// The cluster this test started; stopping it (by the pids `start` wrote) on drop.
struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let out = Command::new("scripts/slurm/local-cluster.sh")
            .arg("start")
            .arg(dir)
            .output()
            .expect("run local-cluster.sh");
        let cluster = Cluster {
            dir: dir.to_path_buf(),
        };
        assert!(
            out.status.success(),
            "the local Slurm cluster did not come up:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }
    fn conf(&self) -> PathBuf {
        self.dir.join("slurm.conf")
    }
    /// The daemons' logs, for a failure message.
    fn logs(&self) -> String {
        ["slurmctld.log", "slurmd.log", "munged.log"]
            .iter()
            .map(|l| {
                let text = std::fs::read_to_string(self.dir.join(l)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {l}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("scripts/slurm/local-cluster.sh")
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

#[test]
fn four_shards_on_a_real_slurm_merge_into_a_map_that_keeps_every_hard_rule() {
    let root = std::env::temp_dir().join(format!("telescope-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let cluster = Cluster::start(&root.join("cluster"));
    let runs = root.join("runs");
    let (spins, iters) = (16, 40);
    let out = Command::new("scripts/slurm/submit.sh")
        .args(["examples/slurm_sk.rhai", "4", "--time=10", "--"])
        .args([spins.to_string(), iters.to_string()])
        .env("SLURM_CONF", cluster.conf())
        .env("TELESCOPE", env!("CARGO_BIN_EXE_telescope"))
        .env("TELESCOPE_RUNS", &runs)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "submit.sh failed: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = PathBuf::from(
        said.lines()
            .find_map(|l| l.strip_prefix("run "))
            .expect("submit.sh names the run folder"),
    );
    // Wait for the merged map, up to 5 minutes, while the jobs are still queued or running.
    let merged_path = run.join("merged.json");
    let started = Instant::now();
    let logs = || {
        let mut text = String::new();
        for entry in std::fs::read_dir(run.join("logs")).unwrap().flatten() {
            let body = std::fs::read_to_string(entry.path()).unwrap_or_default();
            text.push_str(&format!("--- {}\n{body}\n", entry.path().display()));
        }
        text
    };
    loop {
        if merged_path.exists() && !queued(&cluster) {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            panic!(
                "no merged map after 5 minutes\n{}\n{}",
                logs(),
                cluster.logs()
            );
        }
        if !queued(&cluster) && !merged_path.exists() {
            // Give the merge job's output a moment to land, then fail with the logs.
            std::thread::sleep(Duration::from_secs(2));
            assert!(
                merged_path.exists(),
                "the jobs ended without a merged map\n{}\n{}",
                logs(),
                cluster.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // Every shard ran as its own array task, with a seed of its own.
    let mut seeds = Vec::new();
    for i in 0..4 {
        let m = LandscapeMap::load(&run.join(format!("maps/shard-{i}.json"))).unwrap();
        let shard = m.provenance.as_ref().and_then(|p| p.shard);
        assert_eq!(
            shard,
            Some(telescope::shard::Shard { index: i, count: 4 }),
            "shard {i}'s provenance"
        );
        assert_eq!(m.iterations, iters);
        seeds.push(m.seed);
    }
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 4, "each shard draws its own seed");
    let merged = LandscapeMap::load(&merged_path).unwrap();
    assert_eq!(merged.iterations, 4 * iters, "the merge holds every shard");
    let truth = common::exact(&sk(spins, 1, 1.0).unwrap());
    common::check_spin_map(&merged, &truth, "the Slurm merge");
    drop(cluster);
    let _ = std::fs::remove_dir_all(&root);
}

/// True while the cluster still holds a job (pending or running).
fn queued(cluster: &Cluster) -> bool {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i"])
        .env("SLURM_CONF", cluster.conf())
        .output();
    match out {
        Ok(o) if o.status.success() => !String::from_utf8_lossy(&o.stdout).trim().is_empty(),
        _ => false,
    }
}
