"""RC-MAE pre-training (stage 1) on a CPU: throughput and the time of an epoch on 1,000 clips.

Fits :class:`sklasd.embedders.RCMAEPretrainer` on ``--n-clips`` synthetic 10 s clips at
16 kHz (:func:`sklasd.datasets.make_machine_sounds`, 4 fan sections, waveforms in
memory) for ``--epochs`` epochs, for each ``--sizes``:

- ``default``: :func:`sklasd.embedders.make_rcmae_net` as it is (the CPU-sized encoder);
- ``paper``: the paper's encoder, depth 12 and 6 heads (width 384, ViT-Small's),
  with the default decoder.

Both train on 64-frame crops of the 128-band log-mel spectrograms (1024/512, 50-8000
Hz), 16 x 16 patches (32 per crop), 75% masked, batches of 32, with the default
SpecAugment view. Printed per size: the log-mel time, the training throughput in clips/s
(one crop per clip and epoch; the mean epoch time of the history without the first,
warm-up, epoch), and the seconds per epoch on 1,000 clips extrapolated from it (the
cost of an epoch is linear in the number of clips). The load average is printed
before and after: other processes sharing the CPU slow every figure down.

Usage: python benchmarks/bench_rcmae.py [--n-clips 96] [--epochs 3] [--threads 1]
       [--sizes default paper]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _results import emit, load, machine

from sklasd.datasets import make_machine_sounds
from sklasd.embedders import RCMAEPretrainer, make_rcmae_net
from sklasd.features import LogMel

SIZES = {
    "default": {},
    "paper": {"module__embed_dim": 384, "module__depth": 12, "module__n_heads": 6},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=3, help="the first one is warm-up")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine())
    X, frame = make_machine_sounds(
        machine_types="fan", n_sections=4, n_train=-(-args.n_clips // 4), n_test=0,
        n_train_target=0, duration=10.0, random_state=0,
    )  # fmt: skip
    X = X[(frame["split"] == "train").to_numpy()][: args.n_clips]
    features = LogMel(n_fft=1024, hop_length=512, n_mels=128, fmin=50.0, fmax=8000.0)
    start = time.perf_counter()
    features.fit_transform(X)
    logmel_time = time.perf_counter() - start
    print(f"log-mel of {len(X)} clips of 10 s: {logmel_time:.1f} s")

    for size in args.sizes:
        net = make_rcmae_net(max_epochs=args.epochs, **SIZES[size])
        pretrainer = RCMAEPretrainer(features=features, net=net, random_state=0)
        start = time.perf_counter()
        pretrainer.fit(X)
        fit_time = time.perf_counter() - start
        module = pretrainer.net_.module_
        n_weights = sum(p.numel() for p in module.parameters())
        durations = np.array(pretrainer.net_.history[:, "dur"])
        steady = durations[1:] if len(durations) > 1 else durations
        throughput = len(X) / steady.mean()
        per_epoch = 1000 / throughput
        encoder = module.encoder.config
        description = (
            f"{size}: encoder depth {encoder['depth']}, {encoder['n_heads']} heads, width "
            f"{encoder['embed_dim']}; {n_weights / 1e6:.2f} M weights"
        )
        print(f"\n{description}")
        print(
            f"  fit on {len(X)} clips, {args.epochs} epochs: {fit_time:.1f} s "
            f"(epochs {', '.join(f'{d:.1f}' for d in durations)} s)"
        )
        print(
            f"  training throughput: {throughput:.1f} clips/s; one epoch on 1,000 clips of "
            f"10 s: {per_epoch:.0f} s (+ {1000 * logmel_time / len(X):.0f} s of log-mel, once); "
            f"30 epochs: {30 * per_epoch / 60:.0f} min"
        )
        note = f"{size} size, 64-frame crops, {args.threads} thread(s)"
        emit("training", f"RC-MAE pre-training ({size})", throughput, "clips/s", note)
        emit("training", f"RC-MAE epoch on 1,000 clips ({size})", per_epoch, "s", note)
    print(load())


if __name__ == "__main__":
    main()
