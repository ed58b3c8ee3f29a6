"""IDClassifierDetector with the TDNN and the triplet and attribute losses of Wang et al. 2022."""

import numpy as np
import pytest
import sklearn

from sklasd.detectors import IDClassifierDetector, make_id_embedder
from sklasd.features import LogMel
from sklasd.nn import (
    TDNN,
    AdaProjLoss,
    ArcFaceLoss,
    CrossEntropyLoss,
    MobileNetV3IDNet,
    SubclusterAdaCosLoss,
)
from sklasd.utils.estimator_checks import check_estimator

TERMS = {"": (0.0, 0.0), "+triplet": (1.0, 0.0), "+attribute": (0.0, 1.0)}
TERMS["+triplet+attribute"] = (1.0, 1.0)


@pytest.mark.parametrize("terms", sorted(TERMS))
@pytest.mark.parametrize(
    ("base", "criterion", "head"),
    [("ce", CrossEntropyLoss, "linear"), ("arcface", ArcFaceLoss, "cosine")],
)
def test_loss_names_set_criterion_head_and_weights(base, criterion, head, terms):
    net = make_id_embedder(loss=base + terms).net
    assert net.criterion is criterion and net.module__head == head
    assert (net.triplet_weight, net.attribute_weight) == TERMS[terms]


@pytest.mark.parametrize(
    ("loss", "criterion"),
    [("subcluster_adacos", SubclusterAdaCosLoss), ("adaproj", AdaProjLoss)],
)
def test_embedding_loss_names_take_no_further_terms(loss, criterion):
    net = make_id_embedder(loss=loss).net
    assert net.criterion is criterion
    assert (net.triplet_weight, net.attribute_weight) == (0.0, 0.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        make_id_embedder(loss=loss + "+triplet")


def test_tdnn_is_a_named_network():
    net = make_id_embedder(network="tdnn", loss="ce+triplet", triplet_weight=0.5).net
    assert net.module is TDNN
    params = net.get_params()
    assert params["module__width_mult"] == 0.5 and "module__depth_mult" not in params
    assert net.triplet_weight == 0.5  # explicit net parameters win
    assert make_id_embedder().net.module is MobileNetV3IDNet


def test_unknown_loss_names_are_refused():
    with pytest.raises(ValueError, match=r"loss must be one of \[.*'ce\+triplet\+attribute'"):
        make_id_embedder(loss="ce+attribute+triplet")
    with pytest.raises(sklearn.utils._param_validation.InvalidParameterError, match="loss"):
        IDClassifierDetector(loss="triplet").fit(np.zeros((4, 8000)), section=[0, 0, 1, 1])


def test_detector_options_build_the_default_embedder():
    detector = IDClassifierDetector(network="tdnn", loss="arcface+triplet+attribute")
    net = detector._make_embedder().net
    assert net.module is TDNN and net.criterion is ArcFaceLoss
    assert (net.triplet_weight, net.attribute_weight) == (1.0, 1.0)


def tiny_detector(loss, **params):
    embedder = make_id_embedder(
        network="tdnn",
        loss=loss,
        module__width_mult=0.05,
        module__embedding_dim=8,
        max_epochs=3,
        batch_size=12,
        n_clips_per_class=4,
    ).set_params(n_frames=16)
    return IDClassifierDetector(
        features=LogMel(n_mels=16), embedder=embedder, random_state=0, **params
    )


@pytest.mark.parametrize("score_rule", ["confidence", "cosine"])
def test_the_paper_loss_trains_on_sections_with_attribute_heads(fan, score_rule):
    X, frame, train = fan
    section, attributes = frame["section"].to_numpy(), frame["attributes"].to_numpy()
    detector = tiny_detector("ce+triplet+attribute", score_rule=score_rule)
    detector.fit(X[train], section=section[train], attributes=attributes[train])

    # the attributes feed the auxiliary heads; the classes stay the sections ("auto")
    assert detector.embedder_.target == "section"
    assert detector.classes_.tolist() == [0, 1, 2]
    heads = detector.embedder_.attribute_classes_
    assert len(heads) == 1 and heads[0].tolist() == sorted(set(attributes[train]))
    net = detector.embedder_.net_
    assert net.module_.attribute_heads.n_classes_per_head == (len(heads[0]),)
    assert net.criterion_.triplet_weight == net.criterion_.attribute_weight == 1.0
    decision = detector.decision_function(X[~train], section=section[~train])
    assert decision.shape == ((~train).sum(),) and np.isfinite(decision).all()


@pytest.mark.parametrize(
    ("loss", "size"),
    [("subcluster_adacos", {"n_subclusters": 2}), ("adaproj", {"subspace_dim": 2})],
)
def test_embedding_losses_train_a_detector(fan, loss, size):
    X, frame, train = fan
    section = frame["section"].to_numpy()
    detector = tiny_detector(loss, score_rule="confidence")
    detector.embedder.set_params(**{f"net__criterion__{k}": v for k, v in size.items()})
    detector.fit(X[train], section=section[train])
    criterion = detector.embedder_.net_.criterion_
    assert isinstance(criterion, detector.embedder.net.criterion)
    assert (criterion.n_classes, criterion.embedding_dim) == (3, 8)
    decision = detector.decision_function(X[~train], section=section[~train])
    assert decision.shape == ((~train).sum(),) and np.isfinite(decision).all()


def test_multi_task_losses_train_on_sections(fan):
    X, frame, train = fan
    section, attributes = frame["section"].to_numpy(), frame["attributes"].to_numpy()
    detector = tiny_detector("ce+triplet", score_rule="cosine")
    detector.fit(X[train], section=section[train], attributes=attributes[train])
    assert detector.embedder_.target == "section"
    assert detector.embedder_.attribute_classes_ is None
    # (section, attribute) classes have single clips: no positives for the triplet loss
    detector.set_params(target="section_attributes")
    with pytest.raises(ValueError, match=r"at least 2 normal clips of every class, but class"):
        detector.fit(X[train], section=section[train], attributes=attributes[train])


def test_one_attribute_head_per_machine_type(one_section):
    X, frame, train = one_section
    meta = {
        name: frame[name].to_numpy()[train] for name in ("section", "machine_type", "attributes")
    }
    detector = tiny_detector("ce+attribute", score_rule="cosine").fit(X[train], **meta)

    heads = detector.embedder_.attribute_classes_
    assert [sorted({machine for machine, _ in head.tolist()}) for head in heads] == [
        ["fan"],
        ["valve"],
    ]
    for head, machine in zip(heads, ("fan", "valve"), strict=True):
        expected = set(meta["attributes"][meta["machine_type"] == machine].tolist())
        assert {label for _, label in head.tolist()} == expected
    assert detector.classes_.tolist() == [("fan", 0), ("valve", 0)]


class SectionLogMel(LogMel):
    """LogMel that requests the sections in fit and keeps them."""

    __metadata_request__fit = {"section": True}  # noqa: RUF012

    def fit(self, X, y=None, *, section=None):
        self.section_seen_ = section
        return super().fit(X, y)


def test_features_get_the_metadata_they_request(fan):
    X, frame, train = fan
    section, domain = frame["section"].to_numpy()[train], frame["domain"].to_numpy()[train]
    detector = tiny_detector("ce", score_rule="cosine").set_params(
        features=SectionLogMel(n_mels=16)
    )
    detector.fit(X[train], section=section, domain=domain)
    np.testing.assert_array_equal(detector.features_.section_seen_, section)
    # features that request nothing get nothing, as before
    detector.set_params(features=LogMel(n_mels=16)).fit(X[train], section=section)


def test_sklasd_estimator_checks_with_the_paper_loss(fan):
    X, frame, train = fan
    rows = np.flatnonzero(train)
    meta = {name: frame[name].to_numpy()[rows] for name in ("section", "attributes")}
    check_estimator(
        tiny_detector("ce+triplet+attribute", score_rule="cosine", contamination=0.1),
        X[rows].astype(np.float64),
        fit_params=meta,
    )
