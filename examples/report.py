"""Looking at a detector: ROC curves, score histograms, embedding maps and an HTML report.
=========================================================================================

The figures of the DCASE papers for any fitted detector, in scikit-learn's Display style:

1. a ``LogMel -> TimePooling -> KNNScorer`` pipeline is fitted per machine type on synthetic
   machine sounds and scores their test clips
   (:func:`~sklasd.detectors.fit_score_by_machine_type`);
2. :class:`~sklasd.inspection.ASDRocCurveDisplay` draws one machine type's ROC curves per
   section and domain under the DCASE 2022+ rules (the curves behind ``dcase_report``), with
   the pAUC region shaded;
3. :class:`~sklasd.inspection.ScoreDistributionDisplay` shows how the anomaly scores of normal
   and anomalous clips spread in each section, and where the decision threshold cuts them;
4. :class:`~sklasd.inspection.EmbeddingDisplay` maps the pooled log-mel features of the test
   clips to the plane with t-SNE, one colour per section;
5. :func:`~sklasd.inspection.write_run_report` writes all of it for every machine type into a
   folder with an ``index.html`` (open it in a browser).

``python -m sklasd`` writes the same report next to its challenge CSV files.

Run ``python examples/report.py`` (``--fast`` for a small run).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import sklearn
from sklearn.pipeline import make_pipeline

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import fit_score_by_machine_type
from sklasd.features import LogMel, TimePooling
from sklasd.inspection import (
    ASDRocCurveDisplay,
    EmbeddingDisplay,
    ScoreDistributionDisplay,
    write_run_report,
)
from sklasd.scoring import KNNScorer


def main(*, fast: bool = False, workdir: str | Path | None = None) -> dict:
    """Run the example; returns the displays and the report's page, for the test suite.

    Parameters
    ----------
    fast : bool, default=False
        Two machine types, fewer and shorter clips.
    workdir : str or Path, default=None
        Folder of the report (a temporary folder when None).

    Returns
    -------
    results : dict
        ``roc``, ``scores`` and ``embedding`` (the displays of the fan), ``index`` (the
        report's ``index.html``), ``scored`` (the scored test clips) and ``fan_clips``.
    """
    X, meta = make_machine_sounds(
        machine_types=["fan", "valve"] if fast else ["fan", "pump", "slider", "valve"],
        n_sections=3,
        n_train=8 if fast else 30,
        n_test=6 if fast else 10,
        duration=1.0 if fast else 2.0,
        random_state=0,
    )
    pipe = make_pipeline(LogMel(n_mels=32 if fast else 64), TimePooling(), KNNScorer())
    scored, models = fit_score_by_machine_type(pipe, meta, X=X, return_estimators=True)

    # The fan's test clips, and its fitted pipeline.
    fan = scored[scored["machine_type"] == "fan"]
    fan_clips = X[fan.index]
    y = fan["label"].to_numpy(dtype=int)
    section, domain = fan["section"].to_numpy(), fan["domain"].to_numpy()
    model = models["fan"]
    # The pipeline hands each clip's section to the scorer through metadata routing.
    with sklearn.config_context(enable_metadata_routing=True):
        roc = ASDRocCurveDisplay.from_estimator(
            model, fan_clips, y, section=section, domain=domain, name="fan"
        )
        scores = ScoreDistributionDisplay.from_estimator(
            model, fan_clips, y, section=section, domain=domain, name="fan"
        )
    # The features the scorer sees: all steps but the last.
    embedding = EmbeddingDisplay.from_estimator(
        model[:-1], fan_clips, section=section, y_true=y, name="fan: pooled log-mel (t-SNE)"
    )

    workdir = Path(workdir or tempfile.mkdtemp(prefix="sklasd_report_"))
    index = write_run_report(workdir, scored, models=models, X=X[scored.index])
    for line in roc.line_:
        print(f"{line.axes.get_title()}: {line.get_label()}")
    print(f"report written to {index}")
    return {
        "roc": roc,
        "scores": scores,
        "embedding": embedding,
        "index": index,
        "scored": scored,
        "fan_clips": fan_clips,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data")
    main(fast=parser.parse_args().fast)
    plt.show()
