//! Maps of given minima (`map_from_minima`): on Müller-Brown, NEB pairs give the exact minimax
//! barriers of its three minima (reference saddles to 1e-3) and the DG merges them there;
//! every method gives a valid map (symmetric, no barrier below its ends, saved and loaded back
//! unchanged); the line method is `barrier_1d` itself; bad calls are errors.

mod common;

use common::muller_brown::{self, MIN_A, MIN_B, MIN_C};
use std::rc::Rc;
use tch::{Kind, Tensor};
use telescope::energy::{muller_brown, EnergyRef};
use telescope::landscape::barrier::{barrier_1d, RefineOptions};
use telescope::landscape::curve::CurveOptions;
use telescope::landscape::dg::{Dg, DgOptions};
use telescope::landscape::from_minima::{map_from_minima, PairMethod};
use telescope::landscape::map::LandscapeMap;
use telescope::landscape::neb::{NebMethod, NebOptions};
use telescope::tensor;

use common::serial_f64 as init;

const MINIMA: [[f64; 2]; 3] = [MIN_A, MIN_B, MIN_C];
/// The minimax barriers between A, B and C: A and B meet through C, over the A-C saddle.
const SADDLE_AC: f64 = muller_brown::SADDLE_AC[2];
const SADDLE_CB: f64 = muller_brown::SADDLE_CB[2];

fn states() -> Vec<Tensor> {
    MINIMA
        .iter()
        .map(|m| tensor::from_vec(m, &[2]).unwrap())
        .collect()
}

fn check_valid(m: &LandscapeMap, what: &str) {
    m.check().unwrap_or_else(|e| panic!("{what}: {e}"));
    let n = m.groups.len();
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let b = m.barriers[i][j].unwrap_or_else(|| panic!("{what}: no barrier {i}-{j}"));
            assert_eq!(Some(b), m.barriers[j][i], "{what}: asymmetric");
            assert!(
                b >= m.groups[i].energy.max(m.groups[j].energy),
                "{what}: {b} below its ends"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.json");
    m.save(&path).unwrap();
    let back = LandscapeMap::load(&path).unwrap();
    assert_eq!(
        back.barriers, m.barriers,
        "{what}: barriers after a round trip"
    );
    assert_eq!(
        back.barrier_kinds, m.barrier_kinds,
        "{what}: kinds after a round trip"
    );
}

#[test]
fn neb_pairs_give_the_exact_minimax_barriers_of_the_muller_brown_minima() {
    let _g = init();
    let e: EnergyRef = Rc::new(muller_brown());
    for method in [NebMethod::Neb, NebMethod::Dneb] {
        let opts = NebOptions {
            images: 16,
            method,
            climb: true,
            ..Default::default()
        };
        let m = map_from_minima(&e, &states(), &PairMethod::Neb(opts), 1).unwrap();
        check_valid(&m, "neb");
        let want = [
            [0.0, SADDLE_AC, SADDLE_AC],
            [SADDLE_AC, 0.0, SADDLE_CB],
            [SADDLE_AC, SADDLE_CB, 0.0],
        ];
        for (i, row) in want.iter().enumerate() {
            for (j, w) in row.iter().enumerate() {
                if i != j {
                    let b = m.barriers[i][j].unwrap();
                    assert!(
                        (b - w).abs() < 1e-3,
                        "{}: barrier {i}-{j} {b}, exact {w}",
                        method.name()
                    );
                }
            }
        }
        let dg = Dg::from_map(&m, &DgOptions::default()).unwrap();
        let mut levels: Vec<f64> = dg.merges.iter().map(|x| x.energy).collect();
        levels.sort_by(f64::total_cmp);
        assert!(
            (levels[0] - SADDLE_CB).abs() < 1e-3 && (levels[1] - SADDLE_AC).abs() < 1e-3,
            "DG levels {levels:?}"
        );
    }
}

#[test]
fn every_method_gives_a_valid_map_and_the_line_is_barrier_1d() {
    let _g = init();
    let e: EnergyRef = Rc::new(muller_brown());
    let line = map_from_minima(&e, &states(), &PairMethod::Line(57), 1).unwrap();
    check_valid(&line, "line");
    let s = states();
    for i in 0..3 {
        for j in i + 1..3 {
            let want = barrier_1d(e.as_ref(), &s[i], &s[j], 57).unwrap().barrier;
            assert_eq!(line.barriers[i][j], Some(want));
        }
    }
    tch::manual_seed(3);
    let curve = map_from_minima(
        &e,
        &s,
        &PairMethod::Curve(CurveOptions {
            iters: 300,
            bends: 2,
            ..Default::default()
        }),
        1,
    )
    .unwrap();
    check_valid(&curve, "curve");
    // A curve is a real path: never below the minimax barrier of its pair.
    assert!(curve.barriers[0][2].unwrap() > SADDLE_AC - 1.0);
    let mut ad = RefineOptions {
        max_rounds: 10,
        trials: 4,
        ..Default::default()
    };
    ad.ad.temperature = 5.0;
    ad.ad.alpha = 10.0;
    let ad_map = map_from_minima(&e, &s, &PairMethod::Ad(ad), 1).unwrap();
    check_valid(&ad_map, "ad");
}

#[test]
fn too_few_states_and_wrong_dimensions_are_errors() {
    let _g = init();
    let e: EnergyRef = Rc::new(muller_brown());
    let one = map_from_minima(&e, &states()[..1], &PairMethod::Line(11), 1)
        .err()
        .unwrap()
        .to_string();
    assert!(one.contains("at least two"), "{one}");
    let wrong = vec![
        Tensor::zeros([3], (Kind::Double, tch::Device::Cpu)),
        states()[0].shallow_clone(),
    ];
    let d = map_from_minima(&e, &wrong, &PairMethod::Line(11), 1)
        .err()
        .unwrap()
        .to_string();
    assert!(d.contains("dimension 2"), "{d}");
}
