"""The ablation of Wang, Du and Wang (APSIPA ASC 2022) as one GridSearchCV grid.
================================================================================

Wang, Du and Wang raised a TDNN section classifier's DCASE 2022 Task 2 score by stacking three
features of the same F x T shape as channels (log-mel, a learned Tgram and wav2vec 2.0
features), by adding a batch-hard triplet loss and an auxiliary attribute classification to
the cross-entropy, and by scoring clips with the classifier's confidence (their Eq. 6,
``log((1 - p) / p)``) or with the embedding's cosine distance to its section's training clips
(their Eq. 7). Their Table I ablates features x losses x score rules; here that ablation is
one parameter grid of one ``GridSearchCV`` over a cached Pipeline
``features -> NetEmbedder -> scorer step``:

- features: ``StackFeatures([LogMel, Tgram, Wav2Vec])`` with the Tgram and wav2vec channels
  each kept or dropped (``features__tgram="drop"``);
- losses: ``embedder__net__triplet_weight`` and ``embedder__net__attribute_weight`` in {0, 1};
- score rules: :class:`~sklasd.scoring.ConfidenceScorer` (Eq. 6) on the network's class
  probabilities of every crop (``embedder__output="crop_proba"``) or
  :class:`~sklasd.scoring.CosineScorer` (Eq. 7) on its embeddings;
- and two seeds of the classifier's training (``embedder__random_state``), whose spread
  shows how much of a difference is noise on data this small,

with the TDNN section classifier of :class:`~sklasd.detectors.IDClassifierDetector`
(:func:`~sklasd.detectors.make_id_embedder`), on synthetic DCASE 2022-style clips (three
sections of a fan, source and target domains, attribute labels), fitted on the training clips
and scored on the test clips (``DCASESplit``) with the official DCASE 2022 score. Metadata
routing hands each clip's section, domain and attributes to the steps (the Tgram learns the
sections, the attribute heads the attributes) and the section and domain to the scorer
step. The Pipeline's ``memory`` caches every fitted feature step, so the Tgram and wav2vec
features are computed once per feature set, not once per grid point; the embedder's own
``memory`` caches its trained network apart from its ``output``, so a network is trained once
per feature set, loss and seed, and both score rules read it (the confidence its class
probabilities, the cosine its embeddings).

The networks are CPU-sized and the wav2vec 2.0 model is a tiny randomly initialised one (no
weights can be downloaded here): the table shows how the pieces combine, not the paper's
numbers. With ``facebook/wav2vec2-base`` (see :class:`sklasd.embedders.Wav2Vec`) and the full
TDNN the same grid runs the paper's ablation.

Run ``python examples/ablation_wang2022.py`` (``--fast`` for a small run).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile

import pandas as pd
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from transformers import Wav2Vec2Config

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import make_id_embedder
from sklasd.embedders import Tgram, Wav2Vec
from sklasd.features import LogMel, StackFeatures
from sklasd.metrics import get_asd_scorer
from sklasd.model_selection import DCASESplit
from sklasd.scoring import ConfidenceScorer, CosineScorer

N_BANDS = 32  # F of every feature channel

#: A tiny randomly initialised wav2vec 2.0 model (hidden size 32, 2 layers, 20 ms frames).
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


def _label(params: dict) -> tuple[str, str, str]:
    """(features, loss, score rule) of a grid point, in the paper's terms."""
    features = "L" + "".join(
        letter
        for name, letter in (("features__tgram", "+T"), ("features__wav2vec", "+P"))
        if not isinstance(params[name], str)
    )
    loss = "CE" + "".join(
        term
        for name, term in (
            ("embedder__net__triplet_weight", "+triplet"),
            ("embedder__net__attribute_weight", "+attribute"),
        )
        if params[name] > 0
    )
    rule = "Eq. 6 confidence" if isinstance(params["scorer"], ConfidenceScorer) else "Eq. 7 cosine"
    return features, loss, rule


def main(*, fast: bool = False) -> dict:
    """Run the example; returns what it printed, for the test suite.

    Parameters
    ----------
    fast : bool, default=False
        Fewer and shorter clips, fewer epochs, and a grid of two points (the baseline and the
        full system, one seed) instead of the 64 of the ablation (32 points x 2 seeds).

    Returns
    -------
    results : dict
        ``cv_results`` (GridSearchCV's) and ``table``, a DataFrame of the official score,
        AUC and pAUC of every grid point indexed by (features, loss, scoring), averaged over
        the seeds, with the standard deviation of the official score (``official_sd``).
    """
    X, meta = make_machine_sounds(
        machine_types=["fan"],
        n_sections=3,
        n_train=8 if fast else 30,
        n_train_target=2 if fast else 3,
        n_test=4 if fast else 12,
        duration=1.0 if fast else 2.0,
        severity=2.0,
        random_state=0,
    )
    y = meta["label"].to_numpy(dtype=int)
    n_frames = 16 if fast else 32  # training crops of 0.5 s or 1 s (hop 512 at 16 kHz)
    metadata = {name: meta[name].to_numpy() for name in ("section", "domain", "attributes")}

    tgram = Tgram(
        n_mels=N_BANDS, n_blocks=1, n_frames=n_frames, max_epochs=2 if fast else 5, random_state=0
    )
    wav2vec = Wav2Vec(model=TINY_WAV2VEC, layer=1, n_bands=N_BANDS, random_state=0)
    features = StackFeatures(
        transformer_list=[
            ("logmel", LogMel(n_mels=N_BANDS)),
            ("tgram", tgram),
            ("wav2vec", wav2vec),
        ]
    )
    embedder = make_id_embedder(
        network="tdnn",
        loss="ce",
        module__width_mult=0.1,
        module__embedding_dim=32,
        max_epochs=4 if fast else 20,
        batch_size=16,
        n_clips_per_class=4,
    )
    # The Pipeline's cache keeps every fitted feature step; the embedder's keeps its
    # trained network whatever its output, so a grid point that differs only in the
    # score rule reuses both, and each network trains once per feature set, loss and seed.
    cache = tempfile.TemporaryDirectory()
    embedder.set_params(
        n_frames=n_frames, random_state=0, output="crop_proba", memory=f"{cache.name}/nets"
    )
    pipe = Pipeline(
        [("features", features), ("embedder", embedder), ("scorer", ConfidenceScorer())],
        memory=f"{cache.name}/steps",
    )

    # Table I of the paper: features x losses x score rules, one grid. The confidence
    # scores the network's class probabilities of every crop, the cosine its embeddings.
    # The cross-entropy alone learns (section, attribute) classes; with the triplet or
    # attribute term the sections, the attributes training the auxiliary heads.
    grid = [
        {
            "features__tgram": ["drop", tgram],
            "features__wav2vec": ["drop", wav2vec],
            "embedder__net__triplet_weight": [triplet],
            "embedder__net__attribute_weight": [attribute],
            "embedder__target": ["section" if triplet or attribute else "section_attributes"],
            "embedder__output": [output],
            "scorer": [scorer],
            # seeds of the classifier's training, to show how much of a difference is noise
            "embedder__random_state": [0, 1],
        }
        for triplet, attribute in itertools.product([0.0, 1.0], repeat=2)
        for output, scorer in (("crop_proba", ConfidenceScorer()), ("embedding", CosineScorer()))
    ]
    if fast:  # the baseline (confidence) and the full system (cosine) only, one seed
        baseline = {name: values[:1] for name, values in grid[0].items()}
        full = {name: values[-1:] for name, values in grid[-1].items()}
        grid = [{**point, "embedder__random_state": [0]} for point in (baseline, full)]

    scorers = {name: get_asd_scorer(key) for name, key in
               (("official", "dcase2022"), ("auc", "auc"), ("pauc", "pauc"))}  # fmt: skip
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe,
            grid,
            scoring=scorers,
            refit=False,
            cv=DCASESplit(meta["split"].to_numpy()),
            error_score="raise",
        )
        search.fit(X, y, **metadata)
    cache.cleanup()

    cv = search.cv_results_
    scores = pd.DataFrame(
        {name: cv[f"mean_test_{name}"] for name in scorers},
        index=pd.MultiIndex.from_tuples(
            [_label(params) for params in cv["params"]], names=["features", "loss", "score rule"]
        ),
    )
    by_point = scores.groupby(level=[0, 1, 2])
    table = by_point.mean().assign(official_sd=by_point["official"].std(ddof=0))
    n_seeds = len(scores) // len(table)
    print("Ablation on synthetic DCASE 2022-style fan clips (train split -> test split)")
    print("features: L log-mel, T Tgram, P wav2vec 2.0 (tiny random model)")
    print(f"mean over {n_seeds} training seed(s); official_sd: their standard deviation")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print("official DCASE 2022 score by score rule (rows: features, loss):")
    print(table["official"].unstack("score rule").to_string(float_format=lambda v: f"{v:.4f}"))
    best = table["official"].idxmax()
    print(f"best: {best} with an official score of {table['official'].max():.4f}")
    return {"cv_results": cv, "table": table}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and grid")
    main(fast=parser.parse_args().fast)
