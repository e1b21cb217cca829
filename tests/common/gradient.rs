//! The one finite-difference check of the test suite.

use tch::{Kind, Tensor};
use telescope::energy::Energy;

/// Asserts that the autograd gradient of `e` at the rows of `x` `[B, D]` equals central
/// differences with step `h`: per coordinate (moved in every row at once, since rows are
/// independent states), `|fd - grad| <= tol (1 + max |fd|)` over the batch.
pub fn assert_gradient_matches_central_differences(e: &dyn Energy, x: &Tensor, h: f64, tol: f64) {
    let x = x.to_kind(Kind::Double);
    let (_, grad) = e.energy_and_grad(&x).unwrap();
    let grad = grad.to_kind(Kind::Double);
    let (b, d) = (x.size()[0], x.size()[1]);
    for i in 0..d {
        let dx = Tensor::zeros([b, d], (Kind::Double, x.device()));
        let _ = dx.select(1, i).fill_(h);
        let up = e.energy(&(&x + &dx)).unwrap().to_kind(Kind::Double);
        let down = e.energy(&(&x - &dx)).unwrap().to_kind(Kind::Double);
        let fd = (up - down) / (2.0 * h);
        let an = grad.select(1, i);
        let err = (&fd - &an).abs().max().double_value(&[]);
        let scale = 1.0 + fd.abs().max().double_value(&[]);
        assert!(
            err <= tol * scale,
            "{}: coordinate {i}: central differences {fd:?} vs autograd {an:?}",
            e.name()
        );
    }
}
