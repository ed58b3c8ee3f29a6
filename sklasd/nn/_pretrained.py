"""Loading pretrained weights (e.g. AudioSet) into a network whose head differs."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence

import torch
from torch import nn

__all__ = ["load_pretrained_weights"]

# Entries under which training scripts store the state dict (PANNs: "model").
_WRAPPERS = ("model", "state_dict", "module", "net")
# Prefixes that wrappers add to every key (DataParallel: "module.", Lightning: "model.").
_PREFIXES = ("module.", "model.")


def _state_dict(checkpoint) -> Mapping[str, torch.Tensor]:
    """The tensors of a checkpoint, unwrapped from a training script's dict."""
    for key in _WRAPPERS:
        inner = checkpoint.get(key) if isinstance(checkpoint, Mapping) else None
        if isinstance(inner, Mapping):
            checkpoint = inner
            break
    if not isinstance(checkpoint, Mapping):
        raise ValueError(
            f"A checkpoint must hold a state dict (a mapping of names to tensors), got "
            f"{type(checkpoint).__name__}."
        )
    state = {key: value for key, value in checkpoint.items() if torch.is_tensor(value)}
    for prefix in _PREFIXES:
        if state and all(key.startswith(prefix) for key in state):
            state = {key[len(prefix) :]: value for key, value in state.items()}
    return state


def load_pretrained_weights(
    module: nn.Module,
    checkpoint: str | os.PathLike | Mapping,
    *,
    skip: Sequence[str] = ("classifier.",),
) -> dict[str, list[str]]:
    """Copy the tensors of a checkpoint into ``module`` where names and shapes match.

    For AudioSet-pretrained weights (PANNs checkpoints, plain
    ``torch.save(model.state_dict())`` files) loaded into a network that
    classifies other classes: the tensors of the module whose name starts with
    one of ``skip`` (the classification head) keep their initialisation, and so
    do those the checkpoint lacks or holds with another shape. A checkpoint dict
    that wraps the state dict under ``"model"``, ``"state_dict"``, ``"module"`` or
    ``"net"`` is unwrapped, and a ``"module."`` or ``"model."`` prefix on every key
    is removed. Anything not loaded is named in a :class:`UserWarning`.

    Parameters
    ----------
    module : torch.nn.Module
        The network to initialise, in place.
    checkpoint : str, path-like or mapping
        A file saved with :func:`torch.save` (read with ``weights_only=True``
        onto the CPU) or the loaded dict.
    skip : sequence of str, default=("classifier.",)
        Name prefixes of the module's tensors never loaded.

    Returns
    -------
    report : dict of str to list of str
        ``"loaded"``: the names copied; ``"missing"``: the module's tensors
        (outside ``skip``) the checkpoint lacks; ``"mismatched"``: those it holds
        with another shape; ``"unexpected"``: the checkpoint's names the module
        lacks (outside ``skip``).

    Raises
    ------
    FileNotFoundError
        If ``checkpoint`` is a path that does not exist.
    ValueError
        If the checkpoint holds no state dict, or not one tensor matches.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import MobileNetV2, load_pretrained_weights
    >>> source = MobileNetV2(n_classes=527, input_size=(32, 32), width_mult=0.25,
    ...                      depth_mult=0.25)
    >>> target = MobileNetV2(n_classes=3, input_size=(32, 32), width_mult=0.25,
    ...                      depth_mult=0.25)
    >>> report = load_pretrained_weights(target, {"model": source.state_dict()})
    >>> report["unexpected"], report["missing"]  # the 527-class head is skipped
    ([], [])
    >>> bool(torch.equal(target.embedding[0].weight, source.embedding[0].weight))
    True
    """
    where = "the checkpoint"
    if isinstance(checkpoint, str | os.PathLike):
        where = os.fspath(checkpoint)
        if not os.path.isfile(where):
            raise FileNotFoundError(f"Pretrained weights file {where!r} does not exist.")
        checkpoint = torch.load(where, map_location="cpu", weights_only=True)
    state = _state_dict(checkpoint)
    own = {
        name: tensor
        for name, tensor in module.state_dict().items()
        if not name.startswith(tuple(skip))
    }
    loaded = sorted(name for name in own if name in state and state[name].shape == own[name].shape)
    report = {
        "loaded": loaded,
        "missing": sorted(name for name in own if name not in state),
        "mismatched": sorted(name for name in own if name in state and name not in loaded),
        "unexpected": sorted(
            name for name in state if name not in own and not name.startswith(tuple(skip))
        ),
    }
    if not loaded:
        raise ValueError(
            f"No tensor of {where} matches {type(module).__name__} in name and shape "
            f"(checkpoint: {sorted(state)[:5]}..., network: {sorted(own)[:5]}...); is it a "
            "checkpoint of this network, at the same width and depth?"
        )
    module.load_state_dict({name: state[name] for name in loaded}, strict=False)
    problems = [
        f"{len(report[kind])} {kind} ({', '.join(report[kind][:5])}"
        f"{', ...' if len(report[kind]) > 5 else ''})"
        for kind in ("missing", "mismatched", "unexpected")
        if report[kind]
    ]
    if problems:
        warnings.warn(
            f"Loaded {len(loaded)} of {len(own)} tensors of {type(module).__name__} from "
            f"{where}; left as initialised or ignored: {'; '.join(problems)}.",
            UserWarning,
            stacklevel=2,
        )
    return report
