"""Exports small networks and PyTorch's own losses and gradients over their parameters, for
tests/torch_loss.rs: python export.py OUT_DIR writes the modules (.pt), their data (.npy) and
reference.json (θ vectors, losses and gradients from torch.func.functional_call)."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call

torch.set_default_dtype(torch.float64)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


class Mlp(nn.Module):
    def __init__(self, d_in=6, hidden=8, d_out=3):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.fc2 = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


class Cnn(nn.Module):
    def __init__(self, bn=False, dropout=False):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3) if bn else nn.Identity()
        self.drop = nn.Dropout(0.5) if dropout else nn.Identity()
        self.fc = nn.Linear(3 * 4 * 4, 3)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        return self.fc(self.drop(h.flatten(1)))


class QuarticLoss(nn.Module):
    def forward(self, out, target):
        return ((out - target) ** 4).mean()


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def unflat(model, theta):
    params, k = {}, 0
    for name, p in model.named_parameters():
        params[name] = theta[k:k + p.numel()].reshape(p.shape)
        k += p.numel()
    return params


def reference(model, x, y, loss_fn, thetas, train_bn=False):
    rows = []
    for theta in thetas:
        theta = theta.clone().requires_grad_(True)
        buffers = {n: b.clone() for n, b in model.named_buffers()}
        model.train(train_bn)
        out = functional_call(model, (unflat(model, theta), buffers), (x,))
        model.eval()
        loss = loss_fn(out, y)
        (g,) = torch.autograd.grad(loss, theta)
        rows.append({"loss": loss.item(), "grad": g.tolist()})
    return rows


gen = torch.Generator().manual_seed(3)
ref = {}
x_flat = torch.randn(40, 6, generator=gen)
y_class = torch.randint(0, 3, (40,), generator=gen)
y_reg = torch.randn(40, 3, generator=gen)
x_img = torch.randn(30, 1, 6, 6, generator=gen)
y_img = torch.randint(0, 3, (30,), generator=gen)
np.save(f"{out}/x_flat.npy", x_flat.numpy())
np.save(f"{out}/y_class.npy", y_class.numpy().astype(np.float64))
np.save(f"{out}/y_reg.npy", y_reg.numpy())
np.save(f"{out}/x_img.npy", x_img.numpy())
np.save(f"{out}/y_img.npy", y_img.numpy().astype(np.float64))

torch.manual_seed(1)
mlp = Mlp().eval()
torch.manual_seed(2)
mlp_b = Mlp().eval()
torch.manual_seed(5)
cnn = Cnn().eval()
torch.manual_seed(6)
cnn_bn = Cnn(bn=True)
with torch.no_grad():  # running statistics that are not the defaults
    cnn_bn.train()
    for _ in range(3):
        cnn_bn(torch.randn(20, 1, 6, 6) * 2 + 0.5)
cnn_bn.eval()
cnn_drop = Cnn(bn=True, dropout=True).eval()
wide = Mlp(hidden=9).eval()

for name, m in [("mlp", mlp), ("mlp_b", mlp_b), ("cnn", cnn), ("cnn_bn", cnn_bn),
                ("cnn_drop", cnn_drop), ("wide", wide)]:
    torch.jit.script(m).save(f"{out}/{name}.pt")
torch.jit.script(QuarticLoss()).save(f"{out}/quartic.pt")


def thetas(model):
    t0 = flat(model)
    g = torch.Generator().manual_seed(11)
    return [t0, t0 + 0.3 * torch.randn(t0.shape, generator=g), t0 - 0.5 * torch.randn(t0.shape, generator=g)]


ce = nn.functional.cross_entropy
cases = {
    "mlp_ce": (mlp, x_flat, y_class, ce, False),
    "mlp_nll": (mlp, x_flat, y_class, nn.functional.nll_loss, False),
    "mlp_mse": (mlp, x_flat, y_reg, nn.functional.mse_loss, False),
    "mlp_quartic": (mlp, x_flat, y_reg, QuarticLoss(), False),
    "cnn_ce": (cnn, x_img, y_img, ce, False),
    "cnn_bn_eval": (cnn_bn, x_img, y_img, ce, False),
    "cnn_bn_recompute": (cnn_bn, x_img, y_img, ce, True),
}
for key, (m, x, y, fn, train_bn) in cases.items():
    ts = thetas(m)
    ref[key] = {"thetas": [t.tolist() for t in ts], "rows": reference(m, x, y, fn, ts, train_bn)}
ref["names"] = {"mlp": [n for n, _ in mlp.named_parameters()], "cnn_bn": [n for n, _ in cnn_bn.named_parameters()]}
ref["mlp_b_theta"] = flat(mlp_b).tolist()
with torch.no_grad():
    ref["mlp_accuracy"] = (mlp(x_flat).argmax(1) == y_class).double().mean().item()
    ref["cnn_bn_running_mean"] = cnn_bn.bn.running_mean.tolist()
json.dump(ref, open(f"{out}/reference.json", "w"))
