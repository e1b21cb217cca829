//! The point of smallest norm in the convex hull of a few vectors, by Wolfe's algorithm
//! (P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11, 1976), working
//! on their Gram matrix only, so the vectors themselves can stay on the device.

/// Weights on the simplex are dropped once they fall to this.
const WEIGHT_FLOOR: f64 = 1e-15;
/// Relative tolerance of the optimality test `<x, p_j> >= |x|^2 - tol max|p|^2`.
const OPTIMALITY: f64 = 1e-12;
/// Relative ridge added to the Gram matrix in the affine subproblems (keeps them solvable when
/// vectors coincide, as gradients on one side of a kink nearly do).
const RIDGE: f64 = 1e-13;

/// Weights `lambda` (non-negative, summing to 1) of the minimum-norm point `sum_j lambda_j p_j`
/// of the convex hull of `k` vectors `p_j`, given their Gram matrix `gram[i * k + j] = <p_i, p_j>`.
pub fn min_norm_weights(gram: &[f64], k: usize) -> Vec<f64> {
    assert_eq!(
        gram.len(),
        k * k,
        "a Gram matrix of {k} vectors has {k}x{k} entries"
    );
    let mut lambda = vec![0.0; k];
    if k == 0 {
        return lambda;
    }
    let g = |i: usize, j: usize| gram[i * k + j];
    let scale = (0..k).map(|i| g(i, i)).fold(0.0, f64::max);
    let first = (0..k)
        .min_by(|&a, &b| g(a, a).total_cmp(&g(b, b)))
        .unwrap_or(0);
    lambda[first] = 1.0;
    if !(scale > 0.0) || !scale.is_finite() {
        return lambda;
    }
    let mut support = vec![first];
    for _ in 0..(20 * k + 20) {
        // <x, p_j> for all j, and |x|^2.
        let inner: Vec<f64> = (0..k)
            .map(|j| support.iter().map(|&i| lambda[i] * g(i, j)).sum())
            .collect();
        let norm2: f64 = support.iter().map(|&i| lambda[i] * inner[i]).sum();
        let (best, lowest) = (0..k)
            .map(|j| (j, inner[j]))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, norm2));
        if lowest >= norm2 - OPTIMALITY * scale || support.contains(&best) {
            break;
        }
        support.push(best);
        // Minor cycle: move to the affine minimiser of the support, dropping vectors whose
        // weight would turn negative, until the affine minimiser lies inside the simplex.
        for _ in 0..=k {
            let mu = affine_min_norm(&support, gram, k, scale);
            if mu.iter().all(|m| *m > WEIGHT_FLOOR) {
                for (&i, m) in support.iter().zip(&mu) {
                    lambda[i] = *m;
                }
                break;
            }
            let theta = support
                .iter()
                .zip(&mu)
                .filter(|(_, m)| **m <= WEIGHT_FLOOR)
                .map(|(&i, m)| lambda[i] / (lambda[i] - m))
                .fold(1.0, f64::min)
                .clamp(0.0, 1.0);
            for (&i, m) in support.iter().zip(&mu) {
                lambda[i] += theta * (m - lambda[i]);
            }
            support.retain(|&i| lambda[i] > WEIGHT_FLOOR);
            for (i, l) in lambda.iter_mut().enumerate() {
                if !support.contains(&i) {
                    *l = 0.0;
                }
            }
            if support.is_empty() {
                lambda[best] = 1.0;
                support.push(best);
            }
        }
    }
    let total: f64 = lambda.iter().sum();
    lambda.iter_mut().for_each(|l| *l /= total);
    lambda
}

/// Weights (summing to 1, any sign) of the minimum-norm point of the affine hull of the
/// `support` vectors: the solution of `[G 1; 1^T 0] [mu; nu] = [0; 1]`.
fn affine_min_norm(support: &[usize], gram: &[f64], k: usize, scale: f64) -> Vec<f64> {
    let n = support.len();
    let m = n + 1;
    let mut a = vec![0.0; m * (m + 1)];
    let at = |r: usize, c: usize| r * (m + 1) + c;
    for (r, &i) in support.iter().enumerate() {
        for (c, &j) in support.iter().enumerate() {
            a[at(r, c)] = gram[i * k + j] + if r == c { RIDGE * scale } else { 0.0 };
        }
        a[at(r, n)] = 1.0;
        a[at(n, r)] = 1.0;
    }
    a[at(n, m)] = 1.0;
    // Gaussian elimination with partial pivoting on the augmented matrix.
    for col in 0..m {
        let pivot = (col..m)
            .max_by(|&p, &q| a[at(p, col)].abs().total_cmp(&a[at(q, col)].abs()))
            .unwrap_or(col);
        if pivot != col {
            for c in 0..=m {
                a.swap(at(pivot, c), at(col, c));
            }
        }
        let d = a[at(col, col)];
        if d == 0.0 {
            continue;
        }
        for r in 0..m {
            if r != col {
                let f = a[at(r, col)] / d;
                if f != 0.0 {
                    for c in col..=m {
                        a[at(r, c)] -= f * a[at(col, c)];
                    }
                }
            }
        }
    }
    (0..n)
        .map(|r| {
            let d = a[at(r, r)];
            if d == 0.0 {
                0.0
            } else {
                a[at(r, m)] / d
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::min_norm_weights;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn gram(p: &[Vec<f64>]) -> Vec<f64> {
        let k = p.len();
        let mut g = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                g[i * k + j] = p[i].iter().zip(&p[j]).map(|(a, b)| a * b).sum();
            }
        }
        g
    }

    fn combine(p: &[Vec<f64>], w: &[f64]) -> Vec<f64> {
        let mut x = vec![0.0; p[0].len()];
        for (pj, wj) in p.iter().zip(w) {
            for (xi, v) in x.iter_mut().zip(pj) {
                *xi += wj * v;
            }
        }
        x
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// The optimality conditions of the minimum-norm point `x` of a hull: weights on the
    /// simplex and `<x, p_j> >= |x|^2` for every vector (no vertex lies beyond the supporting
    /// plane through `x`), checked on random hulls of every size and dimension.
    #[test]
    fn weights_satisfy_the_optimality_conditions_on_random_hulls() {
        let mut rng = StdRng::seed_from_u64(7);
        for case in 0..400 {
            let d = 1 + case % 9;
            let k = 1 + (case / 9) % 12;
            let shift: Vec<f64> = (0..d).map(|_| rng.random_range(-2.0..2.0)).collect();
            let p: Vec<Vec<f64>> = (0..k)
                .map(|_| {
                    shift
                        .iter()
                        .map(|s| s + rng.random_range(-1.0..1.0))
                        .collect()
                })
                .collect();
            let w = min_norm_weights(&gram(&p), k);
            assert!(w.iter().all(|v| *v >= 0.0), "case {case}: {w:?}");
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12, "case {case}");
            let x = combine(&p, &w);
            let xx = dot(&x, &x);
            for (j, pj) in p.iter().enumerate() {
                assert!(
                    dot(&x, pj) >= xx - 1e-9,
                    "case {case} (d {d}, k {k}): vertex {j} lies beyond the plane through x"
                );
            }
        }
    }

    /// Closed forms: two points straddling the origin on a line give the origin; a segment
    /// away from it gives the foot of the perpendicular; a hull holding the origin gives it.
    #[test]
    fn weights_match_closed_forms() {
        // The segment from (2, 1) to (-1, 1) crosses the y axis at (0, 1), its nearest point.
        let p = [vec![2.0, 1.0], vec![-1.0, 1.0]];
        let x = combine(&p, &min_norm_weights(&gram(&p), 2));
        assert!(x[0].abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12, "{x:?}");
        let p = [vec![1.0, 0.0], vec![-1.0, 0.5], vec![0.0, -1.0]];
        let x = combine(&p, &min_norm_weights(&gram(&p), 3));
        assert!(dot(&x, &x) < 1e-20, "the origin lies inside: {x:?}");
        let p = [vec![3.0, 4.0], vec![3.0, 4.0], vec![6.0, 8.0]];
        let x = combine(&p, &min_norm_weights(&gram(&p), 3));
        assert!(
            (x[0] - 3.0).abs() < 1e-9 && (x[1] - 4.0).abs() < 1e-9,
            "{x:?}"
        );
    }
}
