//! Single-pixel changes of a DeepFRAME image energy scored without re-running the network.
//!
//! A descriptor that starts `conv(C1, k, s)` then `fc(U)` keeps, per chain, the convolution's
//! pre-activations `h` `[C1*H1*W1]` and the fully connected layer's pre-activations `z` `[U]`.
//! Setting pixel `(c, i, j)` to a new value moves `h` only at the at most
//! `ceil(k/s)^2` positions whose window holds the pixel (all `C1` channels), by the change
//! times one kernel tap each; `z` then moves by the fc weights of those columns times the
//! change of their ReLU. Only the layers after the first fc run in full, on `U` values
//! instead of `C0*H*W`. For the paper's `conv(50,5,2) fc(100) fc(1)` on 16 x 16 images this
//! is 450 columns of the 3,200-column fc layer: about 45k multiply-adds per candidate image
//! instead of about 400k.
//!
//! The running values carry rounding from one change to the next; callers start a scorer
//! from the states once per sweep, so that it never drifts further than one sweep's updates.

use super::net::{ConvFcHead, Net};
use crate::energy::SiteScorer;
use crate::{error::invalid, Result};
use tch::{Device, Kind, Tensor};

/// The conv outputs and taps one pixel reaches.
struct Reach {
    /// Flat indices `[n]` into the conv output `[C1*H1*W1]`.
    outputs: Tensor,
    /// The kernel weight `[n]` joining the pixel to each of those outputs.
    taps: Tensor,
}

/// Running activations of a conv-then-fc descriptor for a batch of images (see the module doc).
pub(crate) struct ConvFcScorer<'a> {
    net: &'a Net,
    sigma: f64,
    /// Images `[B, D]` in the net's dtype and device.
    x: Tensor,
    /// Conv pre-activations `[B, C1*H1*W1]`.
    h: Tensor,
    /// First fc pre-activations `[B, U]`.
    z: Tensor,
    /// `||x||^2` per chain `[B]`.
    sq: Tensor,
    /// The fc weights transposed, `[C1*H1*W1, U]`: one row per conv output.
    fc_rows: Tensor,
    reach: Vec<Reach>,
    /// The reached conv outputs and fc columns of the site scored last, for `set`.
    last: Option<(i64, Tensor, Tensor)>,
    /// The states' dtype and device, for the energies returned.
    like: (Kind, Device),
}

impl<'a> ConvFcScorer<'a> {
    /// A scorer for images `x` `[B, D]` under descriptor `net` with reference deviation
    /// `sigma`, or `None` when the network does not start with `conv` then `fc`.
    pub(crate) fn new(net: &'a Net, sigma: f64, x: &Tensor) -> Result<Option<Self>> {
        let Some(head) = net.conv_fc_head() else {
            return Ok(None);
        };
        let [c0, hh, ww] = net.input_shape();
        let d = c0 * hh * ww;
        let b = x.size()[0];
        if x.size() != [b, d] {
            return Err(invalid(format!(
                "site scores need images [B, {d}], got {:?}",
                x.size()
            )));
        }
        let like = (x.kind(), x.device());
        let xn = x
            .f_detach()?
            .f_to_device(net.device())?
            .f_to_kind(net.kind())?
            .f_contiguous()?;
        let ConvFcHead {
            conv_w,
            conv_b,
            stride,
            padding,
            conv_out,
            fc_w,
            fc_b,
        } = head;
        let h = xn
            .f_view([b, c0, hh, ww])?
            .f_conv2d(
                &conv_w,
                Some(&conv_b),
                [stride, stride],
                [padding, padding],
                [1, 1],
                1,
            )?
            .f_reshape([b, -1])?;
        let z = h.f_relu()?.f_linear(&fc_w, Some(&fc_b))?;
        let sq = xn.f_square()?.f_sum_dim_intlist(1, false, net.kind())?;
        let reach = reaches(&conv_w, [c0, hh, ww], stride, padding, conv_out)?;
        Ok(Some(ConvFcScorer {
            net,
            sigma,
            x: xn,
            h,
            z,
            sq,
            fc_rows: fc_w.f_transpose(0, 1)?.f_contiguous()?,
            reach,
            last: None,
            like,
        }))
    }

    /// The reached conv outputs `[B, n]` and their fc weights `[n, U]` of site `j`.
    fn site(&mut self, j: i64) -> Result<(Tensor, Tensor)> {
        if let Some((lj, hs, cols)) = &self.last {
            if *lj == j {
                return Ok((hs.shallow_clone(), cols.shallow_clone()));
            }
        }
        let r = self.reach.get(j as usize).ok_or_else(|| {
            invalid(format!(
                "site {j} is outside images of {}",
                self.reach.len()
            ))
        })?;
        let hs = self.h.f_index_select(1, &r.outputs)?;
        let cols = self.fc_rows.f_index_select(0, &r.outputs)?;
        self.last = Some((j, hs.shallow_clone(), cols.shallow_clone()));
        Ok((hs, cols))
    }
}

impl SiteScorer for ConvFcScorer<'_> {
    fn candidates(&mut self, j: i64, values: &Tensor) -> Result<Tensor> {
        let (hs, cols) = self.site(j)?;
        let taps = self.reach[j as usize].taps.shallow_clone();
        let (b, u) = (self.x.size()[0], self.z.size()[1]);
        let vals = values
            .f_to_device(self.x.device())?
            .f_to_kind(self.x.kind())?;
        let k = vals.size()[0];
        let xj = self.x.f_select(1, j)?;
        // [B, K]: each candidate's change of pixel j.
        let change = vals.f_unsqueeze(0)?.f_sub(&xj.f_unsqueeze(1)?)?;
        // [B, K, n]: the reached conv outputs after the change.
        let moved = hs
            .f_unsqueeze(1)?
            .f_add(&change.f_unsqueeze(2)?.f_mul(&taps)?)?;
        let relu_change = moved.f_relu()?.f_sub(&hs.f_relu()?.f_unsqueeze(1)?)?;
        let z = self
            .z
            .f_unsqueeze(1)?
            .f_add(&relu_change.f_matmul(&cols)?)?
            .f_view([b * k, u])?;
        let score = self.net.score_after_fc(&z)?.f_view([b, k])?;
        let sq = self
            .sq
            .f_sub(&xj.f_square()?)?
            .f_unsqueeze(1)?
            .f_add(&vals.f_square()?.f_unsqueeze(0)?)?;
        let energy = sq
            .f_div_scalar(2.0 * self.sigma * self.sigma)?
            .f_sub(&score)?;
        Ok(energy.f_to_kind(self.like.0)?.f_to_device(self.like.1)?)
    }

    fn set(&mut self, j: i64, new: &Tensor) -> Result<()> {
        let (hs, cols) = self.site(j)?;
        let r = &self.reach[j as usize];
        let new = new.f_to_device(self.x.device())?.f_to_kind(self.x.kind())?;
        let xj = self.x.f_select(1, j)?;
        let moved = hs.f_add(&new.f_sub(&xj)?.f_unsqueeze(1)?.f_mul(&r.taps)?)?;
        let relu_change = moved.f_relu()?.f_sub(&hs.f_relu()?)?;
        self.z = self.z.f_add(&relu_change.f_matmul(&cols)?)?;
        self.h = self.h.f_index_copy(1, &r.outputs, &moved)?;
        self.sq = self.sq.f_sub(&xj.f_square()?)?.f_add(&new.f_square()?)?;
        self.x = self.x.f_index_copy(
            1,
            &Tensor::from_slice(&[j]).f_to_device(self.x.device())?,
            &new.f_unsqueeze(1)?,
        )?;
        self.last = None;
        Ok(())
    }
}

/// For every pixel of an input `[C0, H, W]`, the conv outputs its value reaches and the taps
/// joining them, for a convolution `weights` `[C1, C0, k, k]` with `stride` and `padding`
/// and output `[C1, H1, W1]`.
fn reaches(
    weights: &Tensor,
    [c0, hh, ww]: [i64; 3],
    stride: i64,
    padding: i64,
    [c1, h1, w1]: [i64; 3],
) -> Result<Vec<Reach>> {
    let k = weights.size()[3];
    let device = weights.device();
    let flat_w = weights.f_reshape([-1])?;
    // Output rows (or columns) whose window `o * stride - padding + 0..k` holds input row `i`.
    let windows = |i: i64, n_out: i64| -> Vec<(i64, i64)> {
        (0..n_out)
            .filter_map(|o| {
                let tap = i + padding - o * stride;
                (0..k).contains(&tap).then_some((o, tap))
            })
            .collect()
    };
    let mut out = Vec::with_capacity((c0 * hh * ww) as usize);
    for c in 0..c0 {
        for i in 0..hh {
            let rows = windows(i, h1);
            for j in 0..ww {
                let cols = windows(j, w1);
                let (mut outputs, mut taps) = (vec![], vec![]);
                for co in 0..c1 {
                    for &(oi, ti) in &rows {
                        for &(oj, tj) in &cols {
                            outputs.push(co * h1 * w1 + oi * w1 + oj);
                            taps.push(((co * c0 + c) * k + ti) * k + tj);
                        }
                    }
                }
                let outputs = Tensor::from_slice(&outputs).f_to_device(device)?;
                let taps =
                    flat_w.f_index_select(0, &Tensor::from_slice(&taps).f_to_device(device)?)?;
                out.push(Reach { outputs, taps });
            }
        }
    }
    Ok(out)
}
