"""Random-walk MH on the latent energy of the Appendix A ivy networks, as `telescope bench
latent` measures it: a descriptor conv(100,5,2) conv(200,5,2) fc(1) over 32x32x3 images and a
generator convT(200,4,1) convT(100,5,2) convT(50,5,2) convT(3,5,2) from Z = 30 (ReLU between
layers, tanh at the end), random weights, float32; U(z) = |g(z)|^2 / (2 sigma^2) - F(g(z))
with sigma 3, at T 0.01, 32 chains, step 0.05.

    python latent.py mh [steps]
"""
import sys

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


if __name__ == "__main__":
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    c = Chains()
    report(
        kernel="latent mh",
        rate=rate(lambda: mh(c), steps, warmup=2),
        unit="steps/s",
        ops_per_step=ops_per_step(lambda: mh(c), 3),
    )
