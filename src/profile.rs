//! Where a run's time goes, by phase: wall-clock self time per phase (a phase nested in
//! another counts for the inner one only), kept per thread and cheap enough to stay on. The
//! mapping code marks its phases; `telescope bench adelm` prints the table.

use std::cell::RefCell;
use std::time::Instant;

/// The phases of a mapping run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Drawing proposals.
    Propose,
    /// Descent to local minima (proposals, and the check of AD successes).
    Minimize,
    /// Ranking groups by the 1-D line barrier (which targets AD tries first).
    Rank,
    /// Attraction-Diffusion trials: the magnetized sampling and its stop rule.
    Ad,
    /// Writing maps (JSON, checkpoints).
    Save,
}

impl Phase {
    /// Every phase, in the order tables list them.
    pub const ALL: [Phase; 5] = [
        Phase::Propose,
        Phase::Minimize,
        Phase::Rank,
        Phase::Ad,
        Phase::Save,
    ];

    /// A short name for tables, e.g. `AD sampling`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Propose => "proposals",
            Phase::Minimize => "descent",
            Phase::Rank => "line ranking",
            Phase::Ad => "AD sampling",
            Phase::Save => "map JSON",
        }
    }
}

#[derive(Default)]
struct Totals {
    /// Self seconds and entries per phase.
    seconds: [f64; 5],
    calls: [u64; 5],
    /// The phases entered and not yet left: (phase, start, seconds spent in nested phases).
    open: Vec<(Phase, Instant, f64)>,
}

thread_local! {
    static TOTALS: RefCell<Totals> = RefCell::new(Totals::default());
}

fn slot(p: Phase) -> usize {
    Phase::ALL
        .iter()
        .position(|q| *q == p)
        .expect("every phase is listed")
}

/// Runs `f` as phase `p` on this thread.
pub fn time<T>(p: Phase, f: impl FnOnce() -> T) -> T {
    TOTALS.with(|t| t.borrow_mut().open.push((p, Instant::now(), 0.0)));
    let out = f();
    TOTALS.with(|t| {
        let mut t = t.borrow_mut();
        if let Some((p, start, nested)) = t.open.pop() {
            let spent = start.elapsed().as_secs_f64();
            t.seconds[slot(p)] += (spent - nested).max(0.0);
            t.calls[slot(p)] += 1;
            if let Some(parent) = t.open.last_mut() {
                parent.2 += spent;
            }
        }
    });
    out
}

/// Self seconds and entries of every phase on this thread so far.
pub fn snapshot() -> Vec<(Phase, f64, u64)> {
    TOTALS.with(|t| {
        let t = t.borrow();
        Phase::ALL
            .iter()
            .map(|&p| (p, t.seconds[slot(p)], t.calls[slot(p)]))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(seconds: f64) {
        let t = Instant::now();
        while t.elapsed().as_secs_f64() < seconds {}
    }

    /// A nested phase's time counts for it alone: the outer phase keeps only its own share,
    /// and the self times never add up to more than the wall time of the whole. Every bound
    /// follows from the busy waits alone, whatever the scheduler does.
    #[test]
    fn nested_phases_count_their_self_time() {
        let before = snapshot();
        let t = Instant::now();
        time(Phase::Ad, || {
            spin(0.02);
            time(Phase::Minimize, || spin(0.03));
        });
        let wall = t.elapsed().as_secs_f64();
        let after = snapshot();
        let got = |p: Phase| after[slot(p)].1 - before[slot(p)].1;
        assert!(got(Phase::Minimize) >= 0.03 && got(Phase::Ad) >= 0.02);
        assert!(
            got(Phase::Ad) <= wall - got(Phase::Minimize),
            "the outer phase kept the nested time"
        );
        assert!(got(Phase::Ad) + got(Phase::Minimize) <= wall);
        assert_eq!(after[slot(Phase::Ad)].2 - before[slot(Phase::Ad)].2, 1);
    }
}
