"""The peer of bench/bnn_step: the same Fashion-MNIST BNN step, hand-written in PyTorch.

Two Bayesian layers as HiddenLayer draws them, by the local reparameterisation trick with
two matrix products each: 784 pixels (+1 ones column, the bias) -> hidden ReLU units (+1 ones
column) -> 10 logits; a mean-field Normal over each layer's weights (mean and a positive
scale, exp of a free parameter, initialised at 0.01), its KL to N(0, 1) in closed form and
counted once; the categorical log-likelihood of the labels scaled by 60000 / batch; Adam lr
1e-3; 16 minibatches made beforehand and taken in turn. Timed as bench/timing.hpp times a
step: one untimed batch of 20 steps, then 15 batches of 20, and the median of the batches'
wall time per step.

Needs Debian's python3-torch (run by Debian's /usr/bin/python3) and, for a fast GEMM,
libopenblas0-openmp. Run it beside the vesta step, in alternation, for a same-run ratio:

  OMP_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_bnn_step.py --threads 1
  VESTA_NUM_THREADS=1 build-float/bench/bnn_step

or let bench/compare.py alternate them (--by-size; see the README's "Against PyTorch").
"""

import argparse
import math

import torch
import torch.nn.functional as F

from fashion_peer import (NUM_BATCHES, PIXELS, TRAIN_SIZE, load_images, load_labels, minibatches,
                          report, start)

CLASSES = 10


class BayesianLayer(torch.nn.Module):
    def __init__(self, inputs, outputs, prior_var_scale):
        super().__init__()
        self.mean = torch.nn.Parameter(torch.randn(inputs, outputs) * math.sqrt(prior_var_scale))
        self.log_scale = torch.nn.Parameter(torch.full((inputs, outputs), math.log(0.01)))

    def forward(self, x):
        scale = torch.exp(self.log_scale)
        mean = x @ self.mean
        sd = torch.sqrt(x.square() @ scale.square())
        return mean + sd * torch.randn_like(mean)

    def kl(self):
        return (0.5 * (self.mean.square() + torch.exp(2 * self.log_scale) - 1)
                - self.log_scale).sum()


def with_ones(x):
    return torch.cat([x, torch.ones(x.shape[0], 1)], dim=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=100)
    args = parser.parse_args()
    start(args.threads)
    count = args.batch * NUM_BATCHES
    next_batch = minibatches(args.batch, with_ones(load_images(count)), load_labels(count))
    layer1 = BayesianLayer(PIXELS + 1, args.hidden, 2.0 / (PIXELS + 1))
    layer2 = BayesianLayer(args.hidden + 1, CLASSES, 1.0 / (args.hidden + 1))
    adam = torch.optim.Adam(list(layer1.parameters()) + list(layer2.parameters()), lr=1e-3)

    def step():
        x, y = next_batch()
        adam.zero_grad(set_to_none=True)
        logits = layer2(with_ones(F.relu(layer1(x))))
        nll = F.cross_entropy(logits, y, reduction="sum") * (TRAIN_SIZE / x.shape[0])
        loss = nll + layer1.kl() + layer2.kl()
        loss.backward()
        adam.step()
        return loss.item()

    report("torch_bnn_step", {"batch": args.batch, "hidden": args.hidden}, args.threads, step)


if __name__ == "__main__":
    main()
