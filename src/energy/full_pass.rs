//! An energy seen without its shortcuts: every single-site candidate scored by a full pass.

use super::{Energy, EnergyRef, Space};
use crate::Result;
use tch::Tensor;

/// `inner` with its [`super::SiteScorer`] hidden, so that Gibbs sweeps and single-site descent
/// score every candidate state by a full `energy` call: the reference that incremental
/// scoring is measured and tested against.
pub struct FullPass(pub EnergyRef);

impl Energy for FullPass {
    fn name(&self) -> String {
        self.0.name()
    }
    fn dim(&self) -> Option<usize> {
        self.0.dim()
    }
    fn space(&self) -> Space {
        self.0.space()
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        self.0.energy(x)
    }
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        self.0.grad(x)
    }
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.0.energy_and_grad(x)
    }
    fn describe(&self) -> serde_json::Value {
        self.0.describe()
    }
}
