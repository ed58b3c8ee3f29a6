"""Plain torch networks and losses for embedding classifiers (no scikit-learn in here).

Networks map spectrogram crops of shape (batch, in_channels, n_mels, n_frames) to
class outputs (``forward``) and embeddings (``embed``); losses share the interface
``loss(output, target)`` and ``logits(output)``.
"""

from sklasd.nn._layers import CosineHead
from sklasd.nn._losses import ArcFaceLoss, CrossEntropyLoss
from sklasd.nn._mobilefacenet import MOBILEFACENET_BLOCKS, BottleneckRow, MobileFaceNet
from sklasd.nn._mobilenetv3 import MOBILENETV3_ID_BLOCKS, BneckRow, MobileNetV3IDNet

__all__ = [
    "MOBILEFACENET_BLOCKS",
    "MOBILENETV3_ID_BLOCKS",
    "ArcFaceLoss",
    "BneckRow",
    "BottleneckRow",
    "CosineHead",
    "CrossEntropyLoss",
    "MobileFaceNet",
    "MobileNetV3IDNet",
]
