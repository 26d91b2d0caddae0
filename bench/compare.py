#!/usr/bin/env python3
"""Compares two builds' runs of a benchmark on one machine, in one session.

    python3 bench/compare.py [--rounds N] [--field us_per_step] OLD_CMD... -- NEW_CMD...

Runs the two commands in ABBA rounds (old, new, new, old) so that neither profits from going
first: on a shared or virtual machine the run that follows another is often slower, by as much
as the change being measured. For each JSON row a bench prints (rows are matched by their
string fields and their size fields: batch, n, hidden, ...), it prints the minimum of the field
over each command's runs, their ratio old/new (above 1: the new build is faster), and the same
ratio from the rounds' first runs alone and from their second runs alone, whose spread shows
how much the order moved the figures.

With --by-size, rows are matched by their size fields alone, for a peer program whose rows
carry other names (bench/peers/): for example the VAE step against a hand-written PyTorch one,

    python3 bench/compare.py --by-size --rounds 3 env OMP_NUM_THREADS=1 /usr/bin/python3 \
        bench/peers/torch_vae_step.py --threads 1 -- env VESTA_NUM_THREADS=1 build-float/bench/vae_step

where old_over_new is then how many times faster vesta's step is.
"""
import argparse
import json
import subprocess
import sys

# Integer fields that name a row's workload rather than measure it.
SIZE_FIELDS = ("batch", "hidden", "in", "n", "sites", "threads", "rows", "cols", "d", "dim",
               "components", "inputs", "outputs", "latent", "ranks", "states", "global_batch")


def row_key(row, by_size):
    return tuple(sorted((k, v) for k, v in row.items()
                        if (isinstance(v, str) and not by_size)
                        or (k in SIZE_FIELDS and isinstance(v, int))))


def run(cmd, field, by_size):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and field in row:
            rows[row_key(row, by_size)] = float(row[field])
    return rows


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    split = args.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--field", default="us_per_step")
    parser.add_argument("--by-size", action="store_true")
    opts, old = parser.parse_known_args(args[:split])
    new = args[split + 1:]
    if not old or not new:
        sys.exit(__doc__)
    # runs[which][position]: rows of each run, by who ran first in its pair.
    runs = {"old": {0: [], 1: []}, "new": {0: [], 1: []}}
    for _ in range(opts.rounds):
        runs["old"][0].append(run(old, opts.field, opts.by_size))
        runs["new"][1].append(run(new, opts.field, opts.by_size))
        runs["new"][0].append(run(new, opts.field, opts.by_size))
        runs["old"][1].append(run(old, opts.field, opts.by_size))

    def best(which, positions, key):
        values = [r[key] for p in positions for r in runs[which][p] if key in r]
        return min(values) if values else float("nan")

    keys = sorted({k for p in (0, 1) for r in runs["old"][p] for k in r}, key=str)
    for key in keys:
        name = ", ".join(f"{k}={v}" for k, v in key if k not in ("bench", "scalar"))
        old_best, new_best = best("old", (0, 1), key), best("new", (0, 1), key)
        first = best("old", (0,), key) / best("new", (0,), key)
        second = best("old", (1,), key) / best("new", (1,), key)
        print(json.dumps({"row": name, "field": opts.field, "old": old_best, "new": new_best,
                          "old_over_new": round(old_best / new_best, 3),
                          "old_over_new_going_first": round(first, 3),
                          "old_over_new_going_second": round(second, 3)}))


if __name__ == "__main__":
    main()
