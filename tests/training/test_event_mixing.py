"""EventMixing: random multi-event mixtures for sound-event detection training."""

import numpy as np
import pytest
import torch

from sklasd.embedders import NetEmbedder
from sklasd.nn import MultiLabelBCELoss
from sklasd.training import ClassifierNet, EventMixing


def batch_of(classes, value=-20.0):
    return [(torch.full((1, 4, 6), value + i), torch.tensor(c)) for i, c in enumerate(classes)]


def test_mixtures_hold_distinct_classes_and_add_powers_in_db():
    torch.manual_seed(0)
    batch = batch_of([0, 0, 1, 2, 2, 3] * 4)
    X, events = EventMixing(max_events=3, probability=0.7)(batch)
    crops = torch.stack([crop for crop, _ in batch])
    assert events.shape == (24, 3) and (events[:, 0] == torch.tensor([c for _, c in batch])).all()
    mixed = 0
    for i, row in enumerate(events.tolist()):
        present = [c for c in row if c >= 0]
        assert len(set(present)) == len(present)
        assert row == present + [-1] * (3 - len(present))  # padding last
        if len(present) > 1:
            mixed += 1
            assert (X[i] > crops[i]).all()  # adding power raises every bin
        else:
            assert torch.equal(X[i], crops[i])
    assert 0 < mixed < 24
    X2, events2 = EventMixing(max_events=2, probability=1.0, scale="linear")(batch_of([0, 1]))
    assert events2.tolist() == [[0, 1], [1, 0]]
    assert torch.allclose(X2[0], torch.full((1, 4, 6), -39.0))


def test_no_mixing_with_one_event_or_probability_zero():
    batch = batch_of([0, 1, 2])
    for mixing in (EventMixing(max_events=1), EventMixing(probability=0.0)):
        X, events = mixing(batch)
        assert torch.equal(X, torch.stack([c for c, _ in batch]))
        assert (events[:, 1:] == -1).all()


@pytest.mark.parametrize(
    ("params", "match"),
    [({"max_events": 0}, "max_events"), ({"probability": 1.5}, "probability"),
     ({"scale": "log"}, "scale")],
)  # fmt: skip
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        EventMixing(**params)(batch_of([0, 1]))


def test_multi_task_targets_are_refused():
    batch = [(torch.zeros(1, 2, 2), torch.tensor([0, 1]))] * 2
    with pytest.raises(ValueError, match="multi-task"):
        EventMixing()(batch)


class Tiny(torch.nn.Module):
    def __init__(self, *, n_classes=2, in_channels=1, input_size=(4, 6), head="linear"):
        super().__init__()
        self.body = torch.nn.Linear(in_channels * input_size[0] * input_size[1], 8)
        self.head = torch.nn.Linear(8, n_classes)

    def embed(self, x):
        return self.body(x.flatten(1))

    def forward(self, x):
        return self.head(self.embed(x))


def test_an_embedder_trains_on_mixtures_repeatably():
    rng = np.random.default_rng(0)
    X = rng.normal(-30, 3, size=(18, 1, 4, 10)).astype(np.float32)
    section = np.repeat([0, 1, 2], 6)
    X[section == 1, :, :2] += 10
    seen = []

    class Recording(EventMixing):
        def __call__(self, batch):
            mixed, events = super().__call__(batch)
            seen.append(events)
            return mixed, events

    def fit(seed):
        net = ClassifierNet(
            Tiny, criterion=MultiLabelBCELoss, max_epochs=3, batch_size=6,
            iterator_train__collate_fn=Recording(probability=1.0),
        )  # fmt: skip
        return NetEmbedder(net=net, n_frames=6, random_state=seed).fit(X, section=section)

    first = fit(0)
    assert all(events.shape == (6, 2) for events in seen) and (seen[0][:, 1] >= 0).any()
    np.testing.assert_array_equal(fit(0).transform(X), first.transform(X))
    assert np.isfinite(first.net_.history[:, "train_loss"]).all()
