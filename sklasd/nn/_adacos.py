"""Adaptively scaled angular losses on embeddings: sub-cluster AdaCos (Wilkinghoff, IJCNN 2021)
and AdaProj (Wilkinghoff, DCASE 2024 workshop)."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from sklasd.nn._layers import _check_int

__all__ = ["AdaProjLoss", "SubclusterAdaCosLoss", "adacos_scale"]


def adacos_scale(
    scaled_logits: torch.Tensor, target_angle: torch.Tensor, *, eps: float = 1e-7
) -> torch.Tensor:
    """The dynamic AdaCos scale ``log(B_avg) / cos(min(pi/4, theta_med))``.

    The rule of Zhang et al. ("AdaCos: adaptively scaling cosine logits for
    effectively learning deep face representations", CVPR 2019, Eq. 15): with
    ``B_avg`` the batch mean of each sample's sum of ``exp(s cos)`` over the
    logits that enter it (at the previous scale ``s``), and ``theta_med`` the
    median over the batch of the angles between each sample and its own class,
    the new scale is ``log(B_avg) / cos(min(pi / 4, theta_med))``. It keeps the
    softmax probability of the median sample near its steepest point as
    training tightens the classes.

    Parameters
    ----------
    scaled_logits : torch.Tensor of shape (batch, n_logits)
        The values ``s cos`` whose exponentials sum to each sample's share of
        ``B_avg`` (the sum is taken as a log-sum-exp, which cannot overflow).
    target_angle : torch.Tensor of shape (batch,)
        Angle in radians between each sample and its class.
    eps : float, default=1e-7
        Added to the result, as in the reference implementation.

    Returns
    -------
    torch.Tensor of shape ()
        The new scale (without gradient).

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from sklasd.nn import adacos_scale
    >>> scaled_logits = torch.zeros(2, 3)  # s cos = 0: B_avg = 3
    >>> angle = torch.full((2,), math.pi / 3)  # beyond pi/4: capped at pi/4
    >>> scale = adacos_scale(scaled_logits, angle).item()
    >>> math.isclose(scale, math.log(3) / math.cos(math.pi / 4), rel_tol=1e-6)
    True
    """
    with torch.no_grad():
        # log(mean_i sum_j exp(z_ij)) = logsumexp over all (i, j) - log(batch)
        log_b_avg = torch.logsumexp(scaled_logits.flatten(), dim=0) - math.log(
            scaled_logits.shape[0]
        )
        theta_med = torch.quantile(target_angle, 0.5)
        return log_b_avg / torch.cos(theta_med.clamp(max=math.pi / 4)) + eps


class _AdaptiveAngularLoss(nn.Module):
    """Shared parts of the two losses: centres, scale, targets and the cross-entropy.

    Subclasses define ``_class_logits(cosine)`` (class logits from the cosines
    at a scale), ``_cosines(x)`` and the rule of ``B_avg`` and the target angle.
    """

    #: Criteria with this flag take a network's embeddings, not its class outputs
    #: (see :class:`sklasd.training.ClassifierNet`), and accept class
    #: probabilities (e.g. mixup targets) as well as class indices as targets.
    takes_embeddings: ClassVar[bool] = True

    def __init__(
        self, n_classes: int, embedding_dim: int, n_vectors: int, *, trainable: bool, name: str
    ) -> None:
        super().__init__()
        self.n_classes = _check_int("n_classes", n_classes, 1)
        self.embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        if not isinstance(trainable, bool):
            raise ValueError(f"trainable must be a bool, got {trainable!r}.")
        self.trainable = trainable
        n_logits = self.n_classes * n_vectors
        if n_logits < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two {name} in all "
                f"(n_classes x {name}), got {n_logits}."
            )
        # Xavier-uniform weights (as the reference), one unit row per vector.
        centres = torch.empty(n_logits, self.embedding_dim)
        nn.init.xavier_uniform_(centres)
        centres = self._init_centres(centres.view(self.n_classes, n_vectors, -1))
        centres = F.normalize(centres, dim=-1)
        if trainable:
            self.centres = nn.Parameter(centres)
        else:
            self.register_buffer("centres", centres)
        # The initial AdaCos scale sqrt(2) log(n - 1) over all n logits (at least 1,
        # since two logits would give 0, a scale that never moves).
        initial = math.sqrt(2.0) * math.log(max(n_logits - 1, math.e))
        self.register_buffer("scale", torch.tensor(initial))

    def _init_centres(self, centres: torch.Tensor) -> torch.Tensor:
        """Centres of shape (n_classes, n_vectors, embedding_dim) at initialisation."""
        return centres

    def extra_repr(self) -> str:
        return (
            f"n_classes={self.n_classes}, embedding_dim={self.embedding_dim}, "
            f"trainable={self.trainable}, scale={self.scale.item():.4g}"
        )

    def _check(self, embedding: torch.Tensor) -> torch.Tensor:
        if embedding.dim() != 2 or embedding.shape[1] != self.embedding_dim:
            raise ValueError(
                f"{type(self).__name__} expects embeddings of shape (batch, "
                f"{self.embedding_dim}), got {tuple(embedding.shape)}."
            )
        dtype = torch.promote_types(embedding.dtype, torch.float32)
        return F.normalize(embedding.to(dtype), dim=1)

    def _soft_target(self, target: torch.Tensor, batch: int) -> torch.Tensor:
        """Class probabilities (batch, n_classes) of class indices or probabilities."""
        if target.dim() == 1 and not target.is_floating_point():
            if target.shape[0] != batch:
                raise ValueError(f"target must have {batch} entries, got {target.shape[0]}.")
            if bool(((target < 0) | (target >= self.n_classes)).any()):
                raise ValueError(
                    f"target holds class indices outside [0, {self.n_classes}): "
                    f"{sorted(set(target.tolist()))}."
                )
            return F.one_hot(target.long(), self.n_classes).float()
        if tuple(target.shape) != (batch, self.n_classes):
            raise ValueError(
                f"{type(self).__name__} expects targets of class indices, shape ({batch},), "
                f"or of class probabilities, shape ({batch}, {self.n_classes}); got "
                f"{tuple(target.shape)} of {target.dtype}."
            )
        return target.float()

    def forward(self, embedding: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the class probabilities and the targets.

        In training mode (``self.training``) the scale is first updated from
        this batch with the AdaCos rule (:func:`adacos_scale`).

        Parameters
        ----------
        embedding : torch.Tensor of shape (batch, embedding_dim)
            Embeddings (any norm: they are L2-normalised here).
        target : torch.Tensor of shape (batch,) or (batch, n_classes)
            Class indices, or class probabilities (rows summing to 1, e.g. mixup
            targets).

        Returns
        -------
        torch.Tensor of shape ()
        """
        x = self._check(embedding)
        soft = self._soft_target(target.to(x.device), x.shape[0])
        cosine = self._cosines(x)
        if self.training:
            self.scale.copy_(adacos_scale(*self._scale_statistics(cosine.detach(), soft)))
        return F.cross_entropy(self._class_logits(cosine), soft)

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        """Class logits at the current scale: softmax them for class probabilities.

        Parameters
        ----------
        embedding : torch.Tensor of shape (batch, embedding_dim)

        Returns
        -------
        torch.Tensor of shape (batch, n_classes)
        """
        return self._class_logits(self._cosines(self._check(embedding)))


class SubclusterAdaCosLoss(_AdaptiveAngularLoss):
    """Sub-cluster AdaCos loss on embeddings (Wilkinghoff, IJCNN 2021).

    Each of the ``n_classes`` classes has ``n_subclusters`` centres ``c_ck`` (unit
    vectors). For a clip's L2-normalised embedding ``x`` and the cosines
    ``cos_ck = <x, c_ck>``, the probability of class ``c`` is the softmax mass of
    its sub-clusters,

    ``p_c = sum_k exp(s cos_ck) / sum_(c', k') exp(s cos_c'k')``,

    i.e. the softmax of the class logits ``logsumexp_k(s cos_ck)``, and the loss
    is the cross-entropy ``-sum_c y_c log p_c`` averaged over the batch, for
    one-hot or soft (mixup) targets ``y``. A clip only needs to lie near one
    centre of its class, so each class can spread over several modes, which
    makes the embedding of normal data less compact than AdaCos's and keeps
    more of it for telling anomalies apart.

    The scale ``s`` is set from every training batch by the AdaCos rule
    (:func:`adacos_scale`), computed over all sub-clusters as in the reference
    implementation: ``B_avg`` is the batch mean of ``sum_(c, k) exp(s cos_ck)``
    over all ``n_classes x n_subclusters`` logits, and ``theta_med`` the median
    of the clips' target angles, a clip's target angle being ``sum_c y_c
    theta_c`` with ``theta_c = arccos(max_k cos_ck)``, the angle to the
    closest sub-cluster of class ``c`` (the reference sums the angles over the
    sub-clusters instead, which is the AdaCos angle only for one sub-cluster).
    It starts at ``sqrt(2) log(n_classes n_subclusters - 1)`` (at least
    ``sqrt(2)``) and is a buffer, saved with the state dict; evaluation mode
    keeps it fixed.

    With ``trainable=False`` (default, as in Wilkinghoff's DCASE 2022-2024
    systems) the centres stay at their random initialisation (Xavier-uniform
    rows, normalised; nearly orthogonal in high dimension) and only the
    network learns; ``trainable=True`` is the IJCNN 2021 paper's setting.

    Parameters
    ----------
    n_classes : int
        Number of classes, >= 1 (at least 2 logits in all).
    embedding_dim : int
        Dimension of the embeddings.
    n_subclusters : int, default=16
        Centres per class (the paper's default on DCASE 2020; 1 gives AdaCos).
    trainable : bool, default=False
        Whether the centres are learned.

    Attributes
    ----------
    centres : torch.Tensor of shape (n_classes, n_subclusters, embedding_dim)
        Unit centre vectors: a parameter when ``trainable``, else a buffer.
    scale : torch.Tensor of shape ()
        The current adaptive scale ``s`` (a buffer).
    takes_embeddings : bool
        True: :class:`~sklasd.training.ClassifierNet` gives this loss the
        network's ``embed`` output and sets ``n_classes`` and ``embedding_dim``.

    See Also
    --------
    AdaProjLoss : Class subspaces instead of sub-cluster centres.
    ArcFaceLoss : Fixed scale and an additive margin on a cosine head.
    adacos_scale : The scale rule.

    Notes
    -----
    Training-time scale updates make the loss depend on the batch it saw last;
    compare losses in evaluation mode. The computation runs in at least float32.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import SubclusterAdaCosLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = SubclusterAdaCosLoss(n_classes=3, embedding_dim=8, n_subclusters=2)
    >>> tuple(loss.centres.shape)
    (3, 2, 8)
    >>> embedding = torch.randn(4, 8, requires_grad=True)
    >>> value = loss(embedding, torch.tensor([0, 1, 2, 0]))  # updates the scale
    >>> value.backward()
    >>> embedding.grad.shape
    torch.Size([4, 8])
    >>> proba = loss.logits(embedding).softmax(dim=1)
    >>> tuple(proba.shape)
    (4, 3)
    """

    def __init__(
        self,
        n_classes: int,
        embedding_dim: int,
        *,
        n_subclusters: int = 16,
        trainable: bool = False,
    ) -> None:
        self.n_subclusters = _check_int("n_subclusters", n_subclusters, 1)
        super().__init__(
            n_classes, embedding_dim, self.n_subclusters, trainable=trainable, name="centres"
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, n_subclusters={self.n_subclusters}"

    def _cosines(self, x: torch.Tensor) -> torch.Tensor:
        """Cosines (batch, n_classes, n_subclusters) to every centre."""
        centres = F.normalize(self.centres, dim=-1).to(x.dtype)
        return torch.einsum("be,cke->bck", x, centres).clamp(-1.0, 1.0)

    def _class_logits(self, cosine: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(self.scale * cosine, dim=2)

    def _scale_statistics(
        self, cosine: torch.Tensor, soft: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        theta = torch.arccos(cosine.amax(dim=2))
        return self.scale * cosine.flatten(1), (soft * theta).sum(dim=1)


class AdaProjLoss(_AdaptiveAngularLoss):
    """AdaProj loss on embeddings: angular margins to class subspaces (Wilkinghoff, 2024).

    From "AdaProj: Adaptively scaled angular margin subspace projections for
    anomalous sound detection with auxiliary classification tasks" (DCASE 2024
    workshop, arXiv:2403.14179). Each class ``c`` is the span of
    ``subspace_dim`` unit vectors ``w_c1, ..., w_cD``; a clip's L2-normalised
    embedding ``x`` is projected onto it,

    ``P_c x = sum_j <x, w_cj> w_cj``,

    and the class's cosine is that between ``x`` and its projection,
    ``cos_c = <x, P_c x> / |P_c x|`` (which is ``|P_c x|`` when the ``w_cj``
    are orthonormal: the vectors of each class are initialised orthonormal, so
    with fixed vectors ``P_c`` is the orthogonal projection). The loss is the
    cross-entropy of the softmax of ``s cos_c`` with one-hot or soft (mixup)
    targets. A clip only needs to lie close to its class's subspace, not to a
    point, which leaves the normal data more room than AdaCos or sub-cluster
    AdaCos.

    The scale ``s`` follows the AdaCos rule (:func:`adacos_scale`) as in the
    reference implementation: ``B_avg`` is the batch mean of ``sum_c
    exp(s cos_c)`` in which each class that is a clip's full target (``y_c =
    1``) counts ``exp(0) = 1`` instead, and ``theta_med`` the median of the
    target angles ``sum_c y_c arccos(cos_c)``. It starts at ``sqrt(2)
    log(n_classes subspace_dim - 1)`` (at least ``sqrt(2)``), is a buffer
    saved with the state dict, and stays fixed in evaluation mode.

    Parameters
    ----------
    n_classes : int
        Number of classes, >= 2.
    embedding_dim : int
        Dimension of the embeddings.
    subspace_dim : int, default=32
        Dimension ``D`` of each class's subspace (the reference's 32 "sub-clusters"),
        less than ``embedding_dim``.
    trainable : bool, default=False
        Whether the subspace vectors are learned (fixed in the paper's system).

    Attributes
    ----------
    centres : torch.Tensor of shape (n_classes, subspace_dim, embedding_dim)
        The unit vectors spanning each class's subspace: a parameter when
        ``trainable``, else a buffer.
    scale : torch.Tensor of shape ()
        The current adaptive scale ``s`` (a buffer).
    takes_embeddings : bool
        True: :class:`~sklasd.training.ClassifierNet` gives this loss the
        network's ``embed`` output and sets ``n_classes`` and ``embedding_dim``.

    See Also
    --------
    SubclusterAdaCosLoss : Several centres per class instead of a subspace.
    adacos_scale : The scale rule.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import AdaProjLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = AdaProjLoss(n_classes=2, embedding_dim=6, subspace_dim=2)
    >>> w = loss.centres[0]  # an embedding inside class 0's subspace: cos_0 = 1
    >>> probe = (w[0] + 2 * w[1]).unsqueeze(0)
    >>> round((loss.logits(probe)[0, 0] / loss.scale).item(), 4)
    1.0
    >>> loss(torch.randn(3, 6), torch.tensor([0, 1, 1])).ndim
    0
    """

    def __init__(
        self,
        n_classes: int,
        embedding_dim: int,
        *,
        subspace_dim: int = 32,
        trainable: bool = False,
    ) -> None:
        self.subspace_dim = _check_int("subspace_dim", subspace_dim, 1)
        embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        if self.subspace_dim >= embedding_dim:
            raise ValueError(
                f"subspace_dim must be less than embedding_dim ({embedding_dim}): a subspace "
                f"of the whole embedding space holds every clip; got {subspace_dim}."
            )
        if _check_int("n_classes", n_classes, 1) < 2:
            raise ValueError(f"AdaProjLoss needs n_classes >= 2, got {n_classes}.")
        super().__init__(
            n_classes, embedding_dim, self.subspace_dim, trainable=trainable, name="vectors"
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, subspace_dim={self.subspace_dim}"

    def _init_centres(self, centres: torch.Tensor) -> torch.Tensor:
        # An orthonormal basis of the span of each class's random vectors.
        return torch.linalg.qr(centres.mT).Q.mT

    def _cosines(self, x: torch.Tensor) -> torch.Tensor:
        """Cosines (batch, n_classes) between each embedding and its projections."""
        w = F.normalize(self.centres, dim=-1).to(x.dtype)
        coefficients = torch.einsum("be,cde->bcd", x, w)
        projection = F.normalize(torch.einsum("bcd,cde->bce", coefficients, w), dim=2)
        return torch.einsum("be,bce->bc", x, projection).clamp(-1.0, 1.0)

    def _class_logits(self, cosine: torch.Tensor) -> torch.Tensor:
        return self.scale * cosine

    def _scale_statistics(
        self, cosine: torch.Tensor, soft: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scaled = torch.where(soft < 1, self.scale * cosine, torch.zeros_like(cosine))
        theta = torch.arccos(cosine)
        return scaled, (soft * theta).sum(dim=1)
