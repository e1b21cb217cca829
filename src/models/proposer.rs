//! Generator proposals for ADELM (paper section 5.3): starting images `g(Z)`, `Z ~ N(0, I)`,
//! rounded to the energy's pixel levels when the image space is discrete.

use super::net::{Net, Role};
use super::train::quantize;
use crate::energy::Space;
use crate::landscape::proposer::Proposer;
use crate::{error::invalid, tensor, Result};
use std::rc::Rc;
use tch::Tensor;

/// Proposes images from a generator network for mapping an image-space energy.
pub struct GeneratorProposer {
    gen: Rc<Net>,
    levels: Option<(usize, f64, f64)>,
}

impl GeneratorProposer {
    /// Proposals from `gen` for an energy over `space` with `dim` values per state; images are
    /// quantized when `space` has discrete levels.
    pub fn new(gen: Rc<Net>, space: &Space, dim: Option<usize>) -> Result<GeneratorProposer> {
        if gen.role() != Role::Generator {
            return Err(invalid("generator proposals need a generator network"));
        }
        if let Some(d) = dim {
            if d as i64 != gen.output_dim() {
                return Err(invalid(format!(
                    "the generator makes images of {} values but the energy's states have {d}",
                    gen.output_dim()
                )));
            }
        }
        let levels = match space {
            Space::Levels { k, lo, hi } => Some((*k, *lo, *hi)),
            Space::Spins => {
                return Err(invalid(
                    "generator proposals need an image energy (continuous or K-level pixels)",
                ))
            }
            Space::Continuous { .. } => None,
        };
        Ok(GeneratorProposer { gen, levels })
    }
}

impl Proposer for GeneratorProposer {
    fn propose(&mut self, n: usize) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        let z = Tensor::f_randn(
            [n as i64, self.gen.input_dim()],
            (self.gen.kind(), self.gen.device()),
        )?;
        let images = self.gen.generate(&z)?;
        let images = match self.levels {
            Some((k, lo, hi)) => quantize(&images, k, lo, hi)?,
            None => images,
        };
        Ok(images
            .f_to_kind(tensor::dtype())?
            .f_to_device(tensor::device())?)
    }
}
