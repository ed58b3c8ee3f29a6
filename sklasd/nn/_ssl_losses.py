"""Self-supervised and supervised contrastive losses of RC-MAE (Zahedi et al., Algorithms 2023).

Pre-training: :class:`RCMAELoss`, the weighted sum of an InfoNCE loss between a
clip and an augmented view (:class:`InfoNCELoss`), a variance-covariance
regulariser on each branch (:class:`VarianceCovarianceLoss`) and the
masked-patch reconstruction error (:func:`masked_mse`). Fine-tuning:
:class:`SupConCELoss`, a weighted supervised contrastive loss
(:class:`SupConLoss`) plus cross-entropy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sklasd.nn._layers import _check_real
from sklasd.nn._losses import CrossEntropyLoss
from sklasd.nn._metric_losses import _check_weight

__all__ = [
    "InfoNCELoss",
    "RCMAELoss",
    "SupConCELoss",
    "SupConLoss",
    "VarianceCovarianceLoss",
    "masked_mse",
]


def _check_pair(z1: torch.Tensor, z2: torch.Tensor, name: str) -> None:
    if z1.dim() != 2 or z1.shape != z2.shape or z1.shape[0] < 2:
        raise ValueError(
            f"{name} expects two batches of embeddings of equal shape (batch >= 2, dim), "
            f"got {tuple(z1.shape)} and {tuple(z2.shape)}."
        )


def _check_temperature(temperature) -> float:
    return _check_real("temperature", temperature, 0.0, float("inf"), low_open=True)


class InfoNCELoss(nn.Module):
    """InfoNCE (NT-Xent) between two views of a batch (Chen et al., SimCLR, ICML 2020).

    The ``2 * batch`` embeddings are L2-normalised; each one's positive is the
    other view of the same clip, its negatives the ``2 * batch - 2`` other
    embeddings; the loss is the mean cross-entropy of the cosine similarities
    divided by ``temperature``.

    Parameters
    ----------
    temperature : float, default=0.05
        Softmax temperature (> 0); RC-MAE's 0.05.

    See Also
    --------
    SupConLoss : The same with every clip of the class as positive.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import InfoNCELoss
    >>> z = torch.eye(4)
    >>> loss = InfoNCELoss(temperature=0.05)
    >>> bool(loss(z, z) < 1e-6), bool(loss(z, z.roll(1, dims=0)) > 10)
    (True, True)
    """

    def __init__(self, *, temperature: float = 0.05) -> None:
        super().__init__()
        self.temperature = _check_temperature(temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """Mean InfoNCE loss of both views.

        Parameters
        ----------
        z1, z2 : torch.Tensor of shape (batch, dim)
            Embeddings of the clips and of their views, row ``i`` of both from
            clip ``i``; batch >= 2.

        Returns
        -------
        torch.Tensor of shape ()
        """
        _check_pair(z1, z2, "InfoNCELoss")
        batch = z1.shape[0]
        z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
        similarity = z @ z.T / self.temperature
        similarity = similarity.masked_fill(
            torch.eye(2 * batch, dtype=torch.bool, device=z.device), float("-inf")
        )
        positive = torch.arange(2 * batch, device=z.device).roll(batch)
        return F.cross_entropy(similarity, positive)


class VarianceCovarianceLoss(nn.Module):
    """Variance-covariance regulariser of a batch of embeddings (VICReg, Bardes et al., 2022).

    ``variance_weight * v(Z) + covariance_weight * c(Z)`` with ``v(Z) =
    mean_j(relu(std_target - sqrt(var_j + eps)))`` and ``c(Z) = sum_{i !=
    j}(cov_ij ** 2) / dim`` (Zahedi et al. 2023, Eqs. 4-6): a hinge keeps the
    standard deviation of every dimension over the batch at least
    ``std_target`` (against collapse), and the squared off-diagonal covariances
    divided by the dimension decorrelate the dimensions. The default weights
    give their average, ``L_VCR = (v(Z) + c(Z)) / 2`` (Eq. 7).

    Parameters
    ----------
    std_target : float, default=1.0
        Target standard deviation of each dimension (VICReg's gamma).
    eps : float, default=1e-4
        Added to the variance under the square root.
    variance_weight, covariance_weight : float, default=0.5
        Weights (>= 0) of the two terms (Eq. 7: 1/2 each).

    See Also
    --------
    RCMAELoss : Applies it to each branch.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import VarianceCovarianceLoss
    >>> vcr = VarianceCovarianceLoss()
    >>> collapsed = torch.ones(8, 4)
    >>> spread = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]]) * 2
    >>> round(vcr(collapsed).item(), 3), round(vcr(spread).item(), 3)
    (0.495, 0.0)
    """

    def __init__(
        self,
        *,
        std_target: float = 1.0,
        eps: float = 1e-4,
        variance_weight: float = 0.5,
        covariance_weight: float = 0.5,
    ) -> None:
        super().__init__()
        self.std_target = _check_weight("std_target", std_target)
        self.eps = _check_real("eps", eps, 0.0, float("inf"), low_open=True)
        self.variance_weight = _check_weight("variance_weight", variance_weight)
        self.covariance_weight = _check_weight("covariance_weight", covariance_weight)

    def extra_repr(self) -> str:
        return (
            f"std_target={self.std_target}, variance_weight={self.variance_weight}, "
            f"covariance_weight={self.covariance_weight}"
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The regulariser of ``z`` of shape (batch >= 2, dim); shape ()."""
        if z.dim() != 2 or z.shape[0] < 2:
            raise ValueError(
                "VarianceCovarianceLoss expects embeddings of shape (batch >= 2, dim), got "
                f"{tuple(z.shape)}."
            )
        z = z.float()
        z = z - z.mean(dim=0)
        batch, dim = z.shape
        std = (z.var(dim=0) + self.eps).sqrt()
        variance = F.relu(self.std_target - std).mean()
        covariance = z.T @ z / (batch - 1)
        off_diagonal = covariance.square().sum() - covariance.diagonal().square().sum()
        return self.variance_weight * variance + self.covariance_weight * off_diagonal / dim


def masked_mse(
    predicted: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    *,
    normalize_target: bool = False,
) -> torch.Tensor:
    """Mean squared error on the masked patches only (the MAE reconstruction loss).

    Parameters
    ----------
    predicted, target : torch.Tensor of shape (batch, n_patches, patch_dim)
        Reconstructed and true patches (:func:`~sklasd.nn.patchify`).
    mask : torch.Tensor of shape (batch, n_patches)
        1 where a patch was masked, 0 where it was visible.
    normalize_target : bool, default=False
        Standardise each target patch by its own mean and variance first (MAE's
        ``norm_pix_loss``).

    Returns
    -------
    torch.Tensor of shape ()
        The mean over masked patches of the per-patch mean squared error.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import masked_mse
    >>> target = torch.zeros(1, 2, 3)
    >>> predicted = torch.tensor([[[1.0, 1, 1], [5, 5, 5]]])
    >>> masked_mse(predicted, target, torch.tensor([[1.0, 0.0]])).item()  # the 5s are visible
    1.0
    """
    if predicted.shape != target.shape or mask.shape != predicted.shape[:2]:
        raise ValueError(
            "masked_mse expects predicted and target of equal shape (batch, n_patches, "
            f"patch_dim) and mask (batch, n_patches), got {tuple(predicted.shape)}, "
            f"{tuple(target.shape)} and {tuple(mask.shape)}."
        )
    target = target.float()
    if normalize_target:
        mean, var = target.mean(dim=-1, keepdim=True), target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()
    error = (predicted.float() - target).square().mean(dim=-1)
    mask = mask.float()
    return (error * mask).sum() / mask.sum().clamp_min(1.0)


class RCMAELoss(nn.Module):
    """The pre-training loss of RC-MAE: ``w_con * L_con + w_vcr * L_VCR + w_mae * L_MAE``.

    On the output ``(predicted, target, mask, z, z_view)`` of
    :class:`~sklasd.nn.RCMAENet`: ``L_con`` is :class:`InfoNCELoss` between the
    projections of the clips and of their views (Eq. 3), ``L_VCR`` the
    :class:`VarianceCovarianceLoss` (Eq. 7, ``(v + c) / 2``) applied to each
    branch separately and averaged over the two (the paper does not say how
    the branches combine; their mean keeps ``L_VCR`` on the scale of Eq. 7),
    ``L_MAE`` the :func:`masked_mse` of the masked patches (Eq. 2). The
    default weights 0.3, 0.3 and 0.4 (Eq. 8) and temperature 0.05 are the
    paper's.

    Parameters
    ----------
    contrastive_weight : float, default=0.3
        Weight of ``L_con`` (>= 0).
    vcr_weight : float, default=0.3
        Weight of ``L_VCR`` (>= 0).
    mae_weight : float, default=0.4
        Weight of ``L_MAE`` (>= 0).
    temperature : float, default=0.05
        Temperature of the InfoNCE loss.
    normalize_target : bool, default=False
        Whether the reconstruction targets are standardised per patch.

    Attributes
    ----------
    contrastive, vcr : torch.nn.Module
        The :class:`InfoNCELoss` and :class:`VarianceCovarianceLoss` terms.

    See Also
    --------
    sklasd.nn.RCMAENet : The network whose output this loss takes.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import RCMAELoss, masked_mse
    >>> _ = torch.manual_seed(0)
    >>> predicted, target = torch.randn(4, 6, 5), torch.randn(4, 6, 5)
    >>> mask, z, z_view = torch.ones(4, 6), torch.randn(4, 8), torch.randn(4, 8)
    >>> loss = RCMAELoss(contrastive_weight=0.0, vcr_weight=0.0, mae_weight=1.0)
    >>> output = (predicted, target, mask, z, z_view)
    >>> bool(torch.isclose(loss(output), masked_mse(predicted, target, mask)))
    True
    """

    def __init__(
        self,
        *,
        contrastive_weight: float = 0.3,
        vcr_weight: float = 0.3,
        mae_weight: float = 0.4,
        temperature: float = 0.05,
        normalize_target: bool = False,
    ) -> None:
        super().__init__()
        self.contrastive_weight = _check_weight("contrastive_weight", contrastive_weight)
        self.vcr_weight = _check_weight("vcr_weight", vcr_weight)
        self.mae_weight = _check_weight("mae_weight", mae_weight)
        self.normalize_target = bool(normalize_target)
        self.contrastive = InfoNCELoss(temperature=temperature)
        self.vcr = VarianceCovarianceLoss()

    def extra_repr(self) -> str:
        return (
            f"contrastive_weight={self.contrastive_weight}, vcr_weight={self.vcr_weight}, "
            f"mae_weight={self.mae_weight}"
        )

    def forward(self, output, target: torch.Tensor | None = None) -> torch.Tensor:
        """The weighted loss; ``target`` (skorch's placeholder labels) is ignored.

        Parameters
        ----------
        output : tuple of torch.Tensor
            ``(predicted, target_patches, mask, z, z_view)`` from
            :class:`~sklasd.nn.RCMAENet`.
        target : torch.Tensor or None, default=None
            Ignored.

        Returns
        -------
        torch.Tensor of shape ()
        """
        if not isinstance(output, tuple | list) or len(output) != 5:
            raise ValueError(
                "RCMAELoss expects the output (predicted, target, mask, z, z_view) of "
                f"RCMAENet, got {type(output).__name__}."
            )
        predicted, patches, mask, z, z_view = output
        loss = self.mae_weight * masked_mse(
            predicted, patches, mask, normalize_target=self.normalize_target
        )
        if self.contrastive_weight > 0:
            loss = loss + self.contrastive_weight * self.contrastive(z, z_view)
        if self.vcr_weight > 0:
            loss = loss + self.vcr_weight * (self.vcr(z) + self.vcr(z_view)) / 2
        return loss


class SupConLoss(nn.Module):
    """Supervised contrastive loss (Khosla et al., NeurIPS 2020, the L_out variant).

    For each anchor of the batch, the positives are the other embeddings of its
    class; its loss is minus the mean over its positives of the log-softmax of
    the cosine similarities / ``temperature`` over all other embeddings. The
    loss averages the anchors that have a positive; a batch without any gives 0
    (with a zero gradient).

    Parameters
    ----------
    temperature : float, default=0.07
        Softmax temperature (> 0), the SupCon paper's default.

    See Also
    --------
    SupConCELoss : This loss plus cross-entropy, for fine-tuning.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import SupConLoss
    >>> labels = torch.tensor([0, 0, 1, 1])
    >>> clustered = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    >>> mixed = torch.tensor([[1.0, 0], [0, 1], [1, 0], [0, 1]])
    >>> loss = SupConLoss(temperature=0.1)
    >>> bool(loss(clustered, labels) < loss(mixed, labels))
    True
    """

    def __init__(self, *, temperature: float = 0.07) -> None:
        super().__init__()
        self.temperature = _check_temperature(temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The mean loss of the anchors with a positive.

        Parameters
        ----------
        embeddings : torch.Tensor of shape (batch, dim)
            Embeddings (normalised here).
        labels : torch.Tensor of shape (batch,)
            Class of every embedding.

        Returns
        -------
        torch.Tensor of shape ()
        """
        if embeddings.dim() != 2 or labels.shape != embeddings.shape[:1]:
            raise ValueError(
                "SupConLoss expects embeddings (batch, dim) and labels (batch,), got "
                f"{tuple(embeddings.shape)} and {tuple(labels.shape)}."
            )
        z = F.normalize(embeddings.float(), dim=1)
        self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
        similarity = (z @ z.T / self.temperature).masked_fill(self_mask, float("-inf"))
        log_prob = similarity.log_softmax(dim=1).masked_fill(self_mask, 0.0)
        positive = (labels[:, None] == labels[None, :]) & ~self_mask
        n_positive = positive.sum(dim=1)
        anchors = n_positive > 0
        if not anchors.any():
            return embeddings.sum() * 0.0
        per_anchor = -(log_prob * positive).sum(dim=1)[anchors] / n_positive[anchors]
        return per_anchor.mean()


class SupConCELoss(nn.Module):
    """Fine-tuning loss of RC-MAE: ``supcon_weight * SupCon + ce_weight * cross-entropy``.

    On the output ``(logits, projection)`` of :class:`~sklasd.nn.ViTClassifier`:
    :class:`SupConLoss` on the projections and :class:`~sklasd.nn.CrossEntropyLoss`
    on the logits, both with the section classes as labels. The paper weights
    both terms without stating the weights; the defaults (1, 1) are ours.

    Parameters
    ----------
    supcon_weight : float, default=1.0
        Weight of the supervised contrastive term (>= 0).
    ce_weight : float, default=1.0
        Weight of the cross-entropy term (>= 0).
    temperature : float, default=0.07
        Temperature of :class:`SupConLoss`.

    See Also
    --------
    RCMAELoss : The pre-training loss.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import SupConCELoss
    >>> logits, projection = torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.eye(2)
    >>> criterion = SupConCELoss(supcon_weight=0.0)
    >>> round(criterion((logits, projection), torch.tensor([0, 1])).item(), 4)
    0.1269
    >>> criterion.logits((logits, projection)) is logits
    True
    """

    def __init__(
        self, *, supcon_weight: float = 1.0, ce_weight: float = 1.0, temperature: float = 0.07
    ) -> None:
        super().__init__()
        self.supcon_weight = _check_weight("supcon_weight", supcon_weight)
        self.ce_weight = _check_weight("ce_weight", ce_weight)
        self.supcon = SupConLoss(temperature=temperature)
        self.cross_entropy = CrossEntropyLoss()

    def extra_repr(self) -> str:
        return f"supcon_weight={self.supcon_weight}, ce_weight={self.ce_weight}"

    def forward(self, output, target: torch.Tensor) -> torch.Tensor:
        """The weighted loss of ``output = (logits, projection)`` for classes ``target``."""
        logits, projection = output
        loss = self.ce_weight * self.cross_entropy(logits, target)
        if self.supcon_weight > 0:
            loss = loss + self.supcon_weight * self.supcon(projection, target)
        return loss

    def logits(self, output) -> torch.Tensor:
        """The logits part of ``output`` (or ``output`` itself when it is not a tuple)."""
        return output[0] if isinstance(output, tuple | list) else output
