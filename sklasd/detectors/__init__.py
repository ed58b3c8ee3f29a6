"""Anomaly detectors on audio clips, and fitting a whole dataset machine type by machine type.

:class:`IDClassifierDetector` trains a network to tell sections apart and scores
clips by the network's confidence or by their embeddings;
:class:`OutlierClassifierDetector` and :class:`CentroidBCEDetector` train networks
against the other sections' clips; :func:`fit_score_by_machine_type` fits any
detector or Pipeline per machine type of a DCASE dataset and returns the scores for
the official DCASE score. :func:`make_paper_detector` configures a detector as in the paper
behind it.

Names are imported on first use (``import sklasd.detectors`` does not load torch;
``from sklasd.detectors import IDClassifierDetector`` does).
"""

from sklasd.utils._lazy import lazy_exports

__all__ = [
    "PAPER_PRESETS",
    "AutoencoderDetector",
    "CentroidBCEDetector",
    "IDClassifierDetector",
    "OutlierClassifierDetector",
    "RCMAEDetector",
    "SoundEventDetector",
    "fit_score_by_machine_type",
    "make_centroid_net",
    "make_id_embedder",
    "make_outlier_net",
    "make_paper_detector",
    "make_rcmae_finetune_net",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AutoencoderDetector": "sklasd.detectors._autoencoder",
        "PAPER_PRESETS": "sklasd.detectors._paper",
        "make_paper_detector": "sklasd.detectors._paper",
        "CentroidBCEDetector": "sklasd.detectors._centroid_bce",
        "IDClassifierDetector": "sklasd.detectors._id_classifier",
        "OutlierClassifierDetector": "sklasd.detectors._outlier_classifier",
        "RCMAEDetector": "sklasd.detectors._rcmae",
        "SoundEventDetector": "sklasd.detectors._sound_event",
        "fit_score_by_machine_type": "sklasd.detectors._by_machine_type",
        "make_centroid_net": "sklasd.detectors._centroid_bce",
        "make_id_embedder": "sklasd.detectors._id_classifier",
        "make_outlier_net": "sklasd.detectors._outlier_classifier",
        "make_rcmae_finetune_net": "sklasd.detectors._rcmae",
    },
)
