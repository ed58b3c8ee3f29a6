"""RC-MAE: self-supervised pre-training of a ViT (masked autoencoder, contrastive, VCR),
then supervised-contrastive fine-tuning on sections (Zahedi et al., Algorithms 2023)."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from sklasd.base import BaseDetector
from sklasd.detectors._section_classifier import _SectionClassifierDetector
from sklasd.embedders import NetEmbedder, RCMAEPretrainer
from sklasd.nn import SupConCELoss, ViTClassifier
from sklasd.scoring import ConfidenceScorer
from sklasd.training import ClassifierNet, InitEncoder, check_input
from sklasd.utils import spawn_seeds
from sklasd.utils._docstrings import fill_doc

__all__ = ["RCMAEDetector", "make_rcmae_finetune_net"]


def make_rcmae_finetune_net(**params: Any) -> ClassifierNet:
    """The default fine-tuning net of :class:`RCMAEDetector`, to adjust and pass on.

    ``ClassifierNet(ViTClassifier, criterion=SupConCELoss, optimizer=AdamW,
    lr=1e-4, max_epochs=20, **params)``: the pre-trained encoder with a
    projection head (512-d) and a linear section classifier, trained with the
    supervised contrastive loss plus cross-entropy (``criterion__supcon_weight``,
    ``criterion__ce_weight``). The encoder's shape parameters
    (``module__embed_dim``, ``module__depth``...) are set from the pre-trained
    encoder by :class:`RCMAEDetector`.

    Parameters
    ----------
    **params : dict
        :class:`~sklasd.training.ClassifierNet` parameters overriding the above.

    Returns
    -------
    net : ClassifierNet
        An unfitted net.

    See Also
    --------
    make_rcmae_net : The pre-training net.

    Examples
    --------
    >>> from sklasd.detectors import make_rcmae_finetune_net
    >>> net = make_rcmae_finetune_net(max_epochs=5, criterion__supcon_weight=0.5)
    >>> net.criterion.__name__, net.max_epochs
    ('SupConCELoss', 5)
    """
    defaults = {
        "criterion": SupConCELoss,
        "optimizer": torch.optim.AdamW,
        "lr": 1e-4,
        "max_epochs": 20,
    }
    return ClassifierNet(ViTClassifier, **{**defaults, **params})


@fill_doc
class RCMAEDetector(_SectionClassifierDetector):
    """RC-MAE: a pre-trained ViT fine-tuned to tell sections apart; scores -log p(section).

    The method of Zahedi et al. (Algorithms 16(9), 2023; DCASE 2020
    development set AUC 94.39, pAUC 87.93): stage 1 pre-trains a ViT encoder
    self-supervised (:class:`RCMAEPretrainer`: masked autoencoder, InfoNCE and
    variance-covariance regularisation); stage 2 fine-tunes a copy of it, with a
    projection head and a linear classifier, to tell the sections (machine IDs)
    apart with a supervised contrastive loss plus cross-entropy
    (:class:`~sklasd.nn.SupConCELoss`). The anomaly score of a clip is
    ``-log p(own section)``, the mean over its crops; ``score_samples`` is
    ``log p``.

    **Pre-training.** ``pretrained`` is an unfitted :class:`RCMAEPretrainer`,
    pre-trained in ``fit`` on the training clips (None: the default one), or a
    fitted one wrapped in :class:`sklearn.frozen.FrozenEstimator`, used as it
    is: several detectors share it, also across the candidates and folds of a
    grid search, without pre-training again (scikit-learn's ``clone`` returns
    a FrozenEstimator itself). The features are the pretrainer's, crops have its
    ``n_frames``, and the fine-tuned network its encoder's shape and weights.

    **Groups.** Classes are the sections, or, when ``machine_type`` is given
    in ``fit``, the (machine type, section) pairs (one model over several
    machine types, for data with one section per type, as in DCASE 2023);
    thresholds are kept per group. At least two groups are needed.

    Clips labelled anomalous (``y == 1``) are left out of both stages.

    Parameters
    ----------
    pretrained : RCMAEPretrainer, FrozenEstimator or None, default=None
        Stage 1; see above.
    net : ClassifierNet or None, default=None
        Unfitted fine-tuning net on :class:`~sklasd.nn.ViTClassifier` (cloned);
        None means :func:`make_rcmae_finetune_net`. Its module's encoder
        parameters are replaced by the pre-trained encoder's.
    inference_hop : int or None, default=None
        Frames between the starts of the crops of a clip at scoring; None
        means the crop length.
    %(contamination)s
    random_state : int, RandomState instance or None, default=None
        Seeds the fine-tuning and, when not None, replaces the random state of
        an unfitted ``pretrained``. An int makes fits repeatable.
    device : str or None, default=None
        Torch device of both stages ("cpu", "cuda"), replacing the nets' when not
        None (a frozen pretrainer stays where it is).

    Attributes
    ----------
    pretrained_ : RCMAEPretrainer
        The fitted pretrainer (the frozen one's estimator when given frozen).
    features_ : transformer
        The pretrainer's fitted feature step (``pretrained_.features_``).
    embedder_ : NetEmbedder
        The fine-tuned network (``embedder_.net_.history``: its history).
    scorer_ : ConfidenceScorer
        The score rule: ``ConfidenceScorer(rule="log_proba")`` on the crops'
        class probabilities; its thresholds are the detector's.
    classes_ : ndarray of shape (n_classes,)
        The classes of the network: the groups of the normal training clips.
    class_groups_ : ndarray of shape (n_sections, n_classes) of bool
        Whether a class is a group's (a row of ``sections_``).
    machine_types_ : ndarray of shape (n_machine_types,) or None
        Machine types seen in ``fit``; None when fitted without ``machine_type``.
    sections_ : ndarray of shape (n_sections,)
        Groups seen in ``fit``: sections, or (machine type, section) tuples.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each group in ``score_samples`` units.

    See Also
    --------
    RCMAEPretrainer : Stage 1, reusable.
    IDClassifierDetector : Section classification with CNNs.

    Examples
    --------
    Pre-train once, then fine-tune two detectors on the frozen encoder:

    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import RCMAEDetector, make_rcmae_finetune_net
    >>> from sklasd.embedders import RCMAEPretrainer, make_rcmae_net
    >>> from sklasd.features import LogMel
    >>> X, meta = make_machine_sounds(machine_types="fan", n_train=6, n_test=2,
    ...                               duration=1.0, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> section = meta["section"].to_numpy()
    >>> tiny = make_rcmae_net(module__patch_size=8, module__embed_dim=16, module__depth=1,
    ...                       module__n_heads=2, module__decoder_dim=8,
    ...                       module__decoder_heads=2, module__projection_dim=8,
    ...                       max_epochs=2)
    >>> pretrainer = RCMAEPretrainer(features=LogMel(n_mels=16), net=tiny, n_frames=16,
    ...                              random_state=0).fit(X[train])
    >>> detectors = [
    ...     RCMAEDetector(pretrained=FrozenEstimator(pretrainer), random_state=0,
    ...                   net=make_rcmae_finetune_net(max_epochs=epochs,
    ...                                               module__projection_dim=8))
    ...     .fit(X[train], section=section[train])
    ...     for epochs in (1, 3)
    ... ]
    >>> detectors[0].classes_
    array([0, 1, 2])
    >>> detectors[1].decision_function(X[~train], section=section[~train]).shape
    (12,)
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "pretrained": [None, RCMAEPretrainer, FrozenEstimator],
        "net": [ClassifierNet, None],
        "inference_hop": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
    }

    def __init__(
        self,
        *,
        pretrained: Any = None,
        net: ClassifierNet | None = None,
        inference_hop: int | None = None,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        random_state: Any = None,
        device: str | None = None,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.pretrained = pretrained
        self.net = net
        self.inference_hop = inference_hop
        self.random_state = random_state
        self.device = device

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        pretrainer = self.pretrained
        if isinstance(pretrainer, FrozenEstimator):
            pretrainer = pretrainer.estimator
        return check_input(X, features=getattr(pretrainer, "features", None))

    def _pretrain(self, X, y, seed: int | None) -> RCMAEPretrainer:
        """The fitted pretrainer: the frozen one, or a clone of ``pretrained`` fitted on X."""
        if isinstance(self.pretrained, FrozenEstimator):
            pretrainer = self.pretrained.estimator
            if not isinstance(pretrainer, RCMAEPretrainer):
                raise TypeError(
                    "pretrained must wrap a fitted RCMAEPretrainer, got FrozenEstimator("
                    f"{type(pretrainer).__name__})."
                )
            check_is_fitted(pretrainer)
            return pretrainer
        pretrainer = RCMAEPretrainer() if self.pretrained is None else clone(self.pretrained)
        if seed is not None:
            pretrainer.set_params(random_state=seed)
        if self.device is not None:
            pretrainer.set_params(device=self.device)
        return pretrainer.fit(X, y)

    def _finetune_embedder(self, pretrainer: RCMAEPretrainer, seed: int | None) -> NetEmbedder:
        """NetEmbedder on the fine-tuning net, initialised from the pre-trained encoder."""
        net = make_rcmae_finetune_net() if self.net is None else clone(self.net)
        encoder = pretrainer.net_.module_.encoder
        shape = {
            f"module__{name}": value
            for name, value in encoder.config.items()
            if name not in ("in_channels", "input_size")
        }
        # As numpy arrays, so that the net unpickles on any device.
        state = {name: value.cpu().numpy().copy() for name, value in encoder.state_dict().items()}
        net.set_params(
            **shape,
            callbacks=[*(net.callbacks or []), ("init_encoder", InitEncoder(state))],
        )
        return NetEmbedder(
            net=net,
            n_frames=pretrainer.n_frames,
            inference_hop=self.inference_hop,
            random_state=seed,
            device=self.device,
        )

    def _fit_network(self, X, y, *, section, **metadata):
        """Pre-train (or take the frozen pretrainer), then fine-tune on the sections."""
        if section is None:
            raise ValueError(
                "RCMAEDetector fine-tunes on sections: pass section=<one value per clip> "
                "(and machine_type for one section per machine type)."
            )
        self._check_two_groups(section, y, "fine-tunes a network to tell sections apart")
        pretrain_seed, finetune_seed = (
            (None, None) if self.random_state is None else spawn_seeds(self.random_state, 2)
        )
        self.pretrained_ = self._pretrain(X, y, pretrain_seed)
        self.features_ = self.pretrained_.features_
        features = self.features_.transform(X)
        self.embedder_ = self._finetune_embedder(self.pretrained_, finetune_seed)
        self.embedder_.fit(features, y, section=section)
        return features, {"section": section}

    def _make_scorer(self) -> ConfidenceScorer:
        return ConfidenceScorer(rule="log_proba")
