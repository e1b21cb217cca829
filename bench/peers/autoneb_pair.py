"""PyTorch-AutoNEB (Draxler et al. 2018, github.com/fdraxler/PyTorch-AutoNEB) on one pair of the
networks that examples/mode_connectivity/train.py exports: the peer of `neb` and `curve_path`
between trained networks (docs/networks.md, "Side by side with PyTorch-AutoNEB").

The peer's source is not in this project. Clone it anywhere and give its folder; its imports
need networkx and scipy, installed apart from the project's environment:

    git clone https://github.com/fdraxler/PyTorch-AutoNEB /tmp/autoneb
    .venv/bin/python -m pip install --target /tmp/autoneb-deps networkx scipy
    PYTHONPATH=/tmp/autoneb-deps .venv/bin/python bench/peers/autoneb_pair.py /tmp/autoneb nets mlp 1 2 OUT

It loads FAMILY_A.pt and FAMILY_B.pt (TorchScript), wraps them the way the peer's README says
to use it in one's own code (a module whose forward returns the loss, `models.ModelWrapper`),
and runs `torch_autoneb.auto_neb` between the two parameter vectors with the schedule of the
peer's own CIFAR configs (configs/cifar10-cnn12.yaml), shortened (`--cycles`, `--steps`):
cycle 1 inserts 3 pivots evenly and runs SGD with momentum 0.9 on mini-batches of 512,
spring constant inf (pivots redistributed evenly every step, the peer's default), weight
decay 1e-4; each later cycle inserts up to 2 pivots where the dense loss departs most from
the pivots' interpolation. One thread, as telescope's side. Writes
OUT/autoneb_FAMILY_CYCLESxSTEPS.npy (the final pivots [K, P], float32) and prints one JSON line: wall seconds, the pivot count, the
peer's own saddle value (its dense evaluation: 9 points between neighbouring pivots, the full
training set) and the loss at the ends.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn


class TrainLoss(nn.Module):
    """The network and its data as the peer wants a model: forward() is the mean cross-entropy
    of a mini-batch drawn afresh each call (the peer's DataModel shuffles, too), analyse() the
    full training set's loss and error."""

    def __init__(self, net, x, y, batch):
        super().__init__()
        self.net = net
        self.x, self.y, self.batch = x, y, batch
        self.gen = torch.Generator().manual_seed(0)

    def forward(self):
        idx = torch.randperm(len(self.x), generator=self.gen)[: self.batch]
        return nn.functional.cross_entropy(self.net(self.x[idx]), self.y[idx])

    def analyse(self):
        out = self.net(self.x)
        return {
            "loss": nn.functional.cross_entropy(out, self.y).item(),
            "error": (out.argmax(1) != self.y).float().mean().item(),
        }


def cycles(count, steps, lr):
    """The peer's CIFAR schedule (cifar10-cnn12.yaml), `count` cycles of `steps` SGD steps."""
    first = {
        "insert": {"name": "equal", "count": 3},
        "subsample_pivot_count": 9,
        "spring_constant": "inf",
        "weight_decay": 1e-4,
        "optim": {"nsteps": steps, "algorithm": {"name": "SGD", "lr": lr, "momentum": 0.9}, "eval": {"batch_size": 512}},
    }
    later = {"insert": {"name": "highest", "count": 2, "key": "dense_loss"}}
    return [first] + [later] * (count - 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("autoneb", help="folder of a PyTorch-AutoNEB clone")
    p.add_argument("nets", help="folder that examples/mode_connectivity/train.py wrote")
    p.add_argument("family", choices=["mlp", "cnn"])
    p.add_argument("a", type=int)
    p.add_argument("b", type=int)
    p.add_argument("out")
    p.add_argument("--cycles", type=int, default=4)
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=512)
    args = p.parse_args()
    sys.path.insert(0, args.autoneb)
    import torch_autoneb
    from networkx import MultiGraph

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.from_numpy(np.load(os.path.join(args.nets, "train_x.npy")))
    y = torch.from_numpy(np.load(os.path.join(args.nets, "train_y.npy"))).long()
    net = torch.jit.load(os.path.join(args.nets, f"{args.family}_{args.a}.pt"))
    other = torch.jit.load(os.path.join(args.nets, f"{args.family}_{args.b}.pt"))
    model = torch_autoneb.models.ModelWrapper(TrainLoss(net, x, y, args.batch))
    ends = []
    for m in (net, other):
        ends.append(torch.cat([q.detach().reshape(-1) for q in m.parameters()]))
    config = torch_autoneb.config.AutoNEBConfig.from_list(cycles(args.cycles, args.steps, args.lr))

    graph = MultiGraph()
    for k, theta in enumerate(ends):
        graph.add_node(k, coords=theta.clone())
    start = time.perf_counter()
    torch_autoneb.auto_neb(0, 1, graph, model, config)
    wall = time.perf_counter() - start
    last = graph[0][1][config.cycle_count]
    path = last["path_coords"]
    os.makedirs(args.out, exist_ok=True)
    name = f"autoneb_{args.family}_{args.cycles}x{args.steps}.npy"
    np.save(os.path.join(args.out, name), path.numpy().astype(np.float32))
    print(json.dumps({
        "peer": "PyTorch-AutoNEB",
        "pair": f"{args.family}_{args.a}-{args.family}_{args.b}",
        "path": name,
        "wall_s": round(wall, 2),
        "cycles": args.cycles,
        "steps_per_cycle": args.steps,
        "pivots": int(path.shape[0]),
        "saddle_train_loss": last["saddle_loss"],
        "ends_train_loss": [float(last["dense_loss"][0]), float(last["dense_loss"][-1])],
    }))


if __name__ == "__main__":
    main()
