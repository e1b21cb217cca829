//! Sorting new minima into a map (paper Algorithm 3, step 3), a batch at a time.
//!
//! Sequential Algorithm 3 places one minimum, then the next against the groups as they are
//! now. Here a *segment* of minima (a proposal batch, cut at consolidation points) is placed
//! with two AD batches, so that the chains per AD step scale with the batch and a GPU fills:
//!
//! 1. **New against known.** Every new minimum runs AD (both directions) against its
//!    `max_checks` nearest representatives of the groups known when the segment started.
//! 2. **New against new.** The minima that joined no known group run AD against the earlier
//!    ones of them (in proposal order), again `max_checks` nearest by the 1-D line.
//!
//! The results are then applied in proposal order with the sequential rules: the label is the
//! group reached with the lowest barrier, a lower-energy member becomes the representative,
//! and every other group reached gets a barrier bound. Where this can differ from sequential
//! placement:
//!
//! - AD targets are the representatives at the start of the segment. When an earlier minimum
//!   of the segment has replaced a representative, a later one's barrier to the group runs
//!   through the old representative (`max` of both paths' maxima), so it is a valid but
//!   possibly looser bound.
//! - A minimum that joined no known group is tested against the earlier unjoined *minima*
//!   of the segment, not against the representatives of the groups they formed; it can
//!   therefore reach a new group through any of its members, not only through its lowest.
//! - A minimum that joined a known group in step 1 is never tested against the groups made
//!   in step 2 by earlier minima of the same segment (sequential placement would also try
//!   those); consolidation tests every pair of representatives later.
//!
//! Every barrier stored is still the maximum of U along a real path between the current
//! representatives, so every invariant of the map holds. A segment of one minimum is
//! sequential placement exactly.

use super::ad::DeltaCache;
use super::adelm::{connect_pairs, AdelmOptions};
use super::barrier::nearest_by_line;
use super::map::{BarrierKind, LandscapeMap, MapStats, MinimumRecord};
use crate::energy::EnergyRef;
use crate::{tensor, Result};

/// A minimum to place: the iteration that found it, its state and energy.
pub struct NewMinimum {
    /// Iteration (proposal index) that found it.
    pub iteration: usize,
    /// The minimum.
    pub state: Vec<f64>,
    /// Its energy U.
    pub energy: f64,
}

/// What became of one minimum of a segment.
enum Fate {
    /// Within `same_tol` of a minimum already in the map (its index).
    Repeat(usize),
    /// Within `same_tol` of an earlier distinct minimum of this segment (its position).
    RepeatOfNew(usize),
    /// A distinct new minimum; AD links found for it.
    Distinct(Vec<Link>),
}

/// An AD success from a new minimum to an anchor, with the lower barrier of both directions.
#[derive(Clone, Copy)]
struct Link {
    anchor: usize,
    barrier: f64,
}

/// A state AD was run against: a representative known at the start of the segment or an
/// earlier unjoined minimum of it. `to_rep` bounds a path from the anchor to its group's
/// current representative (`-inf`: the anchor is the representative).
struct Anchor {
    group: usize,
    to_rep: f64,
}

/// Places the minima of one segment; returns for each the index in `map.minima` it became or
/// joined. All or nothing: when Ctrl-C interrupts an AD batch, the map is left unchanged and
/// the result is `Err(Interrupted)`.
pub fn place_segment(
    e: &EnergyRef,
    map: &mut LandscapeMap,
    segment: &[NewMinimum],
    opts: &AdelmOptions,
    deltas: &mut DeltaCache,
) -> Result<Vec<usize>> {
    let mut stats = MapStats::default();
    let mut fates = find_repeats(map, segment, opts.same_tol);
    let distinct: Vec<usize> = (0..segment.len())
        .filter(|&k| matches!(fates[k], Fate::Distinct(_)))
        .collect();
    // Step 1: every distinct new minimum against its nearest known representatives.
    let known = map.groups.len();
    let reps: Vec<&[f64]> = map.groups.iter().map(|g| g.state.as_slice()).collect();
    let linker = Linker { e, segment, opts };
    linker.link(
        &mut fates,
        &reps,
        &distinct,
        &|_| 0..known,
        &mut stats,
        deltas,
    )?;
    // Step 2: the unjoined ones against the earlier unjoined ones.
    let unjoined: Vec<usize> = distinct
        .iter()
        .copied()
        .filter(|&k| matches!(&fates[k], Fate::Distinct(l) if l.is_empty()))
        .collect();
    let mut anchor_of_new = vec![usize::MAX; segment.len()];
    for (p, &k) in unjoined.iter().enumerate() {
        anchor_of_new[k] = known + p;
    }
    let all: Vec<&[f64]> = reps
        .iter()
        .copied()
        .chain(unjoined.iter().map(|&k| segment[k].state.as_slice()))
        .collect();
    linker.link(
        &mut fates,
        &all,
        &unjoined,
        &|k| known..anchor_of_new[k],
        &mut stats,
        deltas,
    )?;
    let mut anchors: Vec<Anchor> = (0..known)
        .map(|g| Anchor {
            group: g,
            to_rep: f64::NEG_INFINITY,
        })
        .collect();
    // Nothing can be interrupted from here on: apply in proposal order.
    let mut index = Vec::with_capacity(segment.len());
    for (k, (m, fate)) in segment.iter().zip(fates).enumerate() {
        let i = match fate {
            Fate::Repeat(i) => count_repeat(map, i),
            Fate::RepeatOfNew(p) => count_repeat(map, index[p]),
            Fate::Distinct(links) => {
                let (i, group, to_rep) = place_one(map, m, &links, &mut anchors)?;
                if anchor_of_new[k] != usize::MAX {
                    debug_assert_eq!(anchors.len(), anchor_of_new[k]);
                    anchors.push(Anchor { group, to_rep });
                }
                i
            }
        };
        index.push(i);
    }
    map.stats.ad_trials += stats.ad_trials;
    map.stats.ad_successes += stats.ad_successes;
    map.stats.ad_near_misses += stats.ad_near_misses;
    Ok(index)
}

/// What the AD batches of one segment share.
struct Linker<'a> {
    e: &'a EnergyRef,
    segment: &'a [NewMinimum],
    opts: &'a AdelmOptions,
}

impl Linker<'_> {
    /// Runs AD (both directions, one batch) from each minimum `k` of `who` to the anchors
    /// nearest it by the 10-point line barrier among `anchors[choices(k)]` (at most
    /// `max_checks`), and adds the successes to its links. Err(Interrupted) when Ctrl-C cut
    /// the batch short.
    fn link(
        &self,
        fates: &mut [Fate],
        anchors: &[&[f64]],
        who: &[usize],
        choices: &dyn Fn(usize) -> std::ops::Range<usize>,
        stats: &mut MapStats,
        deltas: &mut DeltaCache,
    ) -> Result<()> {
        let (e, segment, opts) = (self.e, self.segment, self.opts);
        let mut tests: Vec<(usize, usize)> = Vec::new();
        if who.is_empty() || anchors.is_empty() {
            return Ok(());
        }
        // Every anchor as one tensor, built once; each minimum ranks a slice of its rows.
        let flat: Vec<f64> = anchors.iter().flat_map(|a| a.iter().copied()).collect();
        let dim = anchors[0].len() as i64;
        let all = tensor::from_vec(&flat, &[anchors.len() as i64, dim])?;
        for &k in who {
            let range = choices(k);
            if range.is_empty() {
                continue;
            }
            let from = &segment[k].state;
            let zt = all.f_narrow(0, range.start as i64, range.len() as i64)?;
            for j in nearest_by_line(e.as_ref(), from, &zt, 10, opts.max_checks, None)? {
                tests.push((k, range.start + j));
            }
        }
        let pairs: Vec<(&[f64], &[f64])> = tests
            .iter()
            .map(|&(k, a)| (segment[k].state.as_slice(), anchors[a]))
            .collect();
        let found = connect_pairs(e, &pairs, opts, stats, deltas)?;
        for (&(k, anchor), b) in tests.iter().zip(&found) {
            if let (Fate::Distinct(links), Some(barrier)) = (&mut fates[k], b) {
                links.push(Link {
                    anchor,
                    barrier: *barrier,
                });
            }
        }
        Ok(())
    }
}

/// Marks the minima that were found before, in the map or earlier in the segment.
fn find_repeats(map: &LandscapeMap, segment: &[NewMinimum], tol: f64) -> Vec<Fate> {
    let mut fates: Vec<Fate> = Vec::with_capacity(segment.len());
    for (k, m) in segment.iter().enumerate() {
        let fate = if let Some(i) = map
            .minima
            .iter()
            .position(|old| tensor::distance(&old.state, &m.state) <= tol)
        {
            Fate::Repeat(i)
        } else if let Some(p) = (0..k).find(|&p| {
            matches!(fates[p], Fate::Distinct(_))
                && tensor::distance(&segment[p].state, &m.state) <= tol
        }) {
            Fate::RepeatOfNew(p)
        } else {
            Fate::Distinct(Vec::new())
        };
        fates.push(fate);
    }
    fates
}

fn count_repeat(map: &mut LandscapeMap, i: usize) -> usize {
    let m = &mut map.minima[i];
    m.count += 1;
    map.groups[m.group].members += 1;
    map.stats.repeats += 1;
    i
}

/// Places one distinct minimum given its AD links (the sequential rules, with each link's
/// barrier extended to the anchor group's current representative). Returns its index in
/// `minima`, its group and the bound of a path from it to that group's representative.
fn place_one(
    map: &mut LandscapeMap,
    m: &NewMinimum,
    links: &[Link],
    anchors: &mut [Anchor],
) -> Result<(usize, usize, f64)> {
    // Per group reached: the lowest bound to its current representative, and whether that
    // bound is a direct AD path to the representative itself.
    let mut reached: Vec<(usize, f64, bool)> = Vec::new();
    for l in links {
        let a = &anchors[l.anchor];
        let bound = l.barrier.max(a.to_rep);
        let direct = a.to_rep == f64::NEG_INFINITY;
        match reached.iter_mut().find(|r| r.0 == a.group) {
            Some(r) if bound < r.1 || (bound == r.1 && direct) => *r = (a.group, bound, direct),
            Some(_) => {}
            None => reached.push((a.group, bound, direct)),
        }
    }
    let Some(&(label, b_label, _)) = reached
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
    else {
        let g = map.add_group(m.state.clone(), m.energy, m.iteration);
        return Ok((map.minima.len() - 1, g, f64::NEG_INFINITY));
    };
    let to_rep;
    if m.energy < map.groups[label].energy {
        // The minimum becomes the representative: its paths are direct bounds to the groups
        // it reached; every other bound of the group now runs through the old representative.
        map.replace_representative(label, m.state.clone(), m.energy, b_label);
        for &(g, b, direct) in reached.iter().filter(|r| r.0 != label) {
            let kind = if direct {
                BarrierKind::Ad
            } else {
                BarrierKind::Via
            };
            map.offer_barrier(label, g, b, kind)?;
        }
        // The group's anchors now reach the representative through the old one, or directly.
        for (i, a) in anchors.iter_mut().enumerate() {
            if a.group == label {
                let direct = links
                    .iter()
                    .filter(|l| l.anchor == i)
                    .map(|l| l.barrier)
                    .fold(f64::INFINITY, f64::min);
                a.to_rep = a.to_rep.max(b_label).min(direct);
            }
        }
        to_rep = f64::NEG_INFINITY;
    } else {
        // A path from the representative through the minimum to every other group reached.
        for &(g, b, _) in reached.iter().filter(|r| r.0 != label) {
            map.offer_barrier(label, g, b.max(b_label), BarrierKind::Via)?;
        }
        to_rep = b_label;
    }
    map.groups[label].members += 1;
    map.minima.push(MinimumRecord {
        state: m.state.clone(),
        energy: m.energy,
        group: label,
        count: 1,
        iteration: m.iteration,
    });
    Ok((map.minima.len() - 1, label, to_rep))
}
