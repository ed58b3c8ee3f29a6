"""The DCASE Task 2 challenge baseline: a dense autoencoder on stacked log-mel frames."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import clone
from sklearn.covariance import LedoitWolf
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from skorch import NeuralNetRegressor

from sklasd.base import BaseDetector
from sklasd.features import LogMel
from sklasd.nn import DenseAutoencoder
from sklasd.training import check_features, check_input, make_feature_step
from sklasd.utils import draw_seed, private_torch_rng
from sklasd.utils._docstrings import fill_doc

__all__ = ["AutoencoderDetector"]


def _context_vectors(features: np.ndarray, n_context: int) -> np.ndarray:
    """Stack ``n_context`` consecutive frames: (n_clips, n_vectors, n_context * n_bands).

    ``features`` has shape (n_clips, n_channels, n_bands, n_frames); channels are
    stacked with the bands. Vector ``t`` holds frames ``t`` to ``t + n_context - 1``,
    frame by frame, as the DCASE baselines lay them out.
    """
    n_clips, n_channels, n_bands, n_frames = features.shape
    frames = features.reshape(n_clips, n_channels * n_bands, n_frames).transpose(0, 2, 1)
    windows = np.lib.stride_tricks.sliding_window_view(frames, n_context, axis=1)
    # windows: (n_clips, n_vectors, n_channels * n_bands, n_context) -> frame-major
    return np.ascontiguousarray(windows.transpose(0, 1, 3, 2)).reshape(
        n_clips, n_frames - n_context + 1, n_context * n_channels * n_bands
    )


@fill_doc
class AutoencoderDetector(BaseDetector):
    """The DCASE Task 2 baseline: a dense autoencoder on 5 stacked log-mel frames.

    The reference system of every DCASE Task 2 challenge from 2020 to 2025: each
    clip's log-mel spectrogram (128 bands) is cut into vectors of ``n_context``
    consecutive frames (640 values), a :class:`~sklasd.nn.DenseAutoencoder`
    (4 x 128 units, bottleneck 8) is trained to reconstruct the vectors of the
    normal training clips with the mean squared error, and a clip's anomaly score
    is the mean over its vectors of

    - ``score="mse"``: the squared reconstruction error (the 2020 to 2022
      baselines' "simple autoencoder mode");
    - ``score="selective_mahalanobis"``: the Mahalanobis distance of the
      reconstruction residual under the residual covariance of each domain's
      training clips of the clip's section, the smaller over the domains (the
      2023 to 2025 baselines' "selective Mahalanobis mode"; without ``domain``
      in ``fit`` there is one covariance per section).

    ``score_samples`` is minus that score. One network is trained on all the
    clips given to ``fit`` (the baselines train one per machine type); the
    residual covariances and the thresholds are per section. Known anomalies
    (``y == 1``) are left out of training.

    Parameters
    ----------
    features : transformer, "passthrough" or None, default=None
        Unfitted feature transformer giving (n_clips, n_channels, n_bands,
        n_frames), cloned in ``fit``. None means ``LogMel(top_db=None)``: 128
        bands, 1024-point FFT, hop 512, as in the baselines.
        ``"passthrough"``: ``X`` already holds the features (the detector is the
        last step of a Pipeline after its feature step, e.g.
        ``make_pipeline(LogMel(), <detector>(features="passthrough"))``).
    net : skorch.NeuralNetRegressor or None, default=None
        Unfitted skorch net wrapping the autoencoder, cloned in ``fit``;
        ``module__n_inputs`` is set from the data. None means the baselines'
        configuration: :class:`~sklasd.nn.DenseAutoencoder`, mean squared error,
        Adam at lr 1e-3, batches of 512 vectors (the 2020 baseline's), 100
        epochs, no validation split.
        Reach its parameters with ``net__...`` in a grid search.
    n_context : int, default=5
        Consecutive frames stacked into one vector.
    score : {"mse", "selective_mahalanobis"}, default="selective_mahalanobis"
        The anomaly score, as above.
    max_vectors : int or None, default=10000
        At most this many training vectors (drawn at random, without replacement)
        train the network, which bounds the training time on long recordings;
        None uses all.
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initialisation, the vector sample and the shuffling.
    device : str or None, default=None
        Device of the network ("cpu", "cuda"); None keeps the net's own.
    %(contamination)s

    Attributes
    ----------
    features_ : transformer
        The fitted feature transformer.
    net_ : skorch.NeuralNetRegressor
        The trained autoencoder.
    precisions_ : list of list of ndarray
        For each section (aligned with ``sections_``), the precision matrices of
        the residuals of each of its domains, shape (n_inputs, n_inputs); empty
        lists with ``score="mse"``.
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.

    See Also
    --------
    sklasd.nn.DenseAutoencoder : The network.
    sklasd.pipelines.make_baseline_pipeline : The pooled log-mel + kNN baseline.

    Notes
    -----
    The covariances are shrunk towards their diagonal (Ledoit-Wolf) so that
    sections with fewer training vectors than 640 still get an invertible
    covariance; the baselines use the empirical covariance of many thousand
    vectors.

    Examples
    --------
    >>> import sklearn
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import AutoencoderDetector
    >>> from sklasd.features import LogMel
    >>> from skorch import NeuralNetRegressor
    >>> from sklasd.nn import DenseAutoencoder
    >>> X, meta = make_machine_sounds(machine_types=["fan"], n_sections=1, n_train=8,
    ...                               n_test=4, duration=1.0, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> net = NeuralNetRegressor(DenseAutoencoder, module__hidden=16, module__bottleneck=4,
    ...                          max_epochs=2, train_split=None, verbose=0)
    >>> detector = AutoencoderDetector(features=LogMel(n_mels=32), net=net, random_state=0)
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     detector = detector.fit(X[train], domain=meta["domain"][train])
    ...     scores = detector.score_samples(X[~train])
    >>> scores.shape
    (8,)
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "domain": True}

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "net": [None, HasMethods(["fit", "predict"])],
        "n_context": [Interval(Integral, 1, None, closed="left")],
        "score": [StrOptions({"mse", "selective_mahalanobis"})],
        "max_vectors": [None, Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
    }

    def __init__(
        self,
        *,
        features: Any = None,
        net: Any = None,
        n_context: int = 5,
        score: str = "selective_mahalanobis",
        max_vectors: int | None = 10000,
        random_state: Any = None,
        device: str | None = None,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.features = features
        self.net = net
        self.n_context = n_context
        self.score = score
        self.max_vectors = max_vectors
        self.random_state = random_state
        self.device = device

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        return check_input(X, features=self.features)

    def fit(
        self, X: Any, y: Any = None, *, section: Any = None, domain: Any = None
    ) -> AutoencoderDetector:
        """Train the autoencoder, the residual covariances and the thresholds.

        Parameters
        ----------
        X : sequence of str or array-like of shape (n_clips, n_samples)
            Training clips: file paths or waveforms.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels; anomalous clips are left out of training.
        section : array-like of shape (n_clips,), default=None
            Section of each clip; None for one group.
        domain : array-like of shape (n_clips,), default=None
            Domain of each clip; each domain of a section gets its own residual
            covariance. None for one domain.

        Returns
        -------
        self : AutoencoderDetector
            The fitted detector.
        """
        return super().fit(X, y, section=section, domain=domain)

    def _fit(self, X, y, *, section, domain=None):
        n_clips = len(X)
        normal = np.ones(n_clips, dtype=bool) if y is None else y == 0
        self.features_ = make_feature_step(self.features, LogMel(top_db=None))
        features = self._check_frames(self.features_.fit_transform(X))
        vectors = _context_vectors(features, self.n_context)
        rng = np.random.default_rng(draw_seed(self.random_state))
        train = vectors[normal].reshape(-1, vectors.shape[-1])
        if self.max_vectors is not None and len(train) > self.max_vectors:
            train = train[rng.choice(len(train), self.max_vectors, replace=False)]
        self.net_ = clone(self._default_net() if self.net is None else self.net)
        self.net_.set_params(module__n_inputs=vectors.shape[-1])
        if self.device is not None:
            self.net_.set_params(device=self.device)
        seed = int(rng.integers(2**31))
        with private_torch_rng(self.net_.device, seed):
            self.net_.fit(train, train)

        groups = self._section_indices(section, n_clips)
        domains = np.zeros(n_clips) if domain is None else np.asarray(domain)
        self.precisions_ = [[] for _ in range(groups.max() + 1)]
        residuals = self._residuals(vectors)
        if self.score == "selective_mahalanobis":
            for index in range(groups.max() + 1):
                for value in np.unique(domains[groups == index]):
                    rows = (groups == index) & (domains == value) & normal
                    if rows.any():
                        sample = residuals[rows].reshape(-1, residuals.shape[-1])
                        self.precisions_[index].append(LedoitWolf().fit(sample).get_precision())
        return self._scores(residuals, groups)

    def _check_frames(self, features) -> np.ndarray:
        features = check_features(features)
        if features.shape[-1] < self.n_context:
            raise ValueError(
                f"The clips give {features.shape[-1]} feature frames, fewer than "
                f"n_context={self.n_context} stacked frames per vector: use longer clips, a "
                "shorter hop of the features, or a lower n_context."
            )
        return features

    @staticmethod
    def _default_net() -> NeuralNetRegressor:
        return NeuralNetRegressor(
            DenseAutoencoder,
            criterion=torch.nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            batch_size=512,
            max_epochs=100,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
        )

    def _residuals(self, vectors: np.ndarray) -> np.ndarray:
        """Input minus reconstruction, float64 of shape (n_clips, n_vectors, n_inputs)."""
        flat = vectors.reshape(-1, vectors.shape[-1])
        with private_torch_rng(self.net_.device):
            reconstruction = self.net_.predict(flat)
        return (flat - reconstruction).reshape(vectors.shape).astype(np.float64)

    def _scores(self, residuals: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """score_samples from the residuals of clips whose group indices are ``groups``."""
        if self.score == "mse":
            return -np.mean(residuals**2, axis=(1, 2))
        scores = np.empty(len(residuals))
        for index in np.unique(groups):
            rows = groups == index
            distances = [
                np.einsum("cvi,ij,cvj->cv", residuals[rows], precision, residuals[rows]).mean(1)
                for precision in self.precisions_[index]
            ]
            scores[rows] = -np.min(distances, axis=0)
        return scores

    def _score_samples(self, X, *, section):
        features = self._check_frames(self.features_.transform(X))
        vectors = _context_vectors(features, self.n_context)
        return self._scores(self._residuals(vectors), self._section_indices(section, len(vectors)))
