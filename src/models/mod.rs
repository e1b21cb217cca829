//! Learned image energies: DeepFRAME descriptors and generators in the paper's Appendix A
//! layer notation, the image energy (2.4) and latent energy (5.4), DeepFRAME (Algorithm 1) and
//! Co-Op (Algorithm 2) training, image datasets (procedural, PNG folders, `.npy`), and
//! TorchScript modules exported from PyTorch as energies or networks.

mod data;
mod energy;
mod module_slots;
mod net;
mod proposer;
mod site_scores;
mod torch_loss;
mod torchscript;
mod train;

pub use data::{
    data_dir, digits, load_images, load_npy, mnist, spots_stripes, Dataset, MNIST_SIZES,
};
pub use energy::{DeepFrameEnergy, ImageSpace, LatentEnergy, TorchEnergy};
pub use module_slots::{SlotKind, SlotModule};
pub use net::{format_layers, infer_shapes, parse_layers, sidecar_path, Layer, Net, NetSpec, Role};
pub use proposer::GeneratorProposer;
pub use torch_loss::{BatchNorm, LossData, LossKind, TorchLoss, TorchLossOptions};
pub use torchscript::ScriptModule;
pub use train::{
    gibbs_images, langevin_images, langevin_latent, quantize, train_coop, train_deepframe, Adam,
    EpochStats, Synthesis, TrainOptions, TrainReport,
};
