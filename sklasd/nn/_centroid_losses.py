"""Binary cross-entropy and class-centroid losses of Kuroyanagi, Hayashi, Takeda and Toda,
"Anomalous sound detection using a binary classification model and class centroids"
(EUSIPCO 2021, arXiv:2106.06151), and their anomaly score (Eq. 5)."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sklasd.nn._layers import _check_int, _check_real

__all__ = [
    "CENTROID_ALPHA",
    "CENTROID_LOSSES",
    "CentroidLoss",
    "centroid_score",
    "class_centroids",
]

#: The loss names of :class:`CentroidLoss`.
CENTROID_LOSSES: tuple[str, ...] = ("bce", "dsad", "ddcsad", "bce+dsad", "bce+ddcsad")

#: The score weight ``alpha`` of Eq. (5) per loss and machine type, chosen on the
#: validation data of DCASE 2020 Task 2 by Kuroyanagi et al. (EUSIPCO 2021, Table I).
CENTROID_ALPHA: dict[str, dict[str, float]] = {
    "bce+dsad": {
        "fan": 0.1,
        "pump": 0.2,
        "slider": 0.0,
        "ToyCar": 0.0,
        "ToyConveyor": 0.0,
        "valve": 0.0,
    },
    "bce+ddcsad": {
        "fan": 0.1,
        "pump": 1.0,
        "slider": 1.0,
        "ToyCar": 0.1,
        "ToyConveyor": 0.0,
        "valve": 1.0,
    },
}

#: Target codes: a normal clip of the target machine, an outlier (a clip of another
#: machine), a known anomaly of the target machine.
_NORMAL, _OUTLIER, _ANOMALY = 1, 0, -1


def _check_binary_target(target: torch.Tensor, batch: int) -> torch.Tensor:
    """``target`` as float32 of shape (batch,), after checking it holds only 0 and 1."""
    if target.dim() != 1 or target.shape[0] != batch:
        raise ValueError(f"target must have shape ({batch},), got {tuple(target.shape)}.")
    if not bool(((target == 0) | (target == 1)).all()):
        values = torch.unique(target.detach()).tolist()
        raise ValueError(f"target must hold 1 (normal) and 0 (outlier) only, got {values}.")
    return target.to(torch.float32)


def _check_target(target: torch.Tensor, batch: int) -> torch.Tensor:
    """``target`` of shape (batch,), after checking it holds only 1, 0 and -1."""
    if target.dim() != 1 or target.shape[0] != batch:
        raise ValueError(f"target must have shape ({batch},), got {tuple(target.shape)}.")
    if not bool(((target == _NORMAL) | (target == _OUTLIER) | (target == _ANOMALY)).all()):
        values = torch.unique(target.detach()).tolist()
        raise ValueError(
            "target must hold 1 (normal), 0 (outlier) and -1 (known anomaly of the target "
            f"machine) only, got {values}."
        )
    return target


def _squared_distance(embedding: torch.Tensor, centroid: torch.Tensor) -> torch.Tensor:
    """``||z_i - c||^2`` of each row of ``embedding``, shape (batch,)."""
    return (embedding - centroid).pow(2).sum(dim=1)


def class_centroids(
    embedding: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Means of the normal (target 1) and of the other (target 0 or -1) embeddings.

    What :meth:`CentroidLoss.set_centroids` takes, computed over the embeddings
    of the whole training set: the normal centroid ``c_p`` and the outlier
    centroid ``c_n``, where known anomalies count as outliers (Kuroyanagi et
    al.: "if anomalous data is available, it is also used together with the
    outlier data").

    Parameters
    ----------
    embedding : torch.Tensor of shape (n_samples, embedding_dim)
    target : torch.Tensor of shape (n_samples,)
        1 for normal samples, 0 for outliers, -1 for known anomalies.

    Returns
    -------
    c_p, c_n : torch.Tensor of shape (embedding_dim,)
        The normal and the outlier centroid.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import class_centroids
    >>> z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]])
    >>> class_centroids(z, torch.tensor([1, 1, 0]))
    (tensor([1., 0.]), tensor([5., 5.]))
    """
    if embedding.dim() != 2:
        raise ValueError(
            f"embedding must have shape (n_samples, embedding_dim), got {tuple(embedding.shape)}."
        )
    target = _check_target(target, embedding.shape[0]).to(embedding.device)
    centroids = []
    for normal, name in ((True, "normal (1)"), (False, "outlier (0 or -1)")):
        mask = (target == _NORMAL) == normal
        if not bool(mask.any()):
            raise ValueError(f"class_centroids needs at least one {name} sample, got none.")
        centroids.append(embedding[mask].mean(dim=0))
    return centroids[0], centroids[1]


class CentroidLoss(nn.Module):
    """BCE, DSAD and DDCSAD losses of Kuroyanagi et al. (EUSIPCO 2021), alone or combined.

    The network (e.g. :class:`ResNet38`) gives each crop a logit ``l_i`` of
    "normal" and an embedding ``z_i``. The target is 1 for the target
    machine's normal crops (the paper's ``y~ = +1``), 0 for outliers (clips of
    other machines, ``y = -1``) and -1 for known anomalies of the target
    machine (``y~ = -1``). With ``d_p = ||z - c_p||^2``, ``d_n = ||z -
    c_n||^2``, the weight ``w_i = eta`` for the target machine's crops (targets
    1 and -1) and ``w_i = 1`` for outliers, and means over the batch (the
    paper's ``1 / (N + M)``):

    - "bce" (Eq. 1): ``L_BCE = -mean[u log sigmoid(l) + (1 - u) log(1 -
      sigmoid(l))]``, ``u = 1`` for target 1, else 0.
    - "dsad" (Eq. 2, Deep SAD): normal crops are pulled to the centroid ``c =
      c_p`` and the others pushed away through the inverse distance,
      ``L_DSAD = mean[w (d_p if target 1 else 1 / (d_p + eps))]``.
    - "ddcsad" (Eq. 3, two centroids): each class is pulled to its own
      centroid and pushed from the other's, ``L_DDCSAD = mean[w (d_p + 1 /
      (d_n + eps) if target 1 else d_n + 1 / (d_p + eps))]``, so that the
      within-class variance shrinks and the classes move apart.
    - "bce+dsad", "bce+ddcsad" (Eq. 4): ``L_BCE + lambda_ * L_(DD)CSAD``.

    The centroids are buffers, not parameters. They start random (standard
    normal, from torch's global generator, like the network's weights);
    :class:`~sklasd.training.BinaryNet` sets them to the class means of the
    embeddings of the randomly initialised network before training
    (:func:`class_centroids`, :meth:`set_centroids`), and, for "ddcsad" and
    "bce+ddcsad" only (:attr:`updates_centroids`), again after every epoch:
    the paper keeps the DSAD centroid fixed and recomputes both DDCSAD
    centroids every epoch. They travel with ``state_dict``.

    Parameters
    ----------
    embedding_dim : int
        Width of the embeddings (and centroids).
    loss : {"bce", "dsad", "ddcsad", "bce+dsad", "bce+ddcsad"}, default="bce+ddcsad"
        Which loss.
    lambda_ : float, default=1.0
        Weight of the centroid loss in the combinations, >= 0 (the paper: 1.0).
    eta : float, default=2.0
        Weight of the target machine's crops (normal and known anomalous)
        against the outliers in the centroid losses, >= 0 (the paper: 2.0).
    eps : float, default=1e-6
        Added to distances before inverting them, > 0.

    Attributes
    ----------
    c_p, c_n : torch.Tensor of shape (embedding_dim,)
        Buffers: the normal and the outlier centroid ("dsad" uses ``c_p``
        only, "bce" neither).
    updates_centroids : bool
        Whether the centroids follow the embeddings during training (the
        DDCSAD losses) or stay where training started (the others).

    See Also
    --------
    class_centroids : The class means to set the centroids to.
    centroid_score : The paper's anomaly score from ``p`` and ``d_p``.
    ResNet38 : The network whose output this loss takes.

    Notes
    -----
    The paper writes the terms as ``||z - c||^(2 y)`` with ``y = +1`` or
    ``-1``; the inverse distances get ``eps`` here so that a crop on a
    centroid gives a finite loss. The computation runs in at least float32.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import CentroidLoss, class_centroids
    >>> _ = torch.manual_seed(0)
    >>> logit = torch.tensor([2.0, -1.0, 1.5, -2.0])
    >>> embedding = torch.tensor([[1.0, 0.0], [4.0, 4.0], [0.0, 1.0], [5.0, 3.0]])
    >>> target = torch.tensor([1, 0, 1, 0])
    >>> criterion = CentroidLoss(embedding_dim=2, loss="bce+ddcsad", lambda_=1.0, eta=2.0)
    >>> criterion.set_centroids(*class_centroids(embedding, target))
    >>> criterion.c_p, criterion.c_n
    (tensor([0.5000, 0.5000]), tensor([4.5000, 3.5000]))
    >>> round(criterion((logit, embedding), target).item(), 4)
    1.001
    >>> criterion.distance(embedding)
    tensor([ 0.5000, 24.5000,  0.5000, 26.5000])
    """

    def __init__(
        self,
        *,
        embedding_dim: int,
        loss: str = "bce+ddcsad",
        lambda_: float = 1.0,
        eta: float = 2.0,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        if loss not in CENTROID_LOSSES:
            raise ValueError(f"loss must be one of {CENTROID_LOSSES}, got {loss!r}.")
        self.loss = loss
        self.lambda_ = _check_real("lambda_", lambda_, 0.0, float("inf"), low_open=False)
        self.eta = _check_real("eta", eta, 0.0, float("inf"), low_open=False)
        self.eps = _check_real("eps", eps, 0.0, float("inf"), low_open=True)
        self.register_buffer("c_p", torch.randn(self.embedding_dim))
        self.register_buffer("c_n", torch.randn(self.embedding_dim))

    @property
    def updates_centroids(self) -> bool:
        """Whether the centroids are recomputed every epoch (DDCSAD), or stay fixed (DSAD)."""
        return "ddcsad" in self.loss

    def extra_repr(self) -> str:
        return (
            f"embedding_dim={self.embedding_dim}, loss={self.loss!r}, "
            f"lambda_={self.lambda_}, eta={self.eta}, eps={self.eps}"
        )

    def _check_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        if embedding.dim() != 2 or embedding.shape[1] != self.embedding_dim:
            raise ValueError(
                f"embedding must have shape (batch, {self.embedding_dim}), "
                f"got {tuple(embedding.shape)}."
            )
        return embedding.to(torch.promote_types(embedding.dtype, torch.float32))

    @torch.no_grad()
    def set_centroids(self, c_p: torch.Tensor, c_n: torch.Tensor) -> None:
        """Replace the centroids (in place, keeping the buffers' device and dtype).

        Parameters
        ----------
        c_p : torch.Tensor of shape (embedding_dim,)
            Normal centroid.
        c_n : torch.Tensor of shape (embedding_dim,)
            Outlier centroid.
        """
        for name, value in (("c_p", c_p), ("c_n", c_n)):
            value = torch.as_tensor(value)
            if value.shape != (self.embedding_dim,) or not bool(torch.isfinite(value).all()):
                raise ValueError(
                    f"{name} must be a finite tensor of shape ({self.embedding_dim},), "
                    f"got shape {tuple(value.shape)}."
                )
            getattr(self, name).copy_(value)

    def distance(self, embedding: torch.Tensor) -> torch.Tensor:
        """Squared distances ``d = ||z - c_p||^2`` to the normal centroid (Eq. 5's ``d``).

        Parameters
        ----------
        embedding : torch.Tensor of shape (batch, embedding_dim)

        Returns
        -------
        torch.Tensor of shape (batch,)
        """
        return _squared_distance(self._check_embedding(embedding), self.c_p)

    def forward(
        self, output: tuple[torch.Tensor, torch.Tensor], target: torch.Tensor
    ) -> torch.Tensor:
        """The loss of a batch.

        Parameters
        ----------
        output : (logit, embedding) pair
            ``logit`` of shape (batch,) or (batch, 1), the logit of "normal";
            ``embedding`` of shape (batch, embedding_dim). A
            :class:`BinaryOutput` as :meth:`ResNet38.forward` returns it.
        target : torch.Tensor of shape (batch,)
            1 for the target machine's normal crops, 0 for outliers, -1 for
            known anomalies of the target machine.

        Returns
        -------
        torch.Tensor of shape ()
        """
        logit = self.logits(output)
        embedding = self._check_embedding(output[1])
        if embedding.shape[0] != logit.shape[0]:
            raise ValueError(
                f"logit and embedding must have the same batch size, got {logit.shape[0]} "
                f"and {embedding.shape[0]}."
            )
        target = _check_target(target, logit.shape[0]).to(logit.device)
        y = (target == _NORMAL).to(embedding.dtype)
        total = logit.new_zeros(())
        if "bce" in self.loss:
            logit = logit.to(torch.promote_types(logit.dtype, torch.float32))
            total = F.binary_cross_entropy_with_logits(logit, y.to(logit.dtype))
        if "sad" in self.loss:
            d_p = _squared_distance(embedding, self.c_p)
            if "ddcsad" in self.loss:
                d_n = _squared_distance(embedding, self.c_n)
                normal = d_p + 1 / (d_n + self.eps)
                other = d_n + 1 / (d_p + self.eps)
            else:
                normal, other = d_p, 1 / (d_p + self.eps)
            weight = torch.where(target == _OUTLIER, 1.0, self.eta).to(embedding.dtype)
            centroid_loss = (weight * (y * normal + (1 - y) * other)).mean()
            total = total + (self.lambda_ if "bce" in self.loss else 1.0) * centroid_loss
        return total

    def logits(self, output: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The logit of "normal" of each crop: ``sigmoid`` of it is the paper's ``p``.

        Parameters
        ----------
        output : (logit, embedding) pair
            As in :meth:`forward`.

        Returns
        -------
        torch.Tensor of shape (batch,)
        """
        if not isinstance(output, tuple) or len(output) != 2:
            raise ValueError(
                "CentroidLoss expects the network output as a (logit, embedding) pair, "
                f"got {type(output).__name__}."
            )
        logit = output[0]
        if logit.dim() == 2 and logit.shape[1] == 1:
            logit = logit.squeeze(1)
        if logit.dim() != 1:
            raise ValueError(f"logit must have shape (batch,), got {tuple(output[0].shape)}.")
        return logit


def centroid_score(p, d, *, alpha: float, d_range: tuple[float, float]) -> np.ndarray:
    """Anomaly score of Kuroyanagi et al.'s Eq. (5): ``s = alpha (1 - p) + (1 - alpha) d'``.

    ``p`` is the network's probability that a clip is normal and ``d = ||z -
    c_p||^2`` its embedding's squared distance to the normal centroid, scaled to
    ``d' = (d - d_min) / (d_max - d_min)``. Higher ``s`` = more anomalous. The
    paper takes ``(d_min, d_max)`` over the evaluated clips, which makes a
    clip's score depend on the clips scored with it; passing a range fitted on
    training data instead keeps each score its own, and then ``d'`` (and
    ``s``) can leave [0, 1] for distances outside the range: they are not
    clipped, so the ranking beyond the range is kept.

    Parameters
    ----------
    p : array-like of shape (n_clips,)
        Probabilities of "normal", in [0, 1].
    d : array-like of shape (n_clips,)
        Squared distances to the normal centroid, >= 0.
    alpha : float
        Weight of the classifier term, in [0, 1]: 1 uses ``1 - p`` only, 0 the
        distance only.
    d_range : tuple of (float, float)
        ``(d_min, d_max)`` with ``d_min < d_max``, finite.

    Returns
    -------
    ndarray of shape (n_clips,)
        The scores, in [0, 1] where ``d`` lies within ``d_range``.

    Examples
    --------
    >>> from sklasd.nn import centroid_score
    >>> centroid_score([1.0, 0.2, 0.9], [0.0, 4.0, 8.0], alpha=0.5, d_range=(0.0, 4.0))
    array([0.  , 0.9 , 1.05])
    """
    p = np.asarray(p, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    if p.ndim != 1 or p.shape != d.shape:
        raise ValueError(f"p and d must be 1-D of the same length, got {p.shape} and {d.shape}.")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p must hold probabilities in [0, 1] (got values outside or NaN).")
    if not np.all(np.isfinite(d) & (d >= 0)):
        raise ValueError("d must hold finite squared distances >= 0.")
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}.")
    try:
        d_min, d_max = (float(v) for v in d_range)
    except (TypeError, ValueError):
        raise ValueError(f"d_range must be a pair (d_min, d_max), got {d_range!r}.") from None
    if not (np.isfinite(d_min) and np.isfinite(d_max) and d_min < d_max):
        raise ValueError(f"d_range must be finite with d_min < d_max, got {d_range!r}.")
    return alpha * (1 - p) + (1 - alpha) * (d - d_min) / (d_max - d_min)
