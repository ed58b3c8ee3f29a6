"""A network detector fitted from the command line, and scored with `sklasd score`."""

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn

from sklasd.cli import main
from sklasd.datasets import make_machine_sounds, write_dcase_folder

torch = pytest.importorskip("torch")

TINY = [
    "features=LogMel(n_mels=32)",
    "embedder=NetEmbedder(net=ClassifierNet(module=MobileNetV3IDNet, module__width_mult=0.25, "
    "module__depth_mult=0.5, max_epochs=2, batch_size=16), n_frames=16)",
    "random_state=0",
    "device=cpu",
]


def test_fit_and_score_an_id_classifier(tmp_path, capfd):
    X, frame = make_machine_sounds(
        machine_types=["fan"], n_sections=2, n_train=6, n_test=3, duration=1.0, random_state=0
    )
    write_dcase_folder(tmp_path / "data", X, frame)
    model, out = tmp_path / "model.joblib", tmp_path / "scores.csv"
    argv = ["fit", str(tmp_path / "data"), "--model", str(model), "--detector", "idclassifier"]
    assert main([*argv, "--set", *TINY]) == 0
    printed, err = capfd.readouterr()
    assert "100%|" in err  # the bars over the clips and the batches
    assert "fan: fitting on" in printed
    assert "epoch" in printed and "train_loss" in printed  # the epoch table: progress on
    saved = joblib.load(model)
    detector = saved["models"]["fan"]
    assert type(detector).__name__ == "IDClassifierDetector"
    assert len(detector.embedder_.net_.history) == 2 and detector.features.n_mels == 32
    switches = {k: v for k, v in detector.get_params().items() if k.endswith("verbose")}
    assert switches and not any(switches.values())  # saved quiet
    test = tmp_path / "data" / "fan" / "test"
    assert main(["score", str(model), str(test), "--output", str(out), "--quiet"]) == 0
    scores = pd.read_csv(out)
    assert len(scores) == len(list(test.glob("*.wav")))
    with sklearn.config_context(enable_metadata_routing=True):
        expected = -detector.decision_function(
            scores["path"].to_numpy(), section=scores["section"].to_numpy()
        )
    np.testing.assert_allclose(scores["anomaly_score"], expected, rtol=1e-5, atol=1e-7)
