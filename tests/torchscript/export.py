"""Builds small PyTorch modules, exports them as TorchScript, and writes PyTorch's own energies,
gradients and images for random inputs as the reference the Rust tests compare against.

    .venv/bin/python tests/torchscript/export.py OUT_DIR

Writes into OUT_DIR: the modules (*.pt) and reference.json. Needs only torch (no numpy)."""
import json
import os
import sys
import warnings

import torch
from torch import nn

warnings.filterwarnings("ignore")
torch.manual_seed(0)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


class MlpEnergy(nn.Module):
    """U(x) = w . tanh(A x + b) + 0.1 ||x||^2 over states [B, 3]."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x))).squeeze(-1) + 0.1 * (x * x).sum(1)


class ConvDescriptor(nn.Module):
    """Scores images [B, 1, 8, 8] (returns [B, 1])."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 1)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


class ConvTGenerator(nn.Module):
    """Latent vectors [B, 4] to images [B, 1, 8, 8]."""

    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(4, 8, 4, stride=1)
        self.up2 = nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1)

    def forward(self, z):
        h = torch.relu(self.up1(z.view(z.shape[0], 4, 1, 1)))
        return torch.tanh(self.up2(h))


class FlatGenerator(nn.Module):
    """Latent vectors [B, 4] to flat RGB images [B, 3*4*4]."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 48)

    def forward(self, z):
        return torch.tanh(self.fc(z))


class WrongShape(nn.Module):
    def forward(self, x):
        return x[:, :2]


class TupleOut(nn.Module):
    def forward(self, x):
        return (x.sum(1), x)


def grad_of(f, x):
    x = x.clone().requires_grad_(True)
    u = f(x)
    (g,) = torch.autograd.grad(u.sum(), x)
    return u.detach(), g


def rows(t):
    return t.double().tolist()


ref = {}

# An MLP energy in float64 (torch.jit.script) and a float32 copy (torch.jit.trace).
e64 = MlpEnergy().double().eval()
torch.jit.script(e64).save(f"{out}/mlp_energy.pt")
e32 = MlpEnergy().float().eval()
e32.load_state_dict({k: v.float() for k, v in e64.state_dict().items()})
torch.jit.trace(e32, torch.randn(2, 3)).save(f"{out}/mlp_energy_f32.pt")
x = torch.randn(64, 3, dtype=torch.float64) * torch.tensor([0.1, 1.0, 3.0], dtype=torch.float64)
u, g = grad_of(e64, x)
u32, g32 = grad_of(e32, x.float())
ref["mlp"] = {"x": rows(x), "u": rows(u), "grad": rows(g), "u32": rows(u32), "grad32": rows(g32)}

# A conv descriptor and a convT generator (float32), and the DeepFRAME and latent energies
# they define: U(I) = -F(I) + ||I||^2 / (2 sigma^2), U(z) = U(g(z)).
sigma = 0.5
desc = ConvDescriptor().eval()
gen = ConvTGenerator().eval()
torch.jit.script(desc).save(f"{out}/conv_descriptor.pt")
torch.jit.script(gen).save(f"{out}/convT_generator.pt")


def deepframe(images):
    f = desc(images.view(-1, 1, 8, 8)).flatten(1).sum(1)
    return -f + (images.flatten(1) ** 2).sum(1) / (2 * sigma * sigma)


images = torch.rand(16, 64) * 2 - 1
ui, gi = grad_of(deepframe, images)
z = torch.randn(16, 4)
uz, gz = grad_of(lambda v: deepframe(gen(v).flatten(1)), z)
ref["image"] = {"sigma": sigma, "x": rows(images), "u": rows(ui), "grad": rows(gi),
                "score": rows(desc(images.view(-1, 1, 8, 8)).flatten(1).sum(1).detach())}
ref["latent"] = {"z": rows(z), "u": rows(uz), "grad": rows(gz),
                 "images": rows(gen(z).flatten(1).detach())}

flat = FlatGenerator().eval()
torch.jit.script(flat).save(f"{out}/flat_generator.pt")
ref["flat"] = {"z": rows(z), "images": rows(flat(z).detach())}

torch.jit.script(WrongShape()).save(f"{out}/wrong_shape.pt")
torch.jit.script(TupleOut()).save(f"{out}/tuple_out.pt")

with open(f"{out}/reference.json", "w") as f:
    json.dump(ref, f)
print(f"exported modules and reference values to {out}")
