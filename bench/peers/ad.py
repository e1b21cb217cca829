"""64 Attraction-Diffusion trials on Müller-Brown from minimum A toward minimum C, batched with
per-trial stop masks: `telescope bench ad` in PyTorch-Python. T 2, alpha 40, delta 0.03,
M (improvement limit) 60, at most 5000 steps, random-walk MH with step 0.02, float64. Each
trial keeps its barrier (the highest U met), best distance and steps; the loop ends when every
trial has succeeded or stalled.

    python ad.py [repeats]
"""
import sys

import torch

from common import ops_per_step, rate, report

torch.set_default_dtype(torch.float64)
N, T, ALPHA, DELTA, PATIENCE, MAX_STEPS, STEP = 64, 2.0, 40.0, 0.03, 60, 5000, 0.02
A_ = torch.tensor([-200.0, -100.0, -170.0, 15.0])
a = torch.tensor([-1.0, -1.0, -6.5, 0.7])
b = torch.tensor([0.0, 0.0, 11.0, 0.6])
c = torch.tensor([-10.0, -10.0, -6.5, 0.7])
x0 = torch.tensor([1.0, 0.0, -0.5, -1.0])
y0 = torch.tensor([0.0, 0.5, 1.5, 1.0])
START = torch.tensor([-0.558224, 1.441726])
TARGET = torch.tensor([-0.050011, 0.466694])


def muller_brown(x):
    dx = x[:, :1] - x0
    dy = x[:, 1:] - y0
    return (A_ * torch.exp(a * dx * dx + b * dx * dy + c * dy * dy)).sum(1)


class Trials:
    """The batch of trials and the stop rule's standing."""

    def __init__(self):
        self.x = START.repeat(N, 1)
        self.U = muller_brown(self.x)
        self.d = (self.x - TARGET).norm(dim=1)
        self.u = self.U / T + ALPHA * self.d
        self.barrier = self.U.clone()
        self.best = self.d.clone()
        self.stale = torch.zeros(N, dtype=torch.long)
        self.steps = torch.zeros(N, dtype=torch.long)
        self.done = self.d <= DELTA
        self.success = self.done.clone()

    def step(self):
        x_new = self.x + STEP * torch.randn_like(self.x)
        U_new = muller_brown(x_new)
        d_new = (x_new - TARGET).norm(dim=1)
        u_new = U_new / T + ALPHA * d_new
        accept = (torch.rand(N).log() < self.u - u_new) & ~self.done
        self.x = torch.where(accept[:, None], x_new, self.x)
        self.U = torch.where(accept, U_new, self.U)
        self.d = torch.where(accept, d_new, self.d)
        self.u = torch.where(accept, u_new, self.u)
        running = ~self.done
        self.steps += running
        self.barrier = torch.where(running, torch.maximum(self.barrier, self.U), self.barrier)
        improved = (self.d < self.best) & running
        self.best = torch.where(improved, self.d, self.best)
        self.stale = torch.where(improved, 0, self.stale + running)
        within = self.d <= DELTA
        ends = running & (within | (self.stale >= PATIENCE) | (self.steps >= MAX_STEPS))
        self.success |= ends & within
        self.done |= ends

    def run(self):
        while not bool(self.done.all()):
            self.step()
        return self


if __name__ == "__main__":
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    trials_run = []
    per_trial_set = rate(lambda: trials_run.append(Trials().run()), repeats, warmup=2)
    done = trials_run[-1]
    t = Trials()
    report(
        kernel="ad",
        rate=N * per_trial_set,
        unit="trials/s",
        ops_per_step=ops_per_step(t.step, 20),
        successes=int(done.success.sum()),
        mean_steps=float(done.steps.double().mean()),
    )
