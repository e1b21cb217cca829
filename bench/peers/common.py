"""What every peer shares: one thread, seeded, timed over repeated steps, libtorch operators
counted the way `telescope bench` counts them, one JSON line out.

The peers are the kernels of `telescope bench` written the way a researcher writes them in
PyTorch-Python. `telescope bench --peers` runs them with the project's torch and prints both
rates side by side; each can also run alone: `python bench/peers/samplers.py mh`.
"""
import json
import sys
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)


def top_level_aten_ops(events):
    """Operators called from outside any other operator, counting only `aten::` names: the
    rule of telescope's counter (native/op_counter.cpp)."""
    n = 0
    for ev in events:
        if not ev.name.startswith("aten::"):
            continue
        parent = ev.cpu_parent
        while parent is not None and not parent.name.startswith("aten::"):
            parent = parent.cpu_parent
        if parent is None:
            n += 1
    return n


def ops_per_step(step, steps=5):
    """Mean top-level ATen operators per call of `step()` over `steps` calls."""
    with torch.autograd.profiler.profile() as prof:
        for _ in range(steps):
            step()
    return top_level_aten_ops(prof.function_events) / steps


def rate(step, steps, warmup=5, rounds=5):
    """Calls of `step()` per second: the best of `rounds` rounds of `steps` calls after `warmup`
    untimed ones (the best round is the one the machine disturbed least; telescope's side
    takes its best round too)."""
    for _ in range(warmup):
        step()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, time.perf_counter() - t)
    return steps / best


def report(**fields):
    """Prints the peer's result as one JSON line (what `telescope bench --peers` reads)."""
    print(json.dumps(fields))
    sys.stdout.flush()
