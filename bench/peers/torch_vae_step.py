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

import torch
import torch.nn.functional as F

from fashion_peer import NUM_BATCHES, PIXELS, TRAIN_SIZE, load_images, minibatches, report, start

HIDDEN = 400


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--latent", type=int, default=10)
    args = parser.parse_args()
    start(args.threads)
    next_batch = minibatches(args.batch, load_images(args.batch * NUM_BATCHES))
    vae = Vae(args.latent)
    adam = torch.optim.Adam(vae.parameters(), lr=1e-3)

    def step():
        (x,) = next_batch()
        adam.zero_grad(set_to_none=True)
        loss = vae.loss(x)
        loss.backward()
        adam.step()
        return loss.item()

    report("torch_vae_step", {"batch": args.batch, "latent": args.latent}, args.threads, step)


if __name__ == "__main__":
    main()
