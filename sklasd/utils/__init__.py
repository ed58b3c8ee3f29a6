"""Utilities: input validation, torch seeding and devices, run folders, saving and loading.

The conformance checks live in :mod:`sklasd.utils.estimator_checks` (import it
explicitly; it is not loaded with the package). The torch helpers are imported on first
use, so that the modules that only validate input do not load torch.
"""

from sklasd.utils._lazy import lazy_exports
from sklasd.utils._output import MANIFEST_NAME, RunFolder, atomic_write, check_run_folder
from sklasd.utils._persistence import (
    dump_skops,
    get_skops_trusted_types,
    load_model,
    load_skops,
)
from sklasd.utils._validation import (
    check_clips,
    check_labels,
    check_metadata_array,
    check_section,
)

__all__ = [
    "MANIFEST_NAME",
    "RunFolder",
    "atomic_write",
    "check_clips",
    "check_device",
    "check_labels",
    "check_metadata_array",
    "check_run_folder",
    "check_section",
    "draw_seed",
    "dump_skops",
    "get_skops_trusted_types",
    "load_model",
    "load_skops",
    "private_torch_rng",
    "seed_torch",
    "spawn_seeds",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    dict.fromkeys(
        ["check_device", "draw_seed", "private_torch_rng", "seed_torch", "spawn_seeds"],
        "sklasd.utils._torch",
    ),
)
