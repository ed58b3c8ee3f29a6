"""``partial_fit`` of the neighbour and Mahalanobis scorer steps."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metadata_routing import get_routing_for_object

from sklasd.scoring import CosineScorer, KNNScorer, MahalanobisScorer

SCORERS = [
    KNNScorer(n_neighbors=2),
    KNNScorer(
        n_neighbors=2, standardize=True, domain_banks=True, oversample_domains=True,
        density_rescaling=True, random_state=0,
    ),
    CosineScorer(),
    MahalanobisScorer(),
]  # fmt: skip


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    section = np.repeat([0, 1, 2], 40)
    X = rng.normal(size=(120, 5)) + section[:, None]
    domain = np.tile(["source"] * 34 + ["target"] * 6, 3)
    test_section = np.repeat([0, 1, 2], 10)
    test = rng.normal(size=(30, 5)) + test_section[:, None]
    return X, section, domain, test, test_section


@pytest.mark.parametrize("scorer", SCORERS, ids=repr)
def test_two_halves_give_the_fit_on_the_whole(scorer, data):
    X, section, domain, test, test_section = data
    first = np.r_[0:20, 40:60, 80:100, 34:37]  # some target clips in each half
    second = np.setdiff1d(np.arange(120), first)
    halves = clone(scorer).partial_fit(X[first], section=section[first], domain=domain[first])
    halves.partial_fit(X[second], section=section[second], domain=domain[second])
    # per section, the clips in the order fit(A + B) sees them
    order = np.concatenate([first, second])
    order = order[np.argsort(section[order], kind="stable")]
    whole = clone(scorer).fit(X[order], section=section[order], domain=domain[order])
    np.testing.assert_array_equal(halves.offset_, whole.offset_)
    np.testing.assert_array_equal(
        halves.decision_function(test, section=test_section),
        whole.decision_function(test, section=test_section),
    )


@pytest.mark.parametrize("scorer", SCORERS, ids=repr)
def test_a_new_section_leaves_the_others_alone(scorer, data):
    X, section, domain, test, test_section = data
    seen = section < 2
    fitted = clone(scorer).fit(X[seen], section=section[seen], domain=domain[seen])
    before = fitted.decision_function(test[:20], section=test_section[:20])
    with pytest.raises(ValueError, match=r"section values \[2\] were not seen in fit"):
        fitted.decision_function(test, section=test_section)
    fitted.partial_fit(X[~seen], section=section[~seen], domain=domain[~seen])
    assert fitted.sections_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(
        fitted.decision_function(test[:20], section=test_section[:20]), before
    )
    alone = clone(scorer).fit(X[~seen], section=section[~seen], domain=domain[~seen])
    np.testing.assert_array_equal(
        fitted.decision_function(test[20:], section=test_section[20:]),
        alone.decision_function(test[20:], section=test_section[20:]),
    )


def test_anomalous_clips_are_left_out(data):
    X, section, _, test, test_section = data
    scorer = KNNScorer().fit(X, section=section)
    before = scorer.decision_function(test, section=test_section)
    scorer.partial_fit(test[:5] + 50, np.ones(5, dtype=int), section=test_section[:5])
    np.testing.assert_array_equal(scorer.decision_function(test, section=test_section), before)


@pytest.mark.parametrize(
    "fit_kwargs, partial_kwargs, message",
    [
        ({"section": True}, {}, "fitted with sections"),
        ({}, {"section": True}, "fitted without sections"),
        ({"section": True, "domain": True}, {"section": True}, "fitted with domain"),
        ({"section": True}, {"section": True, "domain": True}, "fitted without domain"),
    ],
)
def test_metadata_must_match_fit(data, fit_kwargs, partial_kwargs, message):
    X, section, domain, _, _ = data
    given = {"section": section, "domain": domain}
    scorer = MahalanobisScorer().fit(X, **{k: given[k] for k in fit_kwargs})
    state = dict(vars(scorer))
    with pytest.raises(ValueError, match=message):
        scorer.partial_fit(X, **{k: given[k] for k in partial_kwargs})
    assert all(vars(scorer)[key] is value for key, value in state.items())


def test_a_failed_update_keeps_the_model(data):
    X, section, _, test, test_section = data
    scorer = KNNScorer(n_neighbors=3).fit(X, section=section)
    before = scorer.decision_function(test, section=test_section)
    with pytest.raises(ValueError, match="needs at least 4 normal clips"):
        scorer.partial_fit(X[:2], section=[9, 9])  # a new section with too few clips
    assert scorer.sections_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(scorer.decision_function(test, section=test_section), before)
    with pytest.raises(ValueError, match="mix numbers and strings"):
        scorer.partial_fit(X[:5], section=["a"] * 5)
    with pytest.raises(ValueError, match="features"):
        scorer.partial_fit(X[:5, :3], section=section[:5])


def test_partial_fit_routes_section_and_domain(data):
    X, section, domain, test, test_section = data
    scorer = MahalanobisScorer()
    assert get_routing_for_object(scorer).consumes("partial_fit", ["section", "domain"]) == {
        "section",
        "domain",
    }
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), MahalanobisScorer()).fit(
            X, section=section, domain=domain
        )
        # a Pipeline has no partial_fit: its last step takes the transformed clips
        pipe[-1].partial_fit(pipe[:-1].transform(X[:10]), section=section[:10], domain=domain[:10])
        assert len(pipe[-1].training_sets_[0]["X"]) == 50
        assert pipe.decision_function(test, section=test_section).shape == (30,)
