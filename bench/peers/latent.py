"""The latent energy of the Appendix A ivy networks, as `telescope bench latent` measures it: a
descriptor conv(100,5,2) conv(200,5,2) fc(1) over 32x32x3 images and a generator
convT(200,4,1) convT(100,5,2) convT(50,5,2) convT(3,5,2) from Z = 30 (ReLU between layers, tanh
at the end), random weights, float32; U(z) = |g(z)|^2 / (2 sigma^2) - F(g(z)) with sigma 3.

`mh`: random-walk MH at T 0.01, 32 chains, step 0.05.
`adelm`: ADELM iterations in proposal batches of 32 with the bench's settings: proposals uniform
in the box [-3, 3]^30, 100 Adam steps of descent (lr 0.05), then one batch of AD trials (MH,
step 0.05, T 0.01, alpha 100, delta 0.5, M 20, at most 100 steps) from every new minimum toward
its 12 nearest representatives and earlier minima of the batch; a minimum joins the first group
it reaches, or starts one.

    python latent.py mh [steps]
    python latent.py adelm [batches]
"""
import sys
import time

import torch
from torch import nn

from common import ops_per_step, rate, report

B, Z, SIGMA, T, STEP = 32, 30, 3.0, 0.01, 0.05

descriptor = nn.Sequential(
    nn.Conv2d(3, 100, 5, 2, 2), nn.ReLU(),
    nn.Conv2d(100, 200, 5, 2, 2), nn.ReLU(),
    nn.Flatten(), nn.Linear(200 * 8 * 8, 1),
).eval()
generator = nn.Sequential(
    nn.Unflatten(1, (Z, 1, 1)),
    nn.ConvTranspose2d(Z, 200, 4, 1, 0), nn.ReLU(),
    nn.ConvTranspose2d(200, 100, 5, 2, 2, output_padding=1), nn.ReLU(),
    nn.ConvTranspose2d(100, 50, 5, 2, 2, output_padding=1), nn.ReLU(),
    nn.ConvTranspose2d(50, 3, 5, 2, 2, output_padding=1), nn.Tanh(),
).eval()


def energy(z):
    img = generator(z)
    return (img * img).flatten(1).sum(1) / (2 * SIGMA**2) - descriptor(img).flatten(1).sum(1)


class Chains:
    def __init__(self):
        self.z = torch.randn(B, Z)
        with torch.no_grad():
            self.u = energy(self.z) / T


def mh(c):
    with torch.no_grad():
        z_new = c.z + STEP * torch.randn_like(c.z)
        u_new = energy(z_new) / T
        accept = torch.rand_like(u_new).log() < c.u - u_new
        c.z = torch.where(accept[:, None], z_new, c.z)
        c.u = torch.where(accept, u_new, c.u)


ALPHA, DELTA, PATIENCE, MAX_STEPS, MAX_CHECKS, BATCH, BOX = 100.0, 0.5, 20, 100, 12, 32, 3.0


def descend(z):
    z = z.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        energy(z).sum().backward()
        opt.step()
    return z.detach()


def ad_trials(starts, targets):
    """Batched AD: which trials came within DELTA of their targets."""
    with torch.no_grad():
        x = starts.clone()
        d = (x - targets).norm(dim=1)
        u = energy(x) / T + ALPHA * d
        best, stale = d.clone(), torch.zeros(len(x), dtype=torch.long)
        done = d <= DELTA
        success = done.clone()
        for _ in range(MAX_STEPS):
            if bool(done.all()):
                break
            x_new = x + STEP * torch.randn_like(x)
            d_new = (x_new - targets).norm(dim=1)
            u_new = energy(x_new) / T + ALPHA * d_new
            accept = (torch.rand_like(u).log() < u - u_new) & ~done
            x = torch.where(accept[:, None], x_new, x)
            d = torch.where(accept, d_new, d)
            u = torch.where(accept, u_new, u)
            running = ~done
            improved = (d < best) & running
            best = torch.where(improved, d, best)
            stale = torch.where(improved, 0, stale + running)
            ends = running & ((d <= DELTA) | (stale >= PATIENCE))
            success |= ends & (d <= DELTA)
            done |= ends
        return success


def adelm(batches):
    reps = torch.empty(0, Z)
    for _ in range(batches):
        minima = descend(torch.rand(BATCH, Z) * 2 * BOX - BOX)
        known = torch.cat([reps, minima])
        pairs = []
        for i in range(BATCH):
            own = len(reps) + i  # candidates: the representatives and earlier minima
            if own == 0:
                continue
            dist = (known[:own] - minima[i]).norm(dim=1)
            for j in dist.argsort()[:MAX_CHECKS].tolist():
                pairs.append((i, j))
        group = list(range(len(reps)))
        if pairs:
            ok = ad_trials(minima[[i for i, _ in pairs]], known[[j for _, j in pairs]]).tolist()
        new_reps = []
        for i in range(BATCH):
            reached = [j for (k, j), hit in zip(pairs, ok if pairs else []) if k == i and hit]
            if reached:
                group.append(group[reached[0]])
            else:
                group.append(len(reps) + len(new_reps))
                new_reps.append(minima[i])
        if new_reps:
            reps = torch.cat([reps, torch.stack(new_reps)])
    return len(reps)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "mh":
        steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
        c = Chains()
        report(
            kernel="latent mh",
            rate=rate(lambda: mh(c), steps, warmup=2),
            unit="steps/s",
            ops_per_step=ops_per_step(lambda: mh(c), 3),
        )
    else:
        batches = int(sys.argv[2]) if len(sys.argv) > 2 else 2
        t = time.perf_counter()
        groups = adelm(batches)
        secs = time.perf_counter() - t
        report(kernel="latent adelm", rate=batches * BATCH / secs, unit="iterations/s",
               groups=groups, seconds=secs)
