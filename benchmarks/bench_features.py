"""Cost of the features of Wang, Du and Wang (2022): extraction and training clips/s, one run.

Prints, for synthetic 10 s clips at 16 kHz (:func:`sklasd.datasets.make_machine_sounds`, one
machine type with 4 sections, waveforms in memory), measured in the same run:

- extraction throughput (clips/s of ``transform`` on fitted transformers) of
  ``LogMel(n_mels=128)``, ``Tgram(n_mels=128)`` (its fit, which trains the TgramNet on the
  sections, is timed apart), ``Wav2Vec`` with a tiny randomly initialised model (hidden size
  32, 2 layers; random projection to 128 bands) and, unless ``--skip-base``, with a randomly
  initialised model of the size of ``facebook/wav2vec2-base`` (``Wav2Vec2Config()``: hidden
  size 768, 12 layers, PCA to 128 bands; the cost of the real model, whose weights cannot be
  downloaded here), on the first ``--n-base`` clips;
- training throughput (clips/s: clips per epoch over the mean epoch time of the training
  history; one random 64-frame crop per clip and epoch) of the classifier of
  :func:`sklasd.detectors.make_id_embedder` (default ``--network tdnn``, the paper's, in its
  CPU-sized variant) on 1, 2 and 3 stacked channels (LogMel; LogMel + Tgram; LogMel + Tgram +
  wav2vec), with cross-entropy and with the paper's cross-entropy + triplet + attribute loss;
- the load average of the machine before and after, since other processes sharing the CPU
  slow every figure down.

Usage: python benchmarks/bench_features.py [--n-clips 64] [--threads 1] [--skip-base]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _results import emit, load, machine
from transformers import Wav2Vec2Config

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import make_id_embedder
from sklasd.embedders import Tgram, Wav2Vec
from sklasd.features import LogMel

N_MELS = 128
TINY_WAV2VEC = Wav2Vec2Config(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(16, 16),
    conv_stride=(5, 64),
    conv_kernel=(10, 128),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=64, help="clips (4 sections)")
    parser.add_argument("--n-base", type=int, default=8, help="clips for the base wav2vec")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs per run")
    parser.add_argument("--network", default="tdnn", help="network of make_id_embedder")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--skip-base", action="store_true", help="skip the base-sized wav2vec")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(machine())
    n_sections = 4
    X, frame = make_machine_sounds(
        machine_types=["fan"],
        n_sections=n_sections,
        n_train=args.n_clips // n_sections,
        n_test=0,
        domain_shift=False,
        duration=10.0,
        random_state=0,
    )
    section = frame["section"].to_numpy()
    attributes = frame["attributes"].to_numpy()
    print(f"{len(X)} clips of 10 s at 16 kHz, {n_sections} sections\n")

    extractors = {
        "LogMel": LogMel(n_mels=N_MELS),
        "Tgram": Tgram(n_mels=N_MELS, max_epochs=3, random_state=0),
        "Wav2Vec (tiny)": Wav2Vec(
            model=TINY_WAV2VEC, n_bands=N_MELS, projection="random", random_state=0
        ),
    }
    if not args.skip_base:
        extractors["Wav2Vec (base size)"] = Wav2Vec(
            model=Wav2Vec2Config(), n_bands=N_MELS, random_state=0
        )
    rows, features = [], {}
    for name, extractor in extractors.items():
        clips = X[: args.n_base] if name == "Wav2Vec (base size)" else X
        labels = {} if name == "LogMel" else {"section": section[: len(clips)]}
        _, fit_time = timed(extractor.fit, clips, **labels)
        output, time_ = timed(extractor.transform, clips)
        if len(clips) == len(X):
            features[name] = output
        rows.append((name, len(clips) / time_, fit_time, output.shape[1:]))
        emit("features", f"{name} extraction", len(clips) / time_, "clips/s", "10-s clips")
    print(f"{'feature':<22}{'extraction clips/s':>20}{'fit s':>10}  shape per clip")
    for name, rate, fit_time, shape in rows:
        print(f"{name:<22}{rate:>20.1f}{fit_time:>10.1f}  {shape}")

    stacks = {
        "L (1 channel)": ["LogMel"],
        "L+T (2 channels)": ["LogMel", "Tgram"],
        "L+T+P (3 channels)": ["LogMel", "Tgram", "Wav2Vec (tiny)"],
    }
    print(
        f"\ntraining throughput of {args.network} (make_id_embedder, CPU-sized), "
        f"{args.epochs} epochs on 64-frame crops, batches of 32"
    )
    print(f"{'features':<22}{'loss':<24}{'training clips/s':>18}")
    for stack, names in stacks.items():
        stacked = np.concatenate([features[name] for name in names], axis=1)
        for loss in ("ce", "ce+triplet+attribute"):
            embedder = make_id_embedder(
                network=args.network, loss=loss, max_epochs=args.epochs
            ).set_params(random_state=0)
            embedder.fit(stacked, section=section, attributes=attributes)
            epoch_time = np.array(embedder.net_.history[:, "dur"])
            rate = len(stacked) / epoch_time.mean()
            print(f"{stack:<22}{loss:<24}{rate:>18.1f}")
            emit("training", f"{args.network} training on {stack}, {loss}", rate, "clips/s")
    print(load())


if __name__ == "__main__":
    main()
