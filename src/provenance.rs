//! Where a result came from: the build, libtorch, the device and the numerical settings of
//! the run that made it. Saved with every map (ADELM and GWL) and in the header of its binary
//! state files, so that a published map says how to get it again.

use serde::{Deserialize, Serialize};

/// The provenance of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// telescope's version.
    pub telescope: String,
    /// The git commit the binary was built from (`-dirty` with local changes; `unknown`
    /// outside a git checkout).
    pub commit: String,
    /// The version of the libtorch the process ran.
    pub torch: String,
    /// The device of the run's tensors (`cpu`, `cuda:0`).
    pub device: String,
    /// The floating dtype (`float64`, `float32`).
    pub dtype: String,
    /// libtorch's intra-op threads.
    pub threads: usize,
    /// ATen's CPU capability (`DEFAULT`, `AVX2`, `AVX512`).
    pub cpu_capability: String,
    /// MKL's conditional numerical reproducibility setting (`MKL_CBWR`), when set.
    pub mkl_cbwr: Option<String>,
    /// Whether reproducible mode was on.
    pub reproducible: bool,
    /// The run's seed.
    pub seed: u64,
    /// The shard of a cluster run that made it (`telescope run --shard I/N`, a Slurm array
    /// task); `null` for a run of its own.
    #[serde(default)]
    pub shard: Option<crate::shard::Shard>,
}

impl Provenance {
    /// The provenance of a run with `seed` in this process, now.
    pub fn current(seed: u64) -> Provenance {
        Provenance {
            telescope: crate::version().to_string(),
            commit: env!("TELESCOPE_GIT_COMMIT").to_string(),
            torch: crate::tensor::torch_version(),
            device: device_name(crate::tensor::device()),
            dtype: dtype_name(crate::tensor::dtype()),
            threads: crate::tensor::threads(),
            cpu_capability: crate::tensor::cpu_capability(),
            mkl_cbwr: std::env::var("MKL_CBWR").ok(),
            reproducible: crate::tensor::reproducible::is_on(),
            seed,
            shard: crate::shard::current(),
        }
    }
    /// One line: `telescope 0.1.0 (abc123), torch 2.13.0, cpu float64, 1 thread, AVX512, ...`.
    pub fn summary(&self) -> String {
        format!(
            "telescope {} ({}), torch {}, {} {}, {} thread{}, CPU capability {}, MKL_CBWR {}, reproducible {}, seed {}",
            self.telescope,
            self.commit,
            self.torch,
            self.device,
            self.dtype,
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.cpu_capability,
            self.mkl_cbwr.as_deref().unwrap_or("unset"),
            if self.reproducible { "on" } else { "off" },
            self.seed
        ) + self
            .shard
            .map(|s| format!(", shard {}/{}", s.index, s.count))
            .unwrap_or_default()
            .as_str()
    }
}

/// `cpu`, `cuda:N`.
pub fn device_name(d: tch::Device) -> String {
    match d {
        tch::Device::Cpu => "cpu".into(),
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// `float64`, `float32`.
pub fn dtype_name(k: tch::Kind) -> String {
    match k {
        tch::Kind::Double => "float64".into(),
        tch::Kind::Float => "float32".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}
