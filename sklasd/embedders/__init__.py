"""Trained embedders: networks fitted on the clips' labels, as scikit-learn transformers.

:class:`NetEmbedder` trains a network (a :class:`~sklasd.training.ClassifierNet`) to
tell sections or attributes apart on crops of features and maps clips to embeddings and
class probabilities; :class:`Tgram` and :class:`Wav2Vec` are waveform features learned
(or fine-tuned) that way, frame-aligned with :class:`~sklasd.features.LogMel`;
:class:`RCMAEPretrainer` pre-trains a ViT self-supervised. This floor sits between the
training machinery of :mod:`sklasd.training` and the detectors that compose them.
"""

from sklasd.embedders._net_embedder import NetEmbedder
from sklasd.embedders._rcmae import RCMAEPretrainer, make_rcmae_net
from sklasd.embedders._tgram import Tgram
from sklasd.embedders._wav2vec import Wav2Vec

__all__ = ["NetEmbedder", "RCMAEPretrainer", "Tgram", "Wav2Vec", "make_rcmae_net"]
