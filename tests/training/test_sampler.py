"""Tests of SectionBalancedBatchSampler: P classes x K clips per batch, seeded by (seed, epoch)."""

import math

import numpy as np
import pytest
import torch

from sklasd.training._sampler import SectionBalancedBatchSampler

# unbalanced sections, one (2 clips) smaller than K
LABELS = np.repeat([0, 1, 2, 3, 4], [9, 5, 2, 12, 7])


def class_counts(labels, batch):
    values, counts = np.unique(labels[batch], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


@pytest.mark.parametrize(("p", "k"), [(2, 2), (3, 4), (5, 3)])
def test_batches_hold_k_clips_of_each_of_p_classes(p, k):
    sampler = SectionBalancedBatchSampler(LABELS, n_classes_per_batch=p, n_clips_per_class=k)
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        assert len(batch) == sampler.batch_size == p * k
        counts = class_counts(LABELS, batch)
        assert len(counts) == p and set(counts.values()) == {k}
        for section, count in counts.items():
            clips = [i for i in batch if LABELS[i] == section]
            # a chunk repeats no clip unless its class has fewer than K clips
            assert len(set(clips)) == min(count, int((LABELS == section).sum()))


@pytest.mark.parametrize(("p", "k"), [(2, 2), (3, 4), (5, 3), (1, 2)])
def test_every_clip_appears_in_every_epoch(p, k):
    sampler = SectionBalancedBatchSampler(LABELS, n_classes_per_batch=p, n_clips_per_class=k)
    chunks = np.ceil(np.bincount(LABELS) / k)
    assert len(sampler) == max(math.ceil(chunks.sum() / p), chunks.max())
    for epoch in range(3):
        sampler.set_epoch(epoch)
        seen = np.concatenate(list(sampler))
        assert set(seen.tolist()) == set(range(len(LABELS)))


def test_balanced_classes_are_covered_about_once_per_epoch():
    labels = np.repeat(np.arange(6), 20)
    sampler = SectionBalancedBatchSampler(labels, n_classes_per_batch=4, n_clips_per_class=5)
    assert len(sampler) == 6  # 120 clips in batches of 20
    seen = np.concatenate(list(sampler))
    assert np.array_equal(np.sort(seen), np.arange(120))  # each clip exactly once


def test_batches_are_deterministic_per_seed_and_epoch():
    def batches(seed, epoch):
        return list(
            SectionBalancedBatchSampler(
                LABELS, n_classes_per_batch=3, n_clips_per_class=2, seed=seed, epoch=epoch
            )
        )

    assert batches(0, 0) == batches(0, 0)
    assert batches(0, 1) != batches(0, 0)
    assert batches(1, 0) != batches(0, 0)
    sampler = SectionBalancedBatchSampler(LABELS, n_classes_per_batch=3, n_clips_per_class=2)
    assert list(sampler) == list(sampler) == batches(0, 0)  # iterating again repeats the epoch
    sampler.set_epoch(1)
    assert list(sampler) == batches(0, 1)


def test_seed_none_draws_every_epoch_from_torchs_generator():
    sampler = SectionBalancedBatchSampler(
        LABELS, n_classes_per_batch=3, n_clips_per_class=2, seed=None
    )
    torch_state = torch.random.get_rng_state()
    first = list(sampler)
    assert not torch.equal(torch.random.get_rng_state(), torch_state)  # one draw per epoch
    second = list(sampler)
    assert first != second
    torch.random.set_rng_state(torch_state)
    assert list(sampler) == first  # the same torch state gives the same batches
    for batch in first:
        assert sorted(class_counts(LABELS, batch).values()) == [2, 2, 2]


def test_global_random_state_is_left_alone():
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    torch_state = torch.random.get_rng_state().clone()
    list(SectionBalancedBatchSampler(LABELS, n_classes_per_batch=2, n_clips_per_class=2))
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_string_labels_and_dataloader():
    labels = np.array(["fan_00", "fan_02", "pump_00"] * 4)
    dataset = torch.utils.data.TensorDataset(torch.arange(12.0), torch.arange(12))
    sampler = SectionBalancedBatchSampler(labels, n_classes_per_batch=3, n_clips_per_class=2)
    assert sampler.classes.tolist() == ["fan_00", "fan_02", "pump_00"]
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler)
    batches = [index for _, index in loader]
    assert len(batches) == 2 and all(len(b) == 6 for b in batches)
    for index in batches:
        assert sorted(class_counts(labels, index.numpy()).values()) == [2, 2, 2]


@pytest.mark.parametrize(
    ("labels", "params", "match"),
    [
        ([0, 0, 1], {"n_classes_per_batch": 2}, "Class 1 has 1 clip"),
        (
            [0, 0, 1, 1],
            {"n_classes_per_batch": 3},
            r"n_classes_per_batch=3 exceeds.*\(2: \[0, 1\]\)",
        ),
        ([0, 0, 1, 1], {"n_clips_per_class": 1}, "n_clips_per_class must be an integer >= 2"),
        ([0, 0, 1, 1], {"seed": -1}, "seed"),
        ([0, 0, 1, 1], {"epoch": 0.5}, "epoch"),
        ([[0, 0], [1, 1]], {}, r"1-D.*\(2, 2\)"),
        ([], {}, "non-empty"),
    ],
)
def test_invalid_input(labels, params, match):
    params = {"n_classes_per_batch": 2, **params}
    with pytest.raises(ValueError, match=match):
        SectionBalancedBatchSampler(labels, **params)


def test_set_epoch_validates():
    sampler = SectionBalancedBatchSampler([0, 0, 1, 1], n_classes_per_batch=2)
    with pytest.raises(ValueError, match="epoch"):
        sampler.set_epoch(-1)
