"""One-Class SVM scorer step."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.svm import OneClassSVM

from sklasd.base import BaseDetector
from sklasd.scoring._base import _SectionwiseScorer
from sklasd.utils._docstrings import fill_doc

__all__ = ["OneClassSVMScorer"]

_SVM_PARAMS = (
    "kernel",
    "degree",
    "gamma",
    "coef0",
    "tol",
    "nu",
    "shrinking",
    "cache_size",
    "max_iter",
)


@fill_doc
class OneClassSVMScorer(_SectionwiseScorer):
    """One :class:`~sklearn.svm.OneClassSVM` per section.

    ``score_samples`` is the ``score_samples`` of the One-Class SVM fitted on
    the training embeddings of the clip's section. The SVM's own offset (set by
    ``nu``) is not used: the thresholds come from ``contamination`` like every
    sklasd detector.

    Clips labelled anomalous (``y == 1``) are left out of training; ``y`` must
    hold 0/1 labels.

    Parameters
    ----------
    kernel : {"linear", "poly", "rbf", "sigmoid"} or callable, default="rbf"
        Kernel of :class:`~sklearn.svm.OneClassSVM`.
    degree : int, default=3
        Degree of the polynomial kernel.
    gamma : {"scale", "auto"} or float, default="scale"
        Kernel coefficient of :class:`~sklearn.svm.OneClassSVM` (unrelated to the
        gamma threshold rule).
    coef0 : float, default=0.0
        Independent term of the poly and sigmoid kernels.
    tol : float, default=1e-3
        Stopping tolerance.
    nu : float, default=0.5
        Upper bound on the fraction of training errors, lower bound on the
        fraction of support vectors, in (0, 1].
    shrinking : bool, default=True
        Whether to use the shrinking heuristic.
    cache_size : float, default=200
        Kernel cache size in MB.
    max_iter : int, default=-1
        Solver iteration limit, -1 for none.
    %(contamination)s

    Attributes
    ----------
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.
    estimators_ : list of OneClassSVM
        Fitted SVM of each section, aligned with ``sections_``.
    n_iter_ : list of int
        Solver iterations of each section's SVM.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.svm.OneClassSVM : The per-section model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.scoring import OneClassSVMScorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> scorer = OneClassSVMScorer(nu=0.1).fit(X, section=np.repeat([1, 2], 30))
    >>> scorer.predict([[0.0, 0.0], [6.0, 6.0]], section=[1, 2])
    array([ 1, -1])
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        **{name: OneClassSVM._parameter_constraints[name] for name in _SVM_PARAMS},
    }

    def __init__(
        self,
        *,
        kernel: str | Any = "rbf",
        degree: int = 3,
        gamma: str | float = "scale",
        coef0: float = 0.0,
        tol: float = 1e-3,
        nu: float = 0.5,
        shrinking: bool = True,
        cache_size: float = 200,
        max_iter: int = -1,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.tol = tol
        self.nu = nu
        self.shrinking = shrinking
        self.cache_size = cache_size
        self.max_iter = max_iter

    def _fit_section(self, X: np.ndarray) -> dict[str, Any]:
        svm = OneClassSVM(**{name: getattr(self, name) for name in _SVM_PARAMS})
        # libsvm's fit draws a seed from `random_state` (None: numpy's global state)
        # though one-class training never uses it; a fixed seed leaves that state alone.
        svm.random_state = 0
        svm.fit(X)
        return {"estimators": svm, "n_iter": svm.n_iter_}

    def _score_section(self, index: int, X: np.ndarray) -> np.ndarray:
        return self.estimators_[index].score_samples(X)
