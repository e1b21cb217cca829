"""MH, MALA and HMC on the quadratic energy U(x) = |x|^2 / 2 at T = 1, B = 256 chains in
D = 100, float64: `telescope bench samplers` in PyTorch-Python. The step sizes are the bench's
(0.1; 5 leapfrog steps for HMC); gradients come from autograd, as telescope's do for this
energy.

    python samplers.py mh|mala|hmc [steps]
"""
import sys

import torch

from common import ops_per_step, rate, report

B, D, STEP, LEAPFROG = 256, 100, 0.1, 5
torch.set_default_dtype(torch.float64)


def energy(x):
    return 0.5 * (x * x).sum(1)


def energy_and_grad(x):
    x = x.detach().requires_grad_(True)
    u = energy(x)
    (g,) = torch.autograd.grad(u.sum(), x)
    return u.detach(), g


class Chains:
    def __init__(self):
        self.x = torch.zeros(B, D)
        self.u, self.g = energy_and_grad(self.x)


def mh(c):
    with torch.no_grad():
        x_new = c.x + STEP * torch.randn_like(c.x)
        u_new = energy(x_new)
        accept = torch.rand_like(u_new).log() < c.u - u_new
        c.x = torch.where(accept[:, None], x_new, c.x)
        c.u = torch.where(accept, u_new, c.u)


def mala(c):
    h = STEP * STEP / 2
    mean = c.x - h * c.g
    x_new = mean + STEP * torch.randn_like(c.x)
    u_new, g_new = energy_and_grad(x_new)
    back = c.x - (x_new - h * g_new)
    log_ratio = ((x_new - mean) ** 2).sum(1) - (back**2).sum(1)
    log_alpha = c.u - u_new + log_ratio / (2 * STEP * STEP)
    accept = torch.rand_like(u_new).log() < log_alpha
    c.x = torch.where(accept[:, None], x_new, c.x)
    c.u = torch.where(accept, u_new, c.u)
    c.g = torch.where(accept[:, None], g_new, c.g)


def hmc(c):
    p0 = torch.randn_like(c.x)
    p = p0 - STEP / 2 * c.g
    x = c.x
    for i in range(LEAPFROG):
        x = x + STEP * p
        u, g = energy_and_grad(x)
        p = p - (STEP / 2 if i + 1 == LEAPFROG else STEP) * g
    log_alpha = c.u - u + 0.5 * (p0 * p0).sum(1) - 0.5 * (p * p).sum(1)
    accept = torch.rand_like(u).log() < log_alpha
    c.x = torch.where(accept[:, None], x, c.x)
    c.u = torch.where(accept, u, c.u)
    c.g = torch.where(accept[:, None], g, c.g)


if __name__ == "__main__":
    kind = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    kernel = {"mh": mh, "mala": mala, "hmc": hmc}[kind]
    c = Chains()
    report(
        kernel=kind,
        rate=rate(lambda: kernel(c), steps),
        unit="steps/s",
        ops_per_step=ops_per_step(lambda: kernel(c)),
    )
