"""ADELM (Algorithm 3) on an SK spin glass of N = 100 spins in numpy, as a researcher writes
it: `telescope bench adelm`'s settings (AD at T 0.001, alpha 1.35, delta 0, M 100, heat-bath
sweeps; minima by steepest single-flip descent; the same minimum only when every spin agrees).
Each new minimum runs its AD trials toward the representatives of at most 12 groups, nearest
by Hamming distance, as one batch of chains vectorized over the trials (a Python loop over
sites, numpy over chains); it joins the lowest group it reaches, or starts its own.

    python sk_adelm.py [iterations]
"""
import sys
import time

import numpy as np

from common import report

N, T, ALPHA, PATIENCE, MAX_CHECKS, MAX_STEPS = 100, 0.001, 1.35, 100, 12, 5000
rng = np.random.default_rng(1)
upper = np.triu(rng.standard_normal((N, N)) / np.sqrt(N), 1)
J = upper + upper.T


def energy(s):
    return -0.5 * s @ J @ s


def descend(s):
    """Steepest descent: flip the spin that lowers U most until none does."""
    s = s.copy()
    h = J @ s
    while True:
        gain = 2 * s * h  # U change of flipping each spin
        i = int(np.argmin(gain))
        if gain[i] >= 0:
            return s
        s[i] = -s[i]
        h += 2 * s[i] * J[:, i]


def ad_trials(start, targets):
    """Batched AD from `start` toward each row of `targets`: (success, sweeps) per trial."""
    b = len(targets)
    s = np.tile(start, (b, 1))
    h = s @ J
    d = (s != targets).sum(1).astype(float)
    best = d.copy()
    stale = np.zeros(b, int)
    done = d == 0
    success = done.copy()
    sweeps = 0
    while not done.all() and sweeps < MAX_STEPS:
        for i in range(N):
            du = 2 * s[:, i] * h[:, i]
            d_new = np.where(s[:, i] == targets[:, i], d + 1, d - 1)
            delta = du / T + 2 * ALPHA * (np.sqrt(d_new) - np.sqrt(d))
            p = 1 / (1 + np.exp(np.clip(delta, -700, 700)))
            flip = (rng.random(b) < p) & ~done
            s[flip, i] = -s[flip, i]
            h[flip] += 2 * s[flip, i][:, None] * J[i]
            d = np.where(flip, d_new, d)
        sweeps += 1
        running = ~done
        improved = (d < best) & running
        best = np.where(improved, d, best)
        stale = np.where(improved, 0, stale + running)
        ends = running & ((d == 0) | (stale >= PATIENCE))
        success |= ends & (d == 0)
        done |= ends
    return success, sweeps * b


def adelm(iterations):
    reps, rep_u = [], []
    known = set()
    chain_sweeps = 0
    for _ in range(iterations):
        m = descend(rng.choice([-1.0, 1.0], N))
        key = m.tobytes()
        if key in known:
            continue
        known.add(key)
        u = energy(m)
        if reps:
            hamming = np.array([(m != r).sum() for r in reps])
            tried = np.argsort(hamming, kind="stable")[:MAX_CHECKS]
            ok, work = ad_trials(m, np.array([reps[g] for g in tried]))
            chain_sweeps += work
            reached = [g for g, hit in zip(tried, ok) if hit]
            if reached:
                g = min(reached, key=lambda g: rep_u[g])
                if u < rep_u[g]:
                    reps[g], rep_u[g] = m, u
                continue
        reps.append(m)
        rep_u.append(u)
    return len(reps), chain_sweeps


if __name__ == "__main__":
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    t = time.perf_counter()
    groups, chain_sweeps = adelm(iterations)
    secs = time.perf_counter() - t
    report(
        kernel="sk adelm",
        rate=iterations / secs,
        unit="iterations/s",
        chain_sweeps_per_s=chain_sweeps / secs,
        groups=groups,
        seconds=secs,
    )
