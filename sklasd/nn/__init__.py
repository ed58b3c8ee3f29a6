"""Plain torch networks and losses for embedding classifiers (no scikit-learn in here).

Networks map spectrogram crops of shape (batch, in_channels, n_mels, n_frames) to
class outputs (``forward``) and embeddings (``embed``); losses share the interface
``loss(output, target)`` and ``logits(output)``.
"""

from sklasd.nn._adacos import AdaProjLoss, SubclusterAdaCosLoss, adacos_scale
from sklasd.nn._autoencoder import DenseAutoencoder
from sklasd.nn._centroid_losses import (
    CENTROID_ALPHA,
    CENTROID_LOSSES,
    CentroidLoss,
    centroid_score,
    class_centroids,
)
from sklasd.nn._dual_branch import DualBranchNet, SpectrumBranch
from sklasd.nn._layers import CosineHead
from sklasd.nn._losses import ArcFaceLoss, CrossEntropyLoss
from sklasd.nn._metric_losses import (
    AttributeHeads,
    AttributeLoss,
    BatchHardTripletLoss,
    ClassificationTripletAttributeLoss,
)
from sklasd.nn._mixup import feature_exchange, mixup
from sklasd.nn._mobilefacenet import MOBILEFACENET_BLOCKS, BottleneckRow, MobileFaceNet
from sklasd.nn._mobilenetv2 import MOBILENETV2_BLOCKS, MobileNetV2
from sklasd.nn._mobilenetv3 import MOBILENETV3_ID_BLOCKS, BneckRow, MobileNetV3IDNet
from sklasd.nn._multilabel import MultiLabelBCELoss
from sklasd.nn._multitask import MultiTaskOutputs
from sklasd.nn._pretrained import load_pretrained_weights
from sklasd.nn._resnet38 import RESNET38_LAYERS, BinaryOutput, ResNet38
from sklasd.nn._rfr_cnn import (
    CBAM,
    DEFAULT_STAGE_WEIGHTS,
    RFRCNN,
    StageBCELoss,
    combine_stages,
)
from sklasd.nn._shallow_vit import ShallowViT
from sklasd.nn._ssl_losses import (
    InfoNCELoss,
    RCMAELoss,
    SupConCELoss,
    SupConLoss,
    VarianceCovarianceLoss,
    masked_mse,
)
from sklasd.nn._stgram import STgramNet
from sklasd.nn._tdnn import TDNN, TDNN_FRAME_LAYERS, TDNNRow
from sklasd.nn._tgram import TgramNet
from sklasd.nn._vit import (
    MAEDecoder,
    RCMAENet,
    ViTClassifier,
    ViTEncoder,
    patchify,
    random_masking,
    sincos_pos_embed,
)
from sklasd.nn._wav2vec import Wav2VecClassifier, wav2vec_hidden

__all__ = [
    "CBAM",
    "CENTROID_ALPHA",
    "CENTROID_LOSSES",
    "DEFAULT_STAGE_WEIGHTS",
    "MOBILEFACENET_BLOCKS",
    "MOBILENETV2_BLOCKS",
    "MOBILENETV3_ID_BLOCKS",
    "RESNET38_LAYERS",
    "RFRCNN",
    "TDNN",
    "TDNN_FRAME_LAYERS",
    "AdaProjLoss",
    "ArcFaceLoss",
    "AttributeHeads",
    "AttributeLoss",
    "BatchHardTripletLoss",
    "BinaryOutput",
    "BneckRow",
    "BottleneckRow",
    "CentroidLoss",
    "ClassificationTripletAttributeLoss",
    "CosineHead",
    "CrossEntropyLoss",
    "DenseAutoencoder",
    "DualBranchNet",
    "InfoNCELoss",
    "MAEDecoder",
    "MobileFaceNet",
    "MobileNetV2",
    "MobileNetV3IDNet",
    "MultiLabelBCELoss",
    "MultiTaskOutputs",
    "RCMAELoss",
    "RCMAENet",
    "ResNet38",
    "STgramNet",
    "ShallowViT",
    "SpectrumBranch",
    "StageBCELoss",
    "SubclusterAdaCosLoss",
    "SupConCELoss",
    "SupConLoss",
    "TDNNRow",
    "TgramNet",
    "VarianceCovarianceLoss",
    "ViTClassifier",
    "ViTEncoder",
    "Wav2VecClassifier",
    "adacos_scale",
    "centroid_score",
    "class_centroids",
    "combine_stages",
    "feature_exchange",
    "load_pretrained_weights",
    "masked_mse",
    "mixup",
    "patchify",
    "random_masking",
    "sincos_pos_embed",
    "wav2vec_hidden",
]
