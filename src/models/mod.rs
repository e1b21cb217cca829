//! Learned image energies: DeepFRAME descriptors, generators, Co-Op training, datasets.
