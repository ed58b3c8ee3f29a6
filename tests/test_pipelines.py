"""The ready-made baseline pipeline."""

import numpy as np
import sklearn

from sklasd.datasets import make_machine_sounds
from sklasd.features import LogMel, TimePooling
from sklasd.pipelines import make_baseline_pipeline
from sklasd.scoring import KNNScorer


def test_baseline_pipeline_is_standardised_mean_std_one_nearest_neighbour():
    pipe = make_baseline_pipeline()
    logmel, pooling, knn = (step for _, step in pipe.steps)
    assert isinstance(logmel, LogMel) and isinstance(pooling, TimePooling)
    assert tuple(pooling.stats) == ("mean", "std")
    assert isinstance(knn, KNNScorer) and knn.standardize and knn.n_neighbors == 1


def test_baseline_pipeline_detects_obvious_anomalies():
    X, meta = make_machine_sounds(
        machine_types=["valve"], n_sections=2, n_train=10, n_test=8, duration=1.0,
        anomaly_kinds=["leak"], severity=4.0, domain_shift=False, random_state=0,
    )  # fmt: skip
    train = (meta["split"] == "train").to_numpy()
    section, y = meta["section"].to_numpy(), meta["label"].to_numpy(dtype=int)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_baseline_pipeline().fit(X[train], section=section[train])
        anomaly_score = -pipe.decision_function(X[~train], section=section[~train])
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[~train], anomaly_score) > 0.9
    assert np.isfinite(anomaly_score).all()
