"""AcceleratedClassifierNet: skorch's Accelerate integration, in a single CPU process."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sklasd.embedders import NetEmbedder
from sklasd.nn import TDNN
from sklasd.training import AcceleratedClassifierNet

accelerate = pytest.importorskip("accelerate")


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 1, 8, 32)).astype(np.float32)
    section = np.repeat([0, 1], 12)
    X[section == 1] += 1.0
    return X, section


def _embedder(max_epochs=4):
    net = AcceleratedClassifierNet(
        TDNN,
        accelerator=accelerate.Accelerator(cpu=True),
        max_epochs=max_epochs,
        batch_size=8,
        module__embedding_dim=8,
    )
    return NetEmbedder(net=net, n_frames=16, random_state=0)


def test_trains_through_the_accelerator_and_unwraps():
    X, section = _data()
    embedder = clone(_embedder()).fit(X, section=section)
    net = embedder.net_
    losses = net.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    # after training, nothing is left wrapped by accelerate
    assert not net._wrapped_with_accelerator
    assert type(net.optimizer_).__module__.startswith("torch.optim")
    scheduler = dict(net.callbacks_)["lr_scheduler"].lr_scheduler_
    assert scheduler.optimizer is net.optimizer_
    proba = embedder.predict_proba(X)
    assert (proba.argmax(axis=1) == section).mean() > 0.9


@pytest.mark.filterwarnings("ignore::skorch.exceptions.DeviceWarning")  # device=None
def test_pickles_and_scores_identically_after_loading():
    X, section = _data()
    embedder = _embedder(max_epochs=2).fit(X, section=section)
    loaded = pickle.loads(pickle.dumps(embedder))
    np.testing.assert_array_equal(loaded.transform(X), embedder.transform(X))


def test_params_reach_the_net_and_clone_keeps_them():
    embedder = _embedder()
    embedder.set_params(net__lr=0.01, net__max_epochs=1)
    cloned = clone(embedder)
    assert cloned.net.lr == 0.01 and cloned.net.max_epochs == 1
    assert cloned.net.callbacks__print_log__sink is print


def test_mixup_runs_through_the_accelerator():
    X, section = _data()
    plain = _embedder(max_epochs=2).fit(X, section=section).transform(X)
    mixed = _embedder(max_epochs=2)
    mixed.net.set_params(mixup_prob=1.0)
    mixed.fit(X, section=section)
    assert np.isfinite(mixed.net_.history[:, "train_loss"]).all()
    assert not np.allclose(mixed.transform(X), plain)
