//! Conversions between tensors and plain Rust data.

use crate::{error::invalid, Result};
use tch::{Kind, Tensor};

/// Reads of tensor data by the host through [`to_vec_f64`] (and so [`to_matrix`]) since the
/// process started: on a GPU each one waits for the device (a host synchronisation).
static HOST_READS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times the host has read tensor data through [`to_vec_f64`] (benchmarks report
/// host synchronisations per step with it).
pub fn host_reads() -> u64 {
    HOST_READS.load(std::sync::atomic::Ordering::Relaxed)
}

/// All elements as `f64`, in row-major order (moves to CPU when needed).
pub fn to_vec_f64(t: &Tensor) -> Result<Vec<f64>> {
    HOST_READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let flat = t
        .f_detach()?
        .f_to_device(tch::Device::Cpu)?
        .f_to_kind(Kind::Double)?
        .f_contiguous()?
        .f_view([-1])?;
    Ok(Vec::<f64>::try_from(&flat)?)
}

/// A `[B, D]` tensor as rows of `f64`.
pub fn to_matrix(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    let t = as_batch(t)?;
    let (b, d) = (t.size()[0] as usize, t.size()[1] as usize);
    let v = to_vec_f64(&t)?;
    Ok((0..b).map(|i| v[i * d..(i + 1) * d].to_vec()).collect())
}

/// A tensor of the session dtype and device from data and a shape.
pub fn from_vec(data: &[f64], shape: &[i64]) -> Result<Tensor> {
    let n: i64 = shape.iter().product();
    if n as usize != data.len() {
        return Err(invalid(format!(
            "{} values do not fill shape {:?}",
            data.len(),
            shape
        )));
    }
    Ok(Tensor::from_slice(data)
        .f_reshape(shape)?
        .f_to_kind(super::dtype())?
        .f_to_device(super::device())?)
}

/// A `[B, D]` tensor from rows of equal length.
pub fn from_matrix(rows: &[Vec<f64>]) -> Result<Tensor> {
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    if rows.iter().any(|r| r.len() != d) {
        return Err(invalid("rows of different lengths"));
    }
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    from_vec(&flat, &[rows.len() as i64, d as i64])
}

/// Views a state `[D]` as a batch `[1, D]`; a `[B, D]` batch is returned as is.
pub fn as_batch(x: &Tensor) -> Result<Tensor> {
    match x.dim() {
        1 => Ok(x.f_unsqueeze(0)?),
        2 => Ok(x.shallow_clone()),
        0 => Ok(x.f_reshape([1, 1])?),
        n => Err(invalid(format!(
            "expected a state [D] or a batch [B, D], got {n} dimensions {:?}",
            x.size()
        ))),
    }
}

/// The single value of a one-element tensor.
pub fn scalar_f64(t: &Tensor) -> Result<f64> {
    if t.numel() != 1 {
        return Err(invalid(format!(
            "expected one value, got shape {:?}",
            t.size()
        )));
    }
    Ok(t.f_double_value(&[])
        .or_else(|_| t.f_reshape([-1]).and_then(|f| f.f_double_value(&[0])))?)
}

/// Euclidean distance between two states given as rows of numbers.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}
