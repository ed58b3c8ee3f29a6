"""make_paper_detector: each paper's configuration, and one quick epoch of each on a CPU."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import PAPER_PRESETS, make_paper_detector
from sklasd.features import FACTORY_NOISE_PROMPTS, LogMel
from sklasd.nn import CENTROID_ALPHA, MOBILENETV2_BLOCKS, MOBILENETV3_ID_BLOCKS


@pytest.fixture(scope="module")
def clips():
    """0.5 s clips of 2 fan and 2 valve sections, with attributes and domains."""
    X, frame = make_machine_sounds(
        machine_types=["fan", "valve"], n_sections=2, n_train=6, n_test=2, duration=0.5,
        random_state=0,
    )  # fmt: skip
    train = (frame["split"] == "train").to_numpy()
    meta = {name: frame[name].to_numpy() for name in ("section", "machine_type", "domain")}
    return X, meta, train


def test_wang2021_id_is_table_1_with_the_machine_types_scorer():
    detector = make_paper_detector("wang2021-id", machine_type="ToyCar")
    net = detector.embedder.net
    assert net.module.__name__ == "MobileNetV3IDNet"
    assert (net.module__width_mult, net.module__depth_mult) == (1.0, 1.0)
    assert detector.score_rule == "ocsvm"
    assert make_paper_detector("wang2021-id", machine_type="fan").score_rule == "cosine"
    module = net.module(n_classes=4)
    assert module.blocks == MOBILENETV3_ID_BLOCKS and module.stem_channels == 32


@pytest.mark.parametrize("machine_type", ["fan", "pump", "slider", "ToyCar", "ToyConveyor"])
def test_kuroyanagi2021_takes_alpha_from_table_i(machine_type):
    detector = make_paper_detector("kuroyanagi2021", machine_type=machine_type)
    assert detector.alpha == CENTROID_ALPHA["bce+ddcsad"][machine_type]
    assert make_paper_detector("kuroyanagi2021").alpha == "auto"
    assert (detector.lambda_, detector.eta, detector.n_frames, detector.n_segments) == (
        1.0, 2.0, 256, 10,
    )  # fmt: skip
    assert (detector.net.lr, detector.batch_ratio, detector.outliers) == (
        1e-4, (32, 31, 1), "dataset",
    )  # fmt: skip
    assert detector.net.module__pooling == "mean"
    scheduler = detector.net.callbacks__lr_scheduler
    assert (scheduler.kwargs["step_size"], scheduler.kwargs["gamma"]) == (1000, 0.5)


def test_zeng2023_and_zahedi2023_configurations():
    zeng = make_paper_detector("zeng2023-sec")
    assert (zeng.features.n_mels, zeng.features.n_fft, zeng.features.hop_length) == (64, 512, 160)
    assert zeng.net.module__last_channels == 128 and zeng.net.lr == 1e-3
    assert zeng.net.module(n_classes=2).blocks == MOBILENETV2_BLOCKS
    zahedi = make_paper_detector("zahedi2023", audioldm="/no/such/audioldm")
    pretrain = zahedi.pretrained.net
    assert (pretrain.module__depth, pretrain.module__n_heads) == (12, 6)
    assert (pretrain.module__decoder_depth, pretrain.module__decoder_heads) == (12, 6)
    assert (pretrain.lr, pretrain.batch_size, pretrain.max_epochs) == (1e-4, 128, 400)
    assert pretrain.optimizer is torch.optim.Adam
    augmenter = zahedi.pretrained.waveform_augmentation
    assert augmenter.num_inference_steps == (10, 50) and augmenter.guidance_scale == 2.5
    assert augmenter.prompts == FACTORY_NOISE_PROMPTS
    assert make_paper_detector("zahedi2023").pretrained.waveform_augmentation is None
    wang2022 = make_paper_detector("wang2022")
    assert (wang2022.embedder.net.lr, wang2022.embedder.net.max_epochs) == (2e-4, 100)


def test_unknown_presets_and_misplaced_options_are_errors():
    with pytest.raises(ValueError, match="Unknown paper preset 'wang2020'"):
        make_paper_detector("wang2020")
    with pytest.raises(ValueError, match="audioldm configures the 'zahedi2023' preset only"):
        make_paper_detector("zeng2023-sec", audioldm="x")


TINY_LOGMEL = {"features": LogMel(n_mels=32, hop_length=256)}
# Sizes for one epoch on 0.5 s clips on a CPU; the rest is the paper's configuration.
QUICK = {
    "wang2021-outlier": {
        **TINY_LOGMEL, "net__module__width": 4, "n_frames": 16, "net__max_epochs": 1,
        "net__batch_size": 8,
    },
    "wang2021-id": {
        **TINY_LOGMEL, "embedder__net__module__width_mult": 0.25,
        "embedder__net__module__depth_mult": 0.25, "embedder__net__max_epochs": 1,
        "embedder__n_frames": 16,
    },
    "kuroyanagi2021": {
        **TINY_LOGMEL, "net__module__width_mult": 0.0625, "net__module__layers": (1, 1, 1, 1),
        "net__module__embedding_dim": 8, "n_frames": 32, "n_segments": 2,
        "net__max_epochs": 1, "batch_ratio": (4, 3, 1),
    },
    "zeng2023-sec": {
        "features": LogMel(n_mels=32, n_fft=512, hop_length=160), "window_seconds": 0.2,
        "stride_seconds": 0.1, "net__module__width_mult": 0.25,
        "net__module__depth_mult": 0.25, "net__max_epochs": 1,
    },
    "zahedi2023": {
        "pretrained__features": LogMel(n_mels=16), "pretrained__n_frames": 16,
        "pretrained__net__module__patch_size": 8, "pretrained__net__module__embed_dim": 12,
        "pretrained__net__module__depth": 1, "pretrained__net__module__decoder_dim": 12,
        "pretrained__net__module__decoder_depth": 1, "pretrained__net__module__projection_dim": 8,
        "pretrained__net__max_epochs": 1, "pretrained__net__batch_size": 8,
        "net__max_epochs": 1, "net__module__projection_dim": 8,
    },
}  # fmt: skip
QUICK["zeng2023-sed"] = QUICK["zeng2023-sec"]


@pytest.mark.parametrize("name", sorted(set(PAPER_PRESETS) - {"wang2022"}))
def test_each_preset_trains_one_epoch_on_a_cpu(name, clips):
    X, meta, train = clips
    detector = clone(make_paper_detector(name, machine_type="fan", random_state=0, **QUICK[name]))
    accepted = detector.get_metadata_routing().fit.requests
    fit_meta = {key: value[train] for key, value in meta.items() if key in accepted}
    detector.fit(X[train], **fit_meta)
    scores = detector.decision_function(
        X[~train], section=meta["section"][~train], machine_type=meta["machine_type"][~train]
    )
    assert scores.shape == ((~train).sum(),) and np.isfinite(scores).all()


def test_the_wang2022_preset_trains_one_epoch_on_a_cpu(clips):
    transformers = pytest.importorskip("transformers")
    X, meta, train = clips
    tiny_wav2vec = transformers.Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16), conv_stride=(5, 64), conv_kernel=(10, 128),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )  # fmt: skip
    detector = make_paper_detector(
        "wang2022",
        random_state=0,
        features__logmel__n_mels=16,
        features__tgram__n_mels=16,
        features__tgram__n_frames=8,
        features__tgram__max_epochs=1,
        features__wav2vec__model=tiny_wav2vec,
        features__wav2vec__n_bands=16,
        features__wav2vec__max_epochs=1,
        features__wav2vec__n_frames=8,
        embedder__net__module__width_mult=0.1,
        embedder__net__module__embedding_dim=8,
        embedder__net__max_epochs=1,
        embedder__n_frames=16,
    )
    accepted = detector.get_metadata_routing().fit.requests
    attributes = np.asarray(meta["domain"])  # stand-in attribute labels
    fit_meta = {key: value[train] for key, value in meta.items() if key in accepted}
    detector.fit(X[train], **fit_meta, attributes=attributes[train])
    scores = detector.decision_function(
        X[~train], section=meta["section"][~train], machine_type=meta["machine_type"][~train]
    )
    assert np.isfinite(scores).all()
