"""skorch callbacks shared by the nets of this package."""

from __future__ import annotations

import numpy as np
from skorch.callbacks import Callback

from sklasd.utils import seed_torch

__all__ = ["SeedEpochs"]


class SeedEpochs(Callback):
    """Reseed torch at the start of every epoch from ``(seed, epoch)``.

    Shuffling and dropout of epoch ``e`` then depend only on the seed and ``e``, so
    a fit resumed from a checkpoint continues as the uninterrupted fit would. Use it
    inside :func:`sklasd.utils.private_torch_rng`, which undoes the reseeding.

    Parameters
    ----------
    seed : int
        The fit's seed (see :func:`sklasd.utils.draw_seed`).

    Examples
    --------
    >>> from sklasd.training import ClassifierNet, SeedEpochs
    >>> from sklasd.nn import TDNN
    >>> net = ClassifierNet(TDNN, callbacks=[("seed_epochs", SeedEpochs(0))])
    """

    def __init__(self, seed: int):
        self.seed = seed

    def on_epoch_begin(self, net, **kwargs):
        sequence = np.random.SeedSequence([self.seed, len(net.history)])
        seed_torch(int(sequence.generate_state(1)[0]), net.device)
