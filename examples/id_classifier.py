"""Section classification for anomaly detection: IDClassifierDetector machine type by machine type.
=====================================================================================================

The classification approach of the best DCASE systems, on synthetic machine sounds with
sections and source/target domains:

1. ``fit_score_by_machine_type`` fits one ``IDClassifierDetector`` per machine type (a
   network trained to tell that type's sections apart, on normal clips only) and scores
   the type's test clips, once with the network's confidence in the clip's own section
   and once with the cosine distance of the clip's embedding to its section's training
   embeddings; the spine's ``LogMel + TimePooling + KNNScorer`` pipeline runs beside them;
2. the official DCASE 2022 score of each;
3. data with a single section per machine type (DCASE 2023 onwards): one detector over
   all machine types, whose classes are the (machine type, section) pairs;
4. a fitted detector saved with joblib and reloaded gives identical scores.

Run ``python examples/id_classifier.py`` (``--fast`` for a tiny network on short clips).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.pipeline import make_pipeline

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import IDClassifierDetector, fit_score_by_machine_type
from sklasd.embedders import NetEmbedder
from sklasd.features import LogMel, TimePooling
from sklasd.metrics import official_score
from sklasd.nn import MobileNetV3IDNet
from sklasd.scoring import KNNScorer
from sklasd.training import ClassifierNet
from sklasd.utils import load_model


def make_detector(score_rule: str, *, fast: bool) -> IDClassifierDetector:
    """The default detector, or (fast) a tiny network on 32 mel bands and 16-frame crops."""
    if not fast:
        return IDClassifierDetector(score_rule=score_rule, random_state=0)
    # Small batches give the batch normalisation statistics enough steps to settle.
    net = ClassifierNet(
        MobileNetV3IDNet,
        module__width_mult=0.25,
        module__depth_mult=0.5,
        max_epochs=15,
        batch_size=8,
    )
    return IDClassifierDetector(
        features=LogMel(n_mels=32),
        embedder=NetEmbedder(net=net, n_frames=16),
        score_rule=score_rule,
        random_state=0,
    )


def official(scores) -> float:
    """Official DCASE 2022 score of a fit_score_by_machine_type result."""
    return official_score(
        scores["label"].astype(int),
        scores["anomaly_score"],
        year=2022,
        **{name: scores[name] for name in ("machine_type", "section", "domain")},
    )


def main(*, fast: bool = False, workdir: str | Path | None = None) -> dict:
    """Run the example; returns what it printed, for the test suite.

    Parameters
    ----------
    fast : bool, default=False
        A tiny network trained for a few epochs on short clips.
    workdir : str or Path, default=None
        Folder for the saved model (a temporary folder when None).

    Returns
    -------
    results : dict
        ``official`` (official score per method), ``joint_sections`` (the groups of the
        detector over all machine types), ``joint_scores``, ``scores`` and
        ``reloaded_scores`` (of the saved detector).
    """
    machine_types = ["fan", "valve"] if fast else ["fan", "pump", "valve"]
    X, frame = make_machine_sounds(
        machine_types=machine_types,
        n_sections=3,
        n_train=12 if fast else 60,
        n_train_target=2 if fast else 6,
        n_test=6 if fast else 20,
        duration=1.0 if fast else 4.0,
        random_state=0,
    )
    methods = {
        "IDClassifier, confidence": make_detector("confidence", fast=fast),
        "IDClassifier, cosine": make_detector("cosine", fast=fast),
        "LogMel + TimePooling + kNN": make_pipeline(LogMel(), TimePooling(), KNNScorer()),
    }
    results, fitted = {"official": {}}, {}
    for name, estimator in methods.items():
        scores, fitted[name] = fit_score_by_machine_type(
            estimator, frame, X=X, return_estimators=True
        )
        results["official"][name] = official(scores)
        print(f"{name:<28} official DCASE 2022 score: {results['official'][name]:.4f}")

    # One section per machine type: the sections alone give a single class per type, so
    # one detector learns the (machine type, section) pairs of all types together.
    X1, single = make_machine_sounds(
        machine_types=machine_types,
        n_sections=1,
        n_train=12 if fast else 60,
        n_train_target=2 if fast else 6,
        n_test=6 if fast else 20,
        duration=1.0 if fast else 4.0,
        random_state=1,
    )
    train = (single["split"] == "train").to_numpy()
    meta = {name: single[name].to_numpy() for name in ("section", "machine_type")}
    joint = make_detector("cosine", fast=fast).fit(
        X1[train], **{name: values[train] for name, values in meta.items()}
    )
    test = ~train
    joint_scores = -joint.decision_function(
        X1[test], **{name: values[test] for name, values in meta.items()}
    )
    print(f"one model over all types: groups {joint.sections_.tolist()}")
    score = official_score(
        single["label"][test].astype(int),
        joint_scores,
        year=2023,
        machine_type=meta["machine_type"][test],
        section=meta["section"][test],
        domain=single["domain"][test],
    )
    print(f"  official DCASE 2023 score: {score:.4f}")
    results.update(joint_sections=joint.sections_.tolist(), joint_scores=joint_scores)

    # The cosine detector of the first machine type, saved and reloaded.
    workdir = Path(workdir or tempfile.mkdtemp(prefix="sklasd_example_"))
    detector = fitted["IDClassifier, cosine"][machine_types[0]]
    rows = ((frame["machine_type"] == machine_types[0]) & (frame["split"] == "test")).to_numpy()
    section = frame["section"].to_numpy()[rows]
    results["scores"] = -detector.decision_function(X[rows], section=section)
    joblib.dump(detector, workdir / "id_classifier.joblib")
    reloaded = load_model(workdir / "id_classifier.joblib")
    results["reloaded_scores"] = -reloaded.decision_function(X[rows], section=section)
    same = np.array_equal(results["scores"], results["reloaded_scores"])
    print(f"reloaded detector gives identical scores: {same}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny network, short clips")
    main(fast=parser.parse_args().fast)
