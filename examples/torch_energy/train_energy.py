"""Trains a small energy model U(x) on 2-D data in PyTorch and exports it for telescope.

    .venv/bin/python examples/torch_energy/train_energy.py [OUT.pt]

The data: four Gaussian blobs at (+-1.5, +-1.5). The model: an MLP energy trained by maximum
likelihood with persistent Langevin chains (the gradient of the log-likelihood is
E_data[dU/dW] - E_model[dU/dW]), exported with torch.jit.script. Then map it:

    telescope run examples/torch_energy/map_energy.rhai OUT.pt
"""
import sys
import warnings

import torch
from torch import nn

warnings.filterwarnings("ignore")
torch.manual_seed(0)
torch.set_num_threads(1)
out = sys.argv[1] if len(sys.argv) > 1 else "energy.pt"


class Energy(nn.Module):
    """U(x) = MLP(x) + 0.05 ||x||^2: the quadratic term keeps the density normalisable."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1) + 0.05 * (x * x).sum(1)


def data(n):
    centres = torch.tensor([[1.5, 1.5], [-1.5, 1.5], [-1.5, -1.5], [1.5, -1.5]])
    return centres[torch.randint(0, 4, (n,))] + 0.3 * torch.randn(n, 2)


def langevin(model, x, steps, eps):
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(model(x).sum(), x)
        x = x - 0.5 * eps * eps * g + eps * torch.randn_like(x)
    return x.detach()


model = Energy()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
chains = torch.rand(256, 2) * 8 - 4
for it in range(1500):
    chains = langevin(model, chains, 10, 0.1)
    # Refresh a few chains from noise so that no mode is forgotten.
    chains[:8] = torch.rand(8, 2) * 8 - 4
    pos, neg = model(data(256)), model(chains)
    loss = pos.mean() - neg.mean() + 0.01 * (pos**2 + neg**2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if it % 500 == 0 or it == 1499:
        print(f"iteration {it}: data energy {pos.mean().item():.3f}, model energy {neg.mean().item():.3f}")
model.eval()
torch.jit.script(model).save(out)
print(f"wrote {out}")
