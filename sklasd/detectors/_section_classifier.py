"""The section-classifier detectors' one shape: features -> embedder -> scorer step.

IDClassifierDetector, SoundEventDetector and RCMAEDetector are configurations of
:class:`_SectionClassifierDetector`: a feature step (``features_``), a network trained
to tell sections apart (``embedder_``, a :class:`~sklasd.embedders.NetEmbedder`) and a
scorer step of :mod:`sklasd.scoring` (``scorer_``) on its embeddings, or, for the
confidence rule, on its class probabilities (:class:`~sklasd.scoring.ConfidenceScorer`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import _num_samples

from sklasd.base import BaseDetector
from sklasd.detectors._groups import _MachineTypeGroupsMixin, _pairs
from sklasd.embedders import NetEmbedder
from sklasd.features import LogMel
from sklasd.scoring import (
    ConfidenceScorer,
    CosineScorer,
    KNNScorer,
    MahalanobisScorer,
    OneClassSVMScorer,
)
from sklasd.training import check_input, make_feature_step
from sklasd.utils import check_metadata_array

#: The named score rules of the section classifiers: scorer steps of sklasd.scoring.
SCORE_RULES = {
    "confidence": ConfidenceScorer,
    "cosine": CosineScorer,
    "knn": KNNScorer,
    "mahalanobis": MahalanobisScorer,
    "ocsvm": OneClassSVMScorer,
}


class _SectionClassifierDetector(_MachineTypeGroupsMixin, BaseDetector):
    """Features, a network trained to tell sections apart, and a scorer step.

    ``_fit`` computes the features (``features_``), trains the network
    (``embedder_``) on the normal clips' classes, records which classes belong to
    which group (``class_groups_``) and fits the scorer step (``scorer_``) on the
    training clips' embeddings, or on their crop probabilities for a
    :class:`~sklasd.scoring.ConfidenceScorer`; the thresholds are the scorer step's.

    Subclasses implement ``_make_embedder()`` (the unfitted
    :class:`~sklasd.embedders.NetEmbedder`, with the detector's ``random_state``
    and ``device``) and ``_make_scorer()`` (the unfitted scorer step), and have
    the parameters ``features``, ``target``, ``random_state`` and ``device``; or
    override ``_fit_network`` (RC-MAE: features and embedder from a pretrainer).
    """

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        return check_input(X, features=self.features)

    def _with_seed_and_device(self, embedder: NetEmbedder) -> NetEmbedder:
        """``embedder`` with the detector's ``random_state`` and ``device`` where set."""
        for name in ("random_state", "device"):
            if getattr(self, name) is not None:
                embedder.set_params(**{name: getattr(self, name)})
        return embedder

    def _score_rule(self, rule: Any) -> BaseDetector:
        """The unfitted scorer step of a named rule or of a scorer step instance (cloned)."""
        return SCORE_RULES[rule]() if isinstance(rule, str) else clone(rule)

    def _fit_network(self, X, y, *, section, machine_type=None, domain=None, attributes=None):
        """Fit ``features_`` and ``embedder_``; return the features and the class labels."""
        n_samples = _num_samples(X)
        given = {
            "section": section,
            "machine_type": machine_type,
            "domain": domain,
            "attributes": attributes,
        }
        given = {name: value for name, value in given.items() if value is not None}
        if attributes is not None:
            attributes = check_metadata_array(attributes, n_samples, name="attributes")
            if machine_type is not None:
                attributes = _pairs(np.asarray(machine_type), attributes)
        embedder = self._make_embedder()
        target = self.target
        if target == "auto":
            net = embedder.net
            multi_task = net is not None and net.multi_task
            target = "section" if attributes is None or multi_task else "section_attributes"
        if target == "section":
            self._check_two_groups(
                section,
                y,
                "trains a network to tell sections apart (give attributes to train on "
                "attribute classes instead)",
            )
        self.features_ = make_feature_step(self.features, LogMel())
        # Metadata the features request in fit (a Tgram learns the sections).
        requested = get_routing_for_object(self.features_).consumes("fit", list(given))
        features = self.features_.fit_transform(X, y, **{name: given[name] for name in requested})
        # The scorer step chooses between embeddings and crop probabilities.
        self.embedder_ = embedder.set_params(target=target, output="embedding")
        labels = {"section": section, "attributes": attributes}
        self.embedder_.fit(features, y, **labels)
        return features, labels

    def _fit(self, X, y, *, section, domain=None, **metadata):
        self._warn_if_few_clips(section, y)
        features, labels = self._fit_network(X, y, section=section, domain=domain, **metadata)
        self.classes_ = self.embedder_.classes_
        group = self._section_indices(section, len(features))
        normal = slice(None) if y is None else y == 0
        self.class_groups_ = np.zeros((group.max() + 1, len(self.classes_)), dtype=bool)
        known = {name: None if value is None else value[normal] for name, value in labels.items()}
        self.class_groups_[group[normal], self.embedder_.class_index(**known)] = True

        self.scorer_ = self._make_scorer().set_params(
            contamination=self.contamination, gamma_quantile=self.gamma_quantile
        )
        if isinstance(self.scorer_, ConfidenceScorer):
            self.scorer_.set_params(class_groups=self.class_groups_)
        offered = {} if domain is None else {"domain": domain}
        consumed = get_routing_for_object(self.scorer_).consumes("fit", list(offered))
        # This fit skips nested validation (BaseDetector.fit): validate the scorer's.
        with sklearn.config_context(skip_parameter_validation=False):
            self.scorer_.fit(
                self._scorer_input(features),
                y,
                section=section,
                **{name: offered[name] for name in consumed},
            )
        # Its training scores, leave-one-out where it computes them (neighbours).
        return self.scorer_.training_decision_ + self.scorer_.offset_[group]

    def _fit_offsets(self, scores, indices, normal) -> np.ndarray:
        """The scorer step's thresholds: the same rule on the same scores, fitted once."""
        return self.scorer_.offset_

    def _scorer_input(self, features: np.ndarray) -> np.ndarray:
        """What the scorer step scores: crop probabilities for the confidence, else embeddings."""
        if isinstance(self.scorer_, ConfidenceScorer):
            return self.embedder_.predict_crop_proba(features)
        return self.embedder_.transform(features)

    def _score_samples(self, X, *, section):
        features = self.features_.transform(X)
        return self.scorer_.score_samples(self._scorer_input(features), section=section)
