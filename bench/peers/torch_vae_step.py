"""The peer of bench/vae_step: the same Fashion-MNIST VAE step, hand-written in PyTorch.

Encoder 784-400-(latent, latent) with softplus hidden units and an exp scale; decoder
latent-400-784 with softplus hidden units and Bernoulli logits on the pixel intensities
(binary cross-entropy with logits, summed); the KL term in closed form; the loss scaled by
60000 / batch as a data plate over the training set scales it; Adam lr 1e-3; 16 minibatches
made beforehand and taken in turn. Timed as bench/timing.hpp times a step: one untimed batch
of 20 steps, then 15 batches of 20, and the median of the batches' wall time per step.

Needs Debian's python3-torch (run by Debian's /usr/bin/python3) and, for a fast GEMM,
libopenblas0-openmp (without it the torch package uses the reference BLAS, 12x slower on this
step). Run it beside the vesta step, in alternation, for a same-run ratio:

  OMP_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_vae_step.py --threads 1
  VESTA_NUM_THREADS=1 build-float/bench/vae_step

or let bench/compare.py alternate them (--by-size; see the README's "Against PyTorch").
"""

import argparse
import gzip
import json
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

TRAIN_SIZE = 60000
HIDDEN = 400
PIXELS = 784
NUM_BATCHES = 16


def load_images(count):
    folder = os.environ.get("VESTA_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    with gzip.open(os.path.join(folder, "train-images-idx3-ubyte.gz")) as f:
        raw = f.read(16 + count * PIXELS)
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, PIXELS)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def load_labels(count):
    folder = os.environ.get("VESTA_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    with gzip.open(os.path.join(folder, "train-labels-idx1-ubyte.gz")) as f:
        raw = f.read(8 + count)
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64))


def time_steps(step, calls=20, batches=15):
    """Seconds per step: the median over `batches` timed batches of `calls` steps, after one
    untimed batch (bench/timing.hpp's protocol)."""
    for _ in range(calls):
        step()
    per_step = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        per_step.append((time.perf_counter() - start) / calls)
    return statistics.median(per_step)


class Vae(torch.nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.enc = torch.nn.Linear(PIXELS, HIDDEN)
        self.enc_loc = torch.nn.Linear(HIDDEN, latent)
        self.enc_log_scale = torch.nn.Linear(HIDDEN, latent)
        self.dec_hidden = torch.nn.Linear(latent, HIDDEN)
        self.dec_logits = torch.nn.Linear(HIDDEN, PIXELS)

    def loss(self, x):
        h = F.softplus(self.enc(x))
        loc, log_scale = self.enc_loc(h), self.enc_log_scale(h)
        scale = torch.exp(log_scale)
        z = loc + scale * torch.randn_like(loc)
        logits = self.dec_logits(F.softplus(self.dec_hidden(z)))
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = 0.5 * (loc.square() + scale.square() - 1).sum() - log_scale.sum()
        return (nll + kl) * (TRAIN_SIZE / x.shape[0])


def blas_in_use():
    """The BLAS library the process has loaded (Debian's torch takes whichever libblas.so.3
    the alternatives system points at)."""
    with open("/proc/self/maps") as maps:
        names = {os.path.basename(line.split()[-1]) for line in maps if "blas" in line}
    return ",".join(sorted(names))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--latent", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images = load_images(args.batch * NUM_BATCHES)
    batches = [images[b * args.batch:(b + 1) * args.batch].contiguous()
               for b in range(NUM_BATCHES)]
    vae = Vae(args.latent)
    adam = torch.optim.Adam(vae.parameters(), lr=1e-3)
    state = {"next": 0, "loss": 0.0}

    def step():
        x = batches[state["next"] % NUM_BATCHES]
        state["next"] += 1
        adam.zero_grad(set_to_none=True)
        loss = vae.loss(x)
        loss.backward()
        adam.step()
        state["loss"] = loss.item()

    print(json.dumps({"bench": "torch_vae_step", "scalar": "float", "batch": args.batch,
                      "latent": args.latent, "threads": args.threads,
                      "us_per_step": round(time_steps(step) * 1e6, 1),
                      "blas": blas_in_use(),
                      "loss": state["loss"]}))


if __name__ == "__main__":
    main()
