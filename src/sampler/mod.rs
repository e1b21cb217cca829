//! Batched local MCMC samplers.
