"""A handful of known anomalies: semi-supervised training of CentroidBCEDetector.
=================================================================================

Anomalous sound detection trains on normal clips, but a machine in operation sometimes
breaks, and the recordings of those faults can be kept. The binary classifier of
Kuroyanagi et al. (EUSIPCO 2021) takes them in directly: each section's network learns
its normal clips (label 1) against the other sections' clips (outliers, label 0), and
known anomalies of the section join the outliers in every batch, in the proportion
normal : outlier : anomaly of ``batch_ratio`` (the paper: 32:31:1).

1. an unsupervised fit (``y`` = None: every training clip normal);
2. the same training data plus three known anomalies per section (``y == 1``);
3. the same, warm-started: each network first trains without the anomalies, then goes
   on with them (``warm_start=True``), as when a deployed model is updated;

and the test AUC of each, on test clips that none of them saw. The anomalies are of
one kind (bearing faults of fans), so those seen in training look like those tested.

Run ``python examples/known_anomalies.py`` (``--fast`` for a tiny network on 1 s clips).
"""

from __future__ import annotations

import argparse

import numpy as np

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import CentroidBCEDetector, make_centroid_net
from sklasd.features import LogMel
from sklasd.metrics import auc

N_KNOWN = 3  # known anomalies per section


def make_detector(*, fast: bool, **params) -> CentroidBCEDetector:
    """A CentroidBCEDetector on 32-frame segments; tiny and short-trained with ``fast``."""
    size = (
        {"module__width_mult": 0.0625, "module__embedding_dim": 16, "max_epochs": 10}
        if fast
        else {"max_epochs": 20}
    )
    return CentroidBCEDetector(
        features=LogMel(n_mels=32, hop_length=256),
        loss="bce",
        net=make_centroid_net(lr=3e-3, **size),
        n_frames=32,
        n_segments=4,
        batch_ratio=(4, 3, 1) if fast else (16, 15, 1),
        contamination=0.1,
        random_state=0,
        **params,
    )


def main(*, fast: bool = False) -> dict:
    """Run the example; returns the test AUC of each fit, for the test suite.

    Parameters
    ----------
    fast : bool, default=False
        A tiny network trained for a few epochs on 1 s clips.

    Returns
    -------
    results : dict
        ``auc``: test AUC of the fits "unsupervised", "known anomalies" and
        "known anomalies, warm start"; ``n_known``: the known anomalies used.
    """
    X, frame = make_machine_sounds(
        machine_types="fan",
        n_sections=2,
        n_train=12 if fast else 64,
        n_test=20 if fast else 40,
        duration=1.0 if fast else 2.0,
        severity=3.0,
        anomaly_kinds=["bearing"],
        domain_shift=False,
        random_state=0,
    )
    y = frame["label"].to_numpy(dtype=int)
    section = frame["section"].to_numpy()
    train = (frame["split"] == "train").to_numpy()
    # The first N_KNOWN test anomalies of each section become known; the rest is the test.
    known = np.zeros(len(y), dtype=bool)
    for s in np.unique(section):
        known[np.flatnonzero(~train & (y == 1) & (section == s))[:N_KNOWN]] = True
    test = ~train & ~known
    with_known = train | known

    fits = {
        "unsupervised": (make_detector(fast=fast), train, None),
        "known anomalies": (make_detector(fast=fast), with_known, y),
        "known anomalies, warm start": (
            make_detector(fast=fast, warm_start=True),
            with_known,
            y,
        ),
    }
    results = {"auc": {}, "n_known": int(known.sum())}
    print(f"{train.sum()} normal training clips, {known.sum()} known anomalies")
    for name, (detector, rows, labels) in fits.items():
        detector.fit(X[rows], None if labels is None else labels[rows], section=section[rows])
        score = -detector.decision_function(X[test], section=section[test])
        results["auc"][name] = auc(y[test], score)
        print(f"{name:<28} test AUC {results['auc'][name]:.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny network, 1 s clips")
    main(fast=parser.parse_args().fast)
