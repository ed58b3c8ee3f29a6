"""The dense autoencoder of the DCASE Task 2 challenge baselines (2020 to 2025)."""

from __future__ import annotations

import itertools

import torch
from torch import nn

__all__ = ["DenseAutoencoder"]


class DenseAutoencoder(nn.Module):
    """Fully connected autoencoder on stacked log-mel frames, as in the DCASE baselines.

    ``n_layers`` blocks of Linear -> BatchNorm1d -> ReLU of width ``hidden`` encode
    the input down to a ``bottleneck``-wide block (also with BatchNorm and ReLU),
    ``n_layers`` such blocks decode it, and a last Linear layer maps back to the
    input size. The DCASE 2020 to 2025 baselines use 640 inputs (128 mel bands x
    5 frames), 4 layers of 128 units and a bottleneck of 8.

    Parameters
    ----------
    n_inputs : int, default=640
        Size of each input vector.
    hidden : int, default=128
        Width of the hidden layers.
    bottleneck : int, default=8
        Width of the bottleneck layer.
    n_layers : int, default=4
        Hidden layers of the encoder, and of the decoder.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import DenseAutoencoder
    >>> model = DenseAutoencoder(n_inputs=20, hidden=16, bottleneck=4, n_layers=2)
    >>> model(torch.zeros(3, 20)).shape
    torch.Size([3, 20])
    """

    def __init__(
        self, n_inputs: int = 640, hidden: int = 128, bottleneck: int = 8, n_layers: int = 4
    ):
        super().__init__()

        def block(n_in: int, n_out: int) -> list[nn.Module]:
            return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU()]

        widths = [n_inputs] + [hidden] * n_layers + [bottleneck] + [hidden] * n_layers
        layers = [layer for a, b in itertools.pairwise(widths) for layer in block(a, b)]
        self.layers = nn.Sequential(*layers, nn.Linear(hidden, n_inputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x`` of shape (batch, n_inputs)."""
        return self.layers(x)
