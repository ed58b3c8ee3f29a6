"""Anomaly detectors on audio clips, and fitting a whole dataset machine type by machine type.

:class:`IDClassifierDetector` trains a network to tell sections apart and scores
clips by the network's confidence or by their embeddings;
:class:`OutlierClassifierDetector` and :class:`CentroidBCEDetector` train networks
against the other sections' clips; :func:`fit_score_by_machine_type` fits any
detector or Pipeline per machine type of a DCASE dataset and returns the scores for
the official DCASE score. :func:`make_paper_detector` configures a detector as in the paper
behind it.
"""

from sklasd.detectors._autoencoder import AutoencoderDetector
from sklasd.detectors._by_machine_type import fit_score_by_machine_type
from sklasd.detectors._centroid_bce import CentroidBCEDetector
from sklasd.detectors._id_classifier import IDClassifierDetector, make_id_embedder
from sklasd.detectors._outlier_classifier import OutlierClassifierDetector
from sklasd.detectors._paper import PAPER_PRESETS, make_paper_detector
from sklasd.detectors._rcmae import (
    RCMAEDetector,
    RCMAEPretrainer,
    make_rcmae_finetune_net,
    make_rcmae_net,
)
from sklasd.detectors._sound_event import SoundEventDetector

__all__ = [
    "PAPER_PRESETS",
    "AutoencoderDetector",
    "CentroidBCEDetector",
    "IDClassifierDetector",
    "OutlierClassifierDetector",
    "RCMAEDetector",
    "RCMAEPretrainer",
    "SoundEventDetector",
    "fit_score_by_machine_type",
    "make_id_embedder",
    "make_paper_detector",
    "make_rcmae_finetune_net",
    "make_rcmae_net",
]
