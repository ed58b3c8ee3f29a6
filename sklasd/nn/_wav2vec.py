"""Running and fine-tuning a wav2vec 2.0 model (an instance given, nothing imported here)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sklasd.nn._layers import _check_int

__all__ = ["Wav2VecClassifier", "wav2vec_hidden"]


def wav2vec_hidden(model: nn.Module, waves: torch.Tensor) -> torch.Tensor:
    """The last hidden state of a wav2vec 2.0 model for waveforms at 16 kHz.

    Each waveform is first standardised to zero mean and unit variance, as
    transformers' ``Wav2Vec2FeatureExtractor(do_normalize=True)`` prepares the
    input of ``facebook/wav2vec2-base``.

    Parameters
    ----------
    model : transformers.Wav2Vec2Model
        The model (any module whose output has ``last_hidden_state``).
    waves : torch.Tensor of shape (batch, n_samples)
        Waveforms sampled at 16 kHz.

    Returns
    -------
    torch.Tensor of shape (batch, n_hidden_frames, hidden_size)
        One frame every ``prod(conv_stride)`` samples (20 ms).

    Examples
    --------
    >>> import torch
    >>> from transformers import Wav2Vec2Config, Wav2Vec2Model
    >>> from sklasd.nn import wav2vec_hidden
    >>> _ = torch.manual_seed(0)
    >>> config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
    ...     intermediate_size=32, conv_dim=(8, 8), conv_stride=(5, 64),
    ...     conv_kernel=(10, 128), num_conv_pos_embeddings=16,
    ...     num_conv_pos_embedding_groups=2)
    >>> tuple(wav2vec_hidden(Wav2Vec2Model(config).eval(), torch.randn(2, 16000)).shape)
    (2, 48, 16)
    """
    mean = waves.mean(dim=-1, keepdim=True)
    var = waves.var(dim=-1, keepdim=True, unbiased=False)
    return model((waves - mean) / torch.sqrt(var + 1e-7)).last_hidden_state


class Wav2VecClassifier(nn.Module):
    """A wav2vec 2.0 model with a linear head, fine-tuning its top layers on waveform crops.

    The fine-tuning network of :class:`sklasd.embedders.Wav2Vec` with
    ``fine_tune=True``, in the interface of :mod:`sklasd.nn`'s networks for
    :class:`sklasd.embedders.NetEmbedder`: the input is waveform crops at 16 kHz
    cut into blocks (batch, 1, block_length, k) as
    :func:`sklasd.features.waveform_frames` cuts them; :meth:`embed` is the
    time average of the model's last hidden state (:func:`wav2vec_hidden`) and
    :meth:`forward` a linear layer on it. Every parameter of ``model`` is
    frozen except those of its top ``n_trainable_layers`` transformer layers;
    the convolutional feature encoder stays frozen
    (``model.freeze_feature_encoder()``) and SpecAugment masking is turned off
    (``model.config.apply_spec_augment = False``: its masks are drawn from
    numpy's global random state).

    Parameters
    ----------
    model : transformers.Wav2Vec2Model
        The model, modified in place (frozen layers, no SpecAugment).
    n_classes : int
        Number of classes, >= 2.
    in_channels : int, default=1
        Channels of the input; must be 1.
    input_size : tuple of (int, int), default=(320, 16)
        (block_length, k) of the training crops (as NetEmbedder sets it).
    n_trainable_layers : int, default=2
        Number of transformer layers, counted from the top, that train.

    Attributes
    ----------
    model : transformers.Wav2Vec2Model
        The model.
    classifier : torch.nn.Linear
        The head, from ``hidden_size`` to ``n_classes``.

    See Also
    --------
    sklasd.embedders.Wav2Vec : The transformer that fine-tunes with it.

    Examples
    --------
    >>> import torch
    >>> from transformers import Wav2Vec2Config, Wav2Vec2Model
    >>> from sklasd.nn import Wav2VecClassifier
    >>> _ = torch.manual_seed(0)
    >>> config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    ...     intermediate_size=32, conv_dim=(8, 8), conv_stride=(5, 64),
    ...     conv_kernel=(10, 128), num_conv_pos_embeddings=16,
    ...     num_conv_pos_embedding_groups=2)
    >>> net = Wav2VecClassifier(model=Wav2Vec2Model(config), n_classes=3,
    ...                         input_size=(320, 25), n_trainable_layers=1)
    >>> tuple(net(torch.randn(4, 1, 320, 25)).shape)
    (4, 3)
    >>> sum(p.numel() for p in net.parameters() if p.requires_grad) < 5000
    True
    """

    def __init__(
        self,
        *,
        model: nn.Module,
        n_classes: int,
        in_channels: int = 1,
        input_size: Sequence[int] = (320, 16),
        n_trainable_layers: int = 2,
    ) -> None:
        super().__init__()
        if _check_int("in_channels", in_channels, 1) != 1:
            raise ValueError(
                f"Wav2VecClassifier takes mono waveforms, got in_channels={in_channels}."
            )
        self.block_length = _check_int("input_size[0]", input_size[0], 1)
        n_trainable_layers = _check_int("n_trainable_layers", n_trainable_layers, 0)
        model.config.apply_spec_augment = False
        model.freeze_feature_encoder()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        layers = model.encoder.layers
        for layer in layers[max(len(layers) - n_trainable_layers, 0) :]:
            for parameter in layer.parameters():
                parameter.requires_grad_(True)
        self.model = model
        self.classifier = nn.Linear(
            model.config.hidden_size, _check_int("n_classes", n_classes, 2)
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Time-averaged last hidden state (batch, hidden_size) of waveform blocks."""
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != self.block_length:
            raise ValueError(
                f"Wav2VecClassifier expects waveform blocks of shape (batch, 1, "
                f"{self.block_length}, k), got {tuple(x.shape)}."
            )
        waves = x[:, 0].mT.reshape(x.shape[0], -1)
        return wav2vec_hidden(self.model, waves).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (batch, n_classes) of waveform blocks."""
        return self.classifier(self.embed(x))
