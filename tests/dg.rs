//! Disconnectivity graphs from hand-built barrier matrices: merge order and energies, leaf
//! order, ties, disconnected groups, trimming, JSON; and single linkage checked against the
//! minimax path energy on random matrices.

mod common;

use telescope::landscape::dg::{Dg, DgOptions, LeafOrder};

/// A symmetric barrier matrix from `(i, j, b)` triples; everything else unknown.
fn matrix(n: usize, edges: &[(usize, usize, f64)]) -> Vec<Vec<Option<f64>>> {
    let mut m = vec![vec![None; n]; n];
    for &(i, j, b) in edges {
        m[i][j] = Some(b);
        m[j][i] = Some(b);
    }
    m
}

fn merge_summary(dg: &Dg) -> Vec<(Vec<usize>, f64)> {
    dg.merges
        .iter()
        .map(|m| (m.children.clone(), m.energy))
        .collect()
}

#[test]
fn three_minima_merge_lowest_barrier_first() {
    let b = matrix(3, &[(0, 1, 3.0), (1, 2, 5.0), (0, 2, 6.0)]);
    let dg = Dg::build(&[0.0, 1.0, 2.0], &b, &[10, 5, 1]).unwrap();
    assert_eq!(
        merge_summary(&dg),
        vec![(vec![0, 1], 3.0), (vec![3, 2], 5.0)]
    );
    assert_eq!(dg.roots, vec![4]);
    assert_eq!(dg.leaf_ids(), vec![0, 1, 2]);
    assert_eq!(dg.leaves[0].members, 10);
    assert_eq!(dg.node_x(), vec![0.0, 1.0, 2.0, 0.5, 1.25]);
}

#[test]
fn merge_energy_never_below_a_child() {
    // The barrier 2 lies below minimum 1's energy 4: the merge is drawn at 4.
    let dg = Dg::build(&[0.0, 4.0], &matrix(2, &[(0, 1, 2.0)]), &[]).unwrap();
    assert_eq!(merge_summary(&dg), vec![(vec![0, 1], 4.0)]);
    // And a merge of merges sits at or above both.
    let b = matrix(3, &[(0, 1, 1.0), (1, 2, 0.5)]);
    let dg = Dg::build(&[0.0, 3.0, 0.2], &b, &[]).unwrap();
    for m in &dg.merges {
        for &c in &m.children {
            assert!(m.energy >= dg.energy(c));
        }
    }
}

#[test]
fn equal_barriers_give_one_node_with_all_children() {
    let b = matrix(3, &[(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0)]);
    let dg = Dg::build(&[0.0, 0.0, 0.0], &b, &[]).unwrap();
    assert_eq!(merge_summary(&dg), vec![(vec![0, 1, 2], 1.0)]);
    // A chain of equal barriers joins into one node too.
    let b = matrix(3, &[(0, 1, 5.0), (1, 2, 5.0)]);
    let dg = Dg::build(&[0.0, 1.0, 2.0], &b, &[]).unwrap();
    assert_eq!(merge_summary(&dg), vec![(vec![0, 1, 2], 5.0)]);
}

#[test]
fn barriers_equal_up_to_rounding_share_a_node_and_distinct_ones_do_not() {
    // The same barrier reached along different paths differs in the last bits; within a
    // relative 1e-9 the merges are one node, beyond it they stay apart.
    for &level in &[-0.6, -146.69951720995405, 1e-3, 8.19] {
        for &rel in &[1e-16, 1e-13, 1e-10] {
            let nudged = level * (1.0 + rel);
            let b = matrix(3, &[(0, 1, level), (1, 2, nudged)]);
            let e = [level - 1.0, level - 0.5, level - 2.0];
            let dg = Dg::build(&e, &b, &[]).unwrap();
            assert_eq!(
                dg.merges.len(),
                1,
                "level {level}, rel {rel}: {:?}",
                merge_summary(&dg)
            );
            assert_eq!(dg.merges[0].children.len(), 3);
        }
        let apart = level * (1.0 + 1e-7) + 1e-7 * level.signum();
        let (lo, hi) = if apart > level {
            (level, apart)
        } else {
            (apart, level)
        };
        let b = matrix(3, &[(0, 1, lo), (1, 2, hi)]);
        let dg = Dg::build(&[lo - 1.0, lo - 0.5, lo - 2.0], &b, &[]).unwrap();
        assert_eq!(
            dg.merges.len(),
            2,
            "level {level}: {:?}",
            merge_summary(&dg)
        );
    }
}

#[test]
fn tied_barriers_between_different_pairs_are_deterministic() {
    let b = matrix(4, &[(2, 3, 5.0), (0, 1, 5.0), (1, 2, 7.0)]);
    let dg = Dg::build(&[0.0, 1.0, 2.0, 3.0], &b, &[]).unwrap();
    assert_eq!(
        merge_summary(&dg),
        vec![(vec![0, 1], 5.0), (vec![2, 3], 5.0), (vec![4, 5], 7.0)]
    );
    let again = Dg::build(&[0.0, 1.0, 2.0, 3.0], &b, &[]).unwrap();
    assert_eq!(dg, again);
}

#[test]
fn disconnected_groups_form_a_forest() {
    let b = matrix(4, &[(0, 1, 2.0), (2, 3, 4.0)]);
    // Minimum 3 is the global minimum: its tree comes first in energy order.
    let dg = Dg::build(&[1.0, 1.5, 0.5, 0.0], &b, &[]).unwrap();
    assert_eq!(dg.roots.len(), 2);
    assert_eq!(dg.leaf_ids(), vec![3, 2, 0, 1]);
    let x = dg.node_x();
    // Trees side by side with a gap of one.
    assert_eq!((x[3], x[2], x[0], x[1]), (0.0, 1.0, 3.0, 4.0));
    // A minimum with no known barrier at all is its own tree.
    let dg = Dg::build(&[0.0, 1.0], &matrix(2, &[]), &[]).unwrap();
    assert_eq!(dg.roots, vec![0, 1]);
    assert!(dg.merges.is_empty());
    // +inf means unknown as well.
    let mut b = matrix(2, &[]);
    b[0][1] = Some(f64::INFINITY);
    assert_eq!(Dg::build(&[0.0, 1.0], &b, &[]).unwrap().roots.len(), 2);
}

#[test]
fn asymmetric_matrices_use_the_lower_direction() {
    let mut b = matrix(2, &[]);
    b[0][1] = Some(3.0);
    b[1][0] = Some(5.0);
    assert_eq!(
        Dg::build(&[0.0, 1.0], &b, &[]).unwrap().merges[0].energy,
        3.0
    );
    b[0][1] = None;
    assert_eq!(
        Dg::build(&[0.0, 1.0], &b, &[]).unwrap().merges[0].energy,
        5.0
    );
}

/// A chain: 0-1 at 5, then 2 at 6, 3 at 7, 4 at 8.
fn chain() -> (Vec<f64>, Vec<Vec<Option<f64>>>) {
    let b = matrix(5, &[(0, 1, 5.0), (1, 2, 6.0), (2, 3, 7.0), (3, 4, 8.0)]);
    (vec![0.0, 1.0, 2.0, 3.0, 4.0], b)
}

#[test]
fn energy_order_puts_the_global_minimum_left() {
    let (e, b) = chain();
    let dg = Dg::build(&e, &b, &[]).unwrap();
    assert_eq!(dg.leaf_ids(), vec![0, 1, 2, 3, 4]);
    // Children ordered by their lowest leaf, whatever the input order.
    let b = matrix(3, &[(0, 1, 5.0), (1, 2, 6.0)]);
    let dg = Dg::build(&[2.0, 1.0, 0.0], &b, &[]).unwrap();
    assert_eq!(dg.leaf_ids(), vec![2, 1, 0]);
}

#[test]
fn center_order_puts_the_global_minimum_in_the_middle() {
    let (e, b) = chain();
    let opts = DgOptions {
        order: LeafOrder::Center,
        ..Default::default()
    };
    let dg = Dg::build_with(&e, &b, &[], &opts).unwrap();
    // Siblings alternate right, left, right, left walking up from the global minimum.
    assert_eq!(dg.leaf_ids(), vec![4, 2, 0, 1, 3]);
    // Forests: the tree with the global minimum in the middle.
    let b = matrix(3, &[]);
    let dg = Dg::build_with(&[1.0, 0.0, 2.0], &b, &[], &opts).unwrap();
    assert_eq!(dg.leaf_ids(), vec![2, 1, 0]);
}

#[test]
fn trimming_keeps_merge_energies_of_the_full_tree() {
    let b = matrix(3, &[(0, 1, 6.0), (1, 2, 7.0)]);
    let e = [0.0, 5.0, 1.0];
    let opts = DgOptions {
        max_leaves: Some(2),
        ..Default::default()
    };
    let dg = Dg::build_with(&e, &b, &[], &opts).unwrap();
    // 0 and 2 connect only through the dropped minimum 1, at 7.
    assert_eq!(
        dg.leaves.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![0, 2]
    );
    assert_eq!(merge_summary(&dg), vec![(vec![0, 1], 7.0)]);
    assert_eq!(dg.roots, vec![2]);
    let opts = DgOptions {
        max_energy: Some(0.5),
        ..Default::default()
    };
    let dg = Dg::build_with(&e, &b, &[], &opts).unwrap();
    assert_eq!(dg.leaves.len(), 1);
    assert!(dg.merges.is_empty());
    assert_eq!(dg.roots, vec![0]);
    let opts = DgOptions {
        max_energy: Some(-1.0),
        ..Default::default()
    };
    assert!(Dg::build_with(&e, &b, &[], &opts).is_err());
}

#[test]
fn json_round_trip() {
    let (e, b) = chain();
    let dg = Dg::build(&e, &b, &[3, 1, 4, 1, 5]).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("telescope-dg-test-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let path = dir.join("dg.json");
    dg.save(&path).unwrap();
    let back = Dg::load(&path).unwrap();
    assert_eq!(back, dg);
    let v: serde_json::Value = serde_json::from_str(&dg.to_json().unwrap()).unwrap();
    assert_eq!(v["leaves"][2]["members"], 4);
    assert_eq!(v["merges"][0]["energy"], 5.0);
    assert_eq!(v["leaf_order"], "energy");
    assert!(Dg::from_json("{\"leaves\": []}").is_err());
}

#[test]
fn bad_input_is_an_error() {
    assert!(Dg::build(&[], &[], &[]).is_err());
    assert!(Dg::build(&[0.0, 1.0], &matrix(3, &[]), &[]).is_err());
    assert!(Dg::build(&[0.0, 1.0], &matrix(2, &[]), &[1]).is_err());
    assert!(Dg::build(&[0.0, f64::NAN], &matrix(2, &[]), &[]).is_err());
    assert!(Dg::build(&[0.0, 1.0], &matrix(2, &[(0, 1, f64::NAN)]), &[]).is_err());
}

/// Lowest common ancestor energy of two leaves (None: different trees).
fn join_energy(dg: &Dg, a: usize, b: usize) -> Option<f64> {
    let nl = dg.leaves.len();
    let mut parent = vec![usize::MAX; dg.n_nodes()];
    for (k, m) in dg.merges.iter().enumerate() {
        for &c in &m.children {
            parent[c] = nl + k;
        }
    }
    let mut up = vec![a];
    while parent[*up.last().unwrap()] != usize::MAX {
        up.push(parent[*up.last().unwrap()]);
    }
    let mut v = b;
    loop {
        if up.contains(&v) {
            return Some(dg.energy(v));
        }
        if parent[v] == usize::MAX {
            return None;
        }
        v = parent[v];
    }
}

#[test]
#[allow(clippy::needless_range_loop)]
fn single_linkage_equals_minimax_paths_on_random_matrices() {
    // Tiny deterministic generator (no dependence on the session RNG).
    let mut s: u64 = 12345;
    let mut rnd = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as f64) / (1u64 << 31) as f64
    };
    for trial in 0..30 {
        let n = 3 + trial % 8;
        let e: Vec<f64> = (0..n).map(|_| (rnd() * 10.0).round()).collect();
        let mut b = vec![vec![None; n]; n];
        for i in 0..n {
            for j in i + 1..n {
                if rnd() < 0.6 {
                    let v = (rnd() * 20.0).round();
                    b[i][j] = Some(v);
                    b[j][i] = Some(v);
                }
            }
        }
        // Minimax path energy over weights max(b, E_i, E_j) by Floyd-Warshall.
        let d = common::floyd_minimax(&e, &b);
        let dg = Dg::build(&e, &b, &[]).unwrap();
        let levels = dg.leaf_levels();
        for i in 0..n {
            for j in i + 1..n {
                let want = if d[i][j].is_finite() {
                    Some(d[i][j])
                } else {
                    None
                };
                assert_eq!(
                    join_energy(&dg, i, j),
                    want,
                    "trial {trial}, pair ({i}, {j})"
                );
                // The whole level matrix (Dg.levels in scripts) says the same, both ways.
                assert_eq!(levels[i][j], want, "trial {trial}, levels ({i}, {j})");
                assert_eq!(levels[j][i], want);
            }
        }
        // Every leaf appears once in the drawing order.
        let mut ids = dg.leaf_ids();
        ids.sort();
        assert_eq!(ids, (0..n).collect::<Vec<_>>());
    }
}

/// Trees of random barrier matrices load back from JSON, and a tree edited into one that
/// cannot be true is refused: a merge below a child, a node under two merges, a merge of one
/// child.
#[test]
fn loaded_trees_are_trees_that_could_be_true() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut refused = [0usize; 3];
    for _ in 0..40 {
        let n = rng.random_range(2..8);
        let e: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
        let mut pairs = vec![];
        for i in 0..n {
            for j in i + 1..n {
                if rng.random_bool(0.6) {
                    pairs.push((i, j, e[i].max(e[j]) + rng.random_range(0.0..2.0)));
                }
            }
        }
        let dg = Dg::build(&e, &matrix(n, &pairs), &[]).unwrap();
        let text = dg.to_json().unwrap();
        assert_eq!(Dg::from_json(&text).unwrap(), dg);
        if dg.merges.is_empty() {
            continue;
        }
        let k = rng.random_range(0..dg.merges.len());
        let edits: [fn(&mut serde_json::Value, usize); 3] = [
            |v, k| v["merges"][k]["energy"] = serde_json::json!(-1e9),
            |v, k| {
                let c = v["merges"][k]["children"][0].clone();
                v["merges"][k]["children"][1] = c;
            },
            |v, k| {
                v["merges"][k]["children"]
                    .as_array_mut()
                    .unwrap()
                    .truncate(1);
            },
        ];
        for (which, edit) in edits.iter().enumerate() {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            edit(&mut v, k);
            let edited = serde_json::to_string(&v).unwrap();
            if Dg::from_json(&edited).is_err() {
                refused[which] += 1;
            } else {
                panic!("edit {which} of merge {k} loaded:\n{edited}");
            }
        }
    }
    assert!(refused.iter().all(|&r| r > 0), "{refused:?}");
}
