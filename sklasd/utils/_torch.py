"""Seeding torch from ``random_state`` without touching any global random state; devices."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["check_device", "draw_seed", "private_torch_rng", "seed_torch", "spawn_seeds"]

_MAX_SEED = np.iinfo(np.int32).max


def draw_seed(random_state: Any) -> int:
    """One integer seed derived from ``random_state``.

    ``None`` draws fresh entropy from a new generator, so numpy's global random state
    is never used or advanced.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        The estimator's ``random_state`` parameter.

    Returns
    -------
    seed : int
        In ``[0, 2**31 - 1)``.

    Examples
    --------
    >>> from sklasd.utils import draw_seed
    >>> draw_seed(0) == draw_seed(0)
    True
    """
    if random_state is None:
        return int(np.random.default_rng().integers(_MAX_SEED))
    return int(check_random_state(random_state).randint(_MAX_SEED))


def spawn_seeds(random_state: Any, n_seeds: int) -> list[int]:
    """``n_seeds`` independent integer seeds derived from ``random_state``.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        The estimator's ``random_state`` parameter (see :func:`draw_seed`).
    n_seeds : int
        How many seeds.

    Returns
    -------
    seeds : list of int, length n_seeds

    Examples
    --------
    >>> from sklasd.utils import spawn_seeds
    >>> len(spawn_seeds(0, 3)), spawn_seeds(0, 3) == spawn_seeds(0, 3)
    (3, True)
    """
    sequence = np.random.SeedSequence(draw_seed(random_state))
    return [int(seed) for seed in sequence.generate_state(n_seeds)]


def check_device(device: Any) -> Any:
    """The torch device to run on for ``device``: itself, or the CPU when its GPU is absent.

    A model trained with ``device="cuda"`` keeps that parameter when it is saved; on a
    machine without a GPU it would then fail to refit or to score. Every sklasd estimator
    passes its ``device`` through this function when it trains or computes, so such a
    model falls back to the CPU with a warning instead.

    Parameters
    ----------
    device : str, torch.device or None
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``...; None passes through.

    Returns
    -------
    device : str, torch.device or None
        ``device`` itself, or ``"cpu"`` when it names a CUDA (or MPS) device that this
        machine does not have.

    Raises
    ------
    ValueError
        If ``device`` is not a torch device name.

    Warns
    -----
    UserWarning
        When falling back to the CPU.

    Examples
    --------
    >>> import warnings
    >>> import torch
    >>> from sklasd.utils import check_device
    >>> check_device("cpu")
    'cpu'
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     device = check_device("cuda")
    >>> device == ("cuda" if torch.cuda.is_available() else "cpu")
    True
    """
    if device is None:
        return None
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:<index>' or 'mps'."
        ) from error
    if kind == "cuda":
        index = torch.device(device).index or 0
        present = torch.cuda.is_available() and index < torch.cuda.device_count()
    elif kind == "mps":
        present = torch.backends.mps.is_available()
    else:
        return device
    if present:
        return device
    warnings.warn(
        f"device={str(device)!r} was asked for, but this machine has no such GPU "
        f"(torch.cuda.is_available() is {torch.cuda.is_available()}); running on the CPU.",
        UserWarning,
        stacklevel=2,
    )
    return "cpu"


def _cuda_indices(device: Any) -> list[int]:
    """The CUDA device that ``device`` names, as a list of indices (empty off CUDA)."""
    device = torch.device(device or "cpu")
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


def seed_torch(seed: int, device: Any = None) -> None:
    """Seed torch's CPU generator and that of ``device`` (not every CUDA device).

    Use it inside :func:`private_torch_rng`, which undoes it on exit.

    Parameters
    ----------
    seed : int
        The seed.
    device : str, torch.device or None, default=None
        The device whose generator is seeded besides the CPU's.

    Examples
    --------
    >>> import torch
    >>> from sklasd.utils import private_torch_rng, seed_torch
    >>> with private_torch_rng("cpu"):
    ...     seed_torch(0)
    ...     a = torch.rand(1)
    ...     seed_torch(0)
    ...     bool(torch.rand(1) == a)
    True
    """
    torch.default_generator.manual_seed(seed)
    for index in _cuda_indices(device):
        torch.cuda.default_generators[index].manual_seed(seed)


@contextmanager
def private_torch_rng(device: Any = None, seed: int | None = None) -> Iterator[None]:
    """Run torch code on forked random states (seeded when ``seed`` is given).

    Torch's global CPU state, and that of ``device`` when it is a CUDA device, are
    restored on exit, so model initialisation, shuffling, dropout and the
    DataLoader's base seed leave no trace outside.

    Parameters
    ----------
    device : str, torch.device or None, default=None
        The device the code runs on.
    seed : int or None, default=None
        Seed for the forked states; None keeps them as they were.

    Examples
    --------
    >>> import torch
    >>> from sklasd.utils import private_torch_rng
    >>> before = torch.random.get_rng_state()
    >>> with private_torch_rng("cpu", seed=0):
    ...     _ = torch.rand(3)
    >>> bool(torch.equal(before, torch.random.get_rng_state()))
    True
    """
    with torch.random.fork_rng(devices=_cuda_indices(device), device_type="cuda"):
        if seed is not None:
            seed_torch(seed, device)
        yield
