"""Ready-made pipelines: the reference systems that every detector is measured against."""

from __future__ import annotations

from sklearn.pipeline import Pipeline, make_pipeline

from sklasd.features import LogMel, TimePooling
from sklasd.scoring import KNNScorer

__all__ = ["make_baseline_pipeline"]


def make_baseline_pipeline(
    *, n_neighbors: int = 1, domain_banks: bool = False, n_jobs: int | None = None
) -> Pipeline:
    """The standardised pooled log-mel + nearest-neighbour baseline.

    ``LogMel -> TimePooling(stats=("mean", "std")) -> KNNScorer(standardize=True)``:
    each clip becomes the mean and standard deviation over time of each of its 128
    log-mel bands; the 256 features are standardised with each section's training
    statistics, and a clip's anomaly score is its Euclidean distance to the nearest
    normal training clip of its section. Ten lines, no training, and on real
    machine sound a strong yardstick: a detector that does not beat it does not
    earn its compute.

    Parameters
    ----------
    n_neighbors : int, default=1
        Nearest training clips whose mean distance is the anomaly score.
    domain_banks : bool, default=False
        Separate source and target memory banks (see
        :class:`~sklasd.scoring.KNNScorer`); needs ``domain`` in ``fit``.
    n_jobs : int or None, default=None
        Parallel audio decoding of :class:`~sklasd.features.LogMel`.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The unfitted pipeline; fit it with ``section=`` (and ``domain=``) as
        metadata, with routing switched on.

    See Also
    --------
    sklasd.detectors.AutoencoderDetector : The DCASE challenge autoencoder baseline.

    Examples
    --------
    >>> import sklearn
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.pipelines import make_baseline_pipeline
    >>> X, meta = make_machine_sounds(machine_types=["fan"], n_sections=2, n_train=6,
    ...                               n_test=4, duration=1.0, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> section = meta["section"].to_numpy()
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     pipe = make_baseline_pipeline().fit(X[train], section=section[train])
    ...     anomaly_score = -pipe.decision_function(X[~train], section=section[~train])
    >>> anomaly_score.shape
    (16,)
    """
    return make_pipeline(
        LogMel(n_jobs=n_jobs),
        TimePooling(stats=("mean", "std")),
        KNNScorer(n_neighbors=n_neighbors, standardize=True, domain_banks=domain_banks),
    )
