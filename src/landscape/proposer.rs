//! Where ADELM's starting states come from (Algorithm 3 step 1): the proposers of the core
//! (uniform over the domain, a latent prior); generators and script functions implement the
//! same trait elsewhere.

use crate::energy::{self, EnergyRef};
use crate::{tensor, Result};
use tch::Tensor;

/// Where new starting states come from (Algorithm 3 step 1).
pub trait Proposer {
    /// `n` starting states `[n, D]`.
    fn propose(&mut self, n: usize) -> Result<Tensor>;
}

/// Uniform random states over the energy's domain.
pub struct RandomProposer(pub EnergyRef);

impl Proposer for RandomProposer {
    fn propose(&mut self, n: usize) -> Result<Tensor> {
        energy::random_states(self.0.as_ref(), n)
    }
}

/// Standard normal states `N(0, I)`: a generator's latent prior (paper section 5.4).
pub struct NormalProposer(pub usize);

impl Proposer for NormalProposer {
    fn propose(&mut self, n: usize) -> Result<Tensor> {
        Ok(Tensor::f_randn(
            [n as i64, self.0 as i64],
            (tensor::dtype(), tensor::device()),
        )?)
    }
}
