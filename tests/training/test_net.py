"""ClassifierNet's additions to skorch: schedule, epochs, batches, outputs, precision."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts

from sklasd.training import RandomCrops, WarmRestarts


def learning_rates(scheduler_cls, n_epochs, *, resume_at=None, T_0=3, T_mult=2):
    """Learning rates of n_epochs epochs, resuming from a saved optimizer at resume_at."""
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = scheduler_cls(optimizer, T_0=T_0, T_mult=T_mult)
    lrs = []
    for epoch in range(n_epochs):
        if epoch == resume_at:
            state = optimizer.state_dict()
            optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
            optimizer.load_state_dict(state)
            scheduler = scheduler_cls(optimizer, T_0=T_0, T_mult=T_mult, last_epoch=epoch - 1)
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


@pytest.mark.parametrize("T_mult", [1, 2])
@pytest.mark.parametrize("resume_at", [1, 4, 9, 16])
def test_warm_restarts_resume_at_any_epoch(resume_at, T_mult):
    expected = learning_rates(CosineAnnealingWarmRestarts, 24, T_mult=T_mult)
    resumed = learning_rates(WarmRestarts, 24, resume_at=resume_at, T_mult=T_mult)
    np.testing.assert_allclose(resumed, expected)


def test_torch_warm_restarts_resume_wrongly_after_a_restart():
    # Why WarmRestarts exists: if torch ever fixes this, the subclass can go.
    expected = learning_rates(CosineAnnealingWarmRestarts, 24)
    resumed = learning_rates(CosineAnnealingWarmRestarts, 24, resume_at=9)
    assert not np.allclose(resumed, expected)


def test_sgdr_is_the_default_schedule_and_can_be_turned_off(make_net, features):
    X, section = features
    net = make_net(lr=0.01, max_epochs=4, callbacks__lr_scheduler__T_0=2)
    net.fit(RandomCrops(X, section, n_frames=16), section)
    np.testing.assert_allclose(net.history[:, "event_lr"], [0.01, 0.005, 0.01, 0.005])
    net = make_net(lr=0.01, callbacks__lr_scheduler=None).fit(
        RandomCrops(X, section, n_frames=16), section
    )
    assert "lr_scheduler" not in dict(net.callbacks_)
    assert net.optimizer_.param_groups[0]["lr"] == 0.01


def test_fit_trains_max_epochs_and_partial_fit_more(make_net, features):
    X, section = features
    crops = RandomCrops(X, section, n_frames=16)
    net = make_net(max_epochs=2).fit(crops, section)
    assert net.history[:, "epoch"] == [1, 2]
    net.partial_fit(crops, section)
    assert net.history[:, "epoch"] == [1, 2, 3, 4]


def test_training_dataset_gets_the_epoch(make_net, features):
    X, section = features
    epochs = []

    class RecordingCrops(RandomCrops):
        def set_epoch(self, epoch):
            epochs.append(epoch)
            super().set_epoch(epoch)

    make_net(max_epochs=3).fit(RecordingCrops(X, section, n_frames=16), section)
    assert epochs == [1, 2, 3]


@pytest.mark.parametrize(("n_clips", "batch_sizes"), [(16, [8, 8]), (17, [8, 8]), (18, [8, 8, 2])])
def test_a_last_batch_of_one_crop_is_dropped(make_net, make_features, n_clips, batch_sizes):
    X, section = make_features(n_clips=n_clips)
    net = make_net(max_epochs=1).fit(RandomCrops(X, section, n_frames=16), section)
    assert net.history[-1, "batches", :, "train_batch_size"] == batch_sizes


def test_predict_proba_is_softmax_of_criterion_logits(make_net, features):
    X, section = features
    crops = X[:, :, :, :16]
    net = make_net().fit(RandomCrops(X, section, n_frames=16), section)
    output = net.forward(crops)
    np.testing.assert_allclose(
        net.predict_proba(crops), torch.softmax(2.0 * output, dim=-1).numpy(), rtol=1e-5
    )
    plain = make_net(criterion=torch.nn.CrossEntropyLoss).fit(
        RandomCrops(X, section, n_frames=16), section
    )
    np.testing.assert_allclose(
        plain.predict_proba(crops), torch.softmax(plain.forward(crops), -1).numpy(), rtol=1e-5
    )


def test_embed_is_the_module_embedding(make_net, features):
    X, section = features
    crops = X[:, :, :, :16]
    net = make_net().fit(RandomCrops(X, section, n_frames=16), section)
    with torch.no_grad():
        expected = net.module_.eval().embed(torch.from_numpy(crops)).numpy()
    embedding = net.embed(crops)
    assert embedding.dtype == np.float32 and embedding.shape == (16, 8)
    np.testing.assert_allclose(embedding, expected, rtol=1e-5, atol=1e-6)


def test_amp_runs_the_module_in_bfloat16(make_net, features):
    X, section = features
    crops = RandomCrops(X, section, n_frames=16)
    net = make_net(amp=True).fit(crops, section)
    assert net.module_.last_dtype == torch.bfloat16
    assert np.isfinite(net.history[:, "train_loss"]).all()
    embedding = net.embed(X[:, :, :, :16])
    assert embedding.dtype == np.float32
    assert net.predict_proba(X[:, :, :, :16]).dtype == np.float32
    net.set_params(amp=False)
    net.embed(X[:, :, :, :16])
    assert net.module_.last_dtype == torch.float32


def test_verbose_levels(make_net, features, capsys):
    X, section = features
    crops = RandomCrops(X, section, n_frames=16)
    make_net(verbose=0).fit(crops, section)
    assert capsys.readouterr().out == ""
    net = make_net(verbose=1).fit(crops, section)
    assert "train_loss" in capsys.readouterr().out
    assert "progress_bar" not in dict(net.callbacks_)
    net = make_net(verbose=2).fit(crops, section)
    assert "progress_bar" in dict(net.callbacks_)
    assert "train_loss" in capsys.readouterr().out


def test_validation_clips_keep_their_crops(make_net, features):
    X, section = features

    class RecordValid(Callback):
        def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
            crops = np.stack([dataset_valid[i][0].numpy() for i in range(len(dataset_valid))])
            self.crops_ = [*getattr(self, "crops_", []), crops]
            self.train_epoch_ = dataset_train.dataset.epoch

    net = make_net(
        max_epochs=3,
        train_split=ValidSplit(0.25, stratified=True, random_state=0),
        callbacks=[("record", RecordValid())],
    ).fit(RandomCrops(X, section, n_frames=16), section)
    record = dict(net.callbacks_)["record"]
    assert record.train_epoch_ == 3
    assert len(record.crops_) == 3
    for crops in record.crops_[1:]:
        np.testing.assert_array_equal(crops, record.crops_[0])
