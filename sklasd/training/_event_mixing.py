"""Sound-event detection training: crops of different classes mixed together at random."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import torch

__all__ = ["EventMixing"]


class EventMixing:
    """Collate function that mixes crops of different classes into multi-event clips.

    The training data of sound-event detection (SED) in Zeng, Liu and Zhou's
    DCASE 2023 system: clips of several sound events (machine types, sections
    or attribute classes) are mixed together at random, and the network learns
    which events a mixture holds with a sigmoid per class
    (:class:`~sklasd.nn.MultiLabelBCELoss`). Pass an instance as the
    ``iterator_train__collate_fn`` of a :class:`ClassifierNet` trained on
    :class:`RandomCrops` (as :class:`~sklasd.detectors.SoundEventDetector`
    does with ``mode="sed"``): every batch of crops ``(x_i, y_i)`` is stacked,
    then, ``max_events - 1`` times, each crop is mixed with probability
    ``probability`` with the (unmixed) crop of another item of the batch drawn at
    random among the others, when that item's class is not yet in the mixture. The targets become
    the indices of each mixture's events, shape (batch, max_events), padded
    with -1.

    Mixing adds powers: features in decibels (``scale="db"``, the output of
    :class:`~sklasd.features.LogMel`) are combined as
    ``10 log10(10^(a/10) + 10^(b/10))``, the log-mel of the sum of two
    uncorrelated sounds; ``scale="linear"`` adds the values.

    Random draws use torch's global generator, which :class:`~sklasd.embedders.NetEmbedder`
    forks and seeds per epoch from its ``random_state``, so mixtures are
    repeatable and the caller's random state is left alone.

    Parameters
    ----------
    max_events : int, default=2
        Most events per mixture (>= 1; 1 leaves the crops unmixed).
    probability : float, default=0.5
        Probability, at each of the ``max_events - 1`` mixing steps, that a crop
        gets one more event.
    scale : {"db", "linear"}, default="db"
        How the features add; see above.

    See Also
    --------
    RandomCrops : The training dataset whose items this collates.
    sklasd.nn.MultiLabelBCELoss : The loss of the padded event targets.

    Examples
    --------
    >>> import torch
    >>> from sklasd.training import EventMixing
    >>> batch = [(torch.full((1, 2, 3), -10.0), torch.tensor(0)),
    ...          (torch.full((1, 2, 3), -10.0), torch.tensor(1))]
    >>> _ = torch.manual_seed(0)
    >>> X, events = EventMixing(probability=1.0)(batch)
    >>> events.tolist()
    [[0, 1], [1, 0]]
    >>> round(X[0, 0, 0, 0].item(), 2)  # two equal powers: +3 dB
    -6.99
    """

    def __init__(self, *, max_events: int = 2, probability: float = 0.5, scale: str = "db"):
        self.max_events = max_events
        self.probability = probability
        self.scale = scale

    def _check_params(self) -> None:
        if (
            isinstance(self.max_events, bool)
            or not isinstance(self.max_events, Integral)
            or self.max_events < 1
        ):
            raise ValueError(f"max_events must be an integer >= 1, got {self.max_events!r}.")
        if (
            isinstance(self.probability, bool)
            or not isinstance(self.probability, Real)
            or not 0 <= self.probability <= 1
        ):
            raise ValueError(f"probability must be a number in [0, 1], got {self.probability!r}.")
        if self.scale not in ("db", "linear"):
            raise ValueError(f"scale must be 'db' or 'linear', got {self.scale!r}.")

    def _add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.scale == "linear":
            return a + b
        factor = math.log(10.0) / 10.0
        return torch.logaddexp(a * factor, b * factor) / factor

    def __call__(
        self, batch: Sequence[tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixtures (batch, ...) and their event indices (batch, max_events), -1 padded."""
        self._check_params()
        crops = torch.stack([torch.as_tensor(crop) for crop, _ in batch])
        classes = torch.stack([torch.as_tensor(target) for _, target in batch]).long()
        if classes.dim() != 1:
            raise ValueError(
                "EventMixing mixes clips of one class each; got targets of shape "
                f"{tuple(classes.shape[1:])} per clip (multi-task targets are not supported)."
            )
        n_items = len(batch)
        events = torch.full((n_items, self.max_events), -1, dtype=torch.long)
        events[:, 0] = classes
        mixed = crops.clone()
        for slot in range(1, self.max_events):
            # Another item of the batch: i + 1 to i + n - 1, modulo n.
            offset = torch.randint(1, max(n_items, 2), (n_items,))
            partner = (torch.arange(n_items) + offset) % n_items
            take = torch.rand(n_items) < self.probability
            take &= ~(events == classes[partner][:, None]).any(dim=1)
            if take.any():
                mixed[take] = self._add(mixed[take], crops[partner[take]])
                events[take, slot] = classes[partner[take]]
        # Events first, padding last, whatever slot the mixing filled.
        order = torch.argsort((events < 0).long(), dim=1, stable=True)
        return mixed, torch.gather(events, 1, order)
