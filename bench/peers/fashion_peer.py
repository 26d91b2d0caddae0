"""What the PyTorch peers of bench/ share: the Fashion-MNIST training files read as vesta's
benches read them, the minibatches made beforehand, bench/timing.hpp's timing protocol, and the
JSON line each prints."""

import gzip
import itertools
import json
import os
import statistics
import time

import numpy as np
import torch

TRAIN_SIZE = 60000
PIXELS = 784
NUM_BATCHES = 16


def _read_train(name, header, count, width):
    folder = os.environ.get("VESTA_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    with gzip.open(os.path.join(folder, name)) as f:
        raw = f.read(header + count * width)
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


def load_images(count):
    """The first `count` training images, count x 784 pixel intensities in [0, 1]."""
    pixels = _read_train("train-images-idx3-ubyte.gz", 16, count, PIXELS).reshape(count, PIXELS)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def load_labels(count):
    """Their labels, 0-9."""
    return torch.from_numpy(_read_train("train-labels-idx1-ubyte.gz", 8, count, 1).astype(np.int64))


def start(threads):
    """Threads for torch's ops (OpenBLAS takes OMP_NUM_THREADS) and a fixed seed."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)


def minibatches(batch, *tensors):
    """A function returning the next of NUM_BATCHES consecutive minibatches of `tensors` (rows
    b * batch to (b + 1) * batch of each), made beforehand and taken in turn."""
    batches = [tuple(t[b * batch:(b + 1) * batch].contiguous() for t in tensors)
               for b in range(NUM_BATCHES)]
    return itertools.cycle(batches).__next__


def time_steps(step, calls=20, batches=15):
    """Seconds per step (the median over `batches` timed batches of `calls` steps, after one
    untimed batch: bench/timing.hpp's protocol) and the last step's return value."""
    for _ in range(calls):
        last = step()
    per_step = []
    for _ in range(batches):
        begin = time.perf_counter()
        for _ in range(calls):
            last = step()
        per_step.append((time.perf_counter() - begin) / calls)
    return statistics.median(per_step), last


def blas_in_use():
    """The BLAS libraries the process has loaded (Debian's torch takes whichever libblas.so.3
    the alternatives system points at)."""
    with open("/proc/self/maps") as maps:
        names = {os.path.basename(line.split()[-1]) for line in maps if "blas" in line}
    return ",".join(sorted(names))


def report(bench, sizes, threads, step):
    """Times `step` (which returns the step's loss) and prints the JSON line: `sizes` are the
    fields bench/compare.py --by-size matches with vesta's bench."""
    seconds, loss = time_steps(step)
    print(json.dumps({"bench": bench, "scalar": "float", **sizes, "threads": threads,
                      "us_per_step": round(seconds * 1e6, 1), "blas": blas_in_use(),
                      "loss": loss}))
