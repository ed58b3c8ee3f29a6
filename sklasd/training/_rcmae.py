"""Training pieces of RC-MAE: paired crops for contrastive pre-training, encoder transfer."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from skorch.callbacks import Callback

from sklasd.training._data import RandomCrops, check_features

__all__ = ["InitEncoder", "PairedCrops"]


class PairedCrops(RandomCrops):
    """Pre-training dataset: a random crop of each clip and an augmented view of it.

    Item ``i`` is ``((crop, view), 0)``: ``crop`` is the random crop of clip
    ``i`` that :class:`RandomCrops` draws for the epoch, and ``view`` the same
    frames of ``views[i]`` (or of the clip itself when ``views`` is None),
    passed through ``augmentation`` with a generator seeded from ``(seed,
    epoch, i)``. Views thus change from epoch to epoch yet depend on nothing
    but the seed, the epoch and the item.

    Parameters
    ----------
    X : ndarray of shape (n_clips, n_channels, n_bands, n_total_frames)
        float32 features, at least ``n_frames`` long.
    views : ndarray of the shape of ``X`` or None, default=None
        Features of augmented versions of the clips (e.g. of noisy or
        generated waveforms); None uses the clips themselves.
    n_frames : int
        Crop length in frames.
    augmentation : callable or None, default=None
        ``augmentation(view, rng)`` returns an augmented copy of a crop
        (n_channels, n_bands, n_frames) given a :class:`numpy.random.Generator`,
        e.g. a :class:`sklasd.features.Compose` of masks; None leaves views as
        they are.
    seed : int, default=0
        Seed of the crop positions and of the augmentation.
    epoch : int or None, default=None
        Epoch whose crops and views are drawn; None for fixed ones.

    See Also
    --------
    RandomCrops : The crops without views.
    sklasd.nn.RCMAENet : Takes the ``(crop, view)`` pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import PairedCrops
    >>> X = np.zeros((3, 1, 4, 10), dtype=np.float32)
    >>> plus_one = lambda view, rng: view + 1
    >>> (crop, view), target = PairedCrops(X, n_frames=6, augmentation=plus_one)[0]
    >>> tuple(crop.shape), float(view.mean() - crop.mean()), int(target)
    ((1, 4, 6), 1.0, 0)
    """

    def __init__(
        self,
        X,
        views=None,
        *,
        n_frames: int,
        augmentation: Callable | None = None,
        seed: int = 0,
        epoch: int | None = None,
    ):
        X = check_features(X, n_frames=n_frames)
        self.n_channels = X.shape[1]
        self.has_views = views is not None
        if views is not None:
            views = check_features(views, n_frames=n_frames)
            if views.shape != X.shape:
                raise ValueError(f"views must have the shape of X {X.shape}, got {views.shape}.")
            # One array, so that the crop and its view share the crop position.
            X = np.concatenate([X, views], axis=1)
        super().__init__(X, None, n_frames=n_frames, seed=seed, epoch=epoch)
        self.augmentation = augmentation

    def __getitem__(self, index: int):
        crop, target = super().__getitem__(index)
        view = crop[self.n_channels :] if self.has_views else crop
        crop = crop[: self.n_channels]
        if self.augmentation is not None:
            key = (
                [self.seed, 2, index] if self.epoch is None else [self.seed, 3, self.epoch, index]
            )
            augmented = self.augmentation(view.numpy(), np.random.default_rng(key))
            view = torch.from_numpy(np.ascontiguousarray(augmented, dtype=np.float32))
        return (crop, view), target


class InitEncoder(Callback):
    """Load pre-trained weights into ``net.module_.encoder`` when a fresh fit begins.

    For fine-tuning a :class:`~sklasd.nn.ViTClassifier` from the encoder of a
    pre-trained :class:`~sklasd.nn.RCMAENet`. A fit resumed from a checkpoint
    (whose history is restored before this callback runs) keeps its weights.

    Parameters
    ----------
    state_dict : mapping of str to ndarray or torch.Tensor
        ``encoder.state_dict()`` of the pre-trained encoder. Give numpy arrays
        (``{name: tensor.cpu().numpy()}``) for a net that must unpickle on any
        device: this callback stays in the net's ``callbacks`` parameter.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import ViTClassifier, ViTEncoder
    >>> from sklasd.training import ClassifierNet
    >>> from sklasd.training import InitEncoder
    >>> config = dict(input_size=(8, 8), patch_size=4, embed_dim=8, depth=1, n_heads=2)
    >>> encoder = ViTEncoder(**config)
    >>> net = ClassifierNet(ViTClassifier, max_epochs=0, callbacks=[
    ...     ("init_encoder", InitEncoder(encoder.state_dict()))],
    ...     **{f"module__{k}": v for k, v in config.items()})
    >>> _ = net.fit(torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]))
    >>> bool(torch.equal(net.module_.encoder.cls_token, encoder.cls_token))
    True
    """

    def __init__(self, state_dict: Mapping[str, torch.Tensor]):
        self.state_dict = state_dict

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if len(net.history) == 0:
            net.module_.encoder.load_state_dict(
                {name: torch.as_tensor(value) for name, value in self.state_dict.items()}
            )
