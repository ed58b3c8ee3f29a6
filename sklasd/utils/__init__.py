"""Utilities: input validation, torch seeding, saving with skops, estimator checks.

The conformance checks live in :mod:`sklasd.utils.estimator_checks` (import it
explicitly; it is not loaded with the package). The torch seeding helpers are imported
on first use, so that the modules that only validate input do not load torch.
"""

from sklasd.utils._lazy import lazy_exports
from sklasd.utils._persistence import dump_skops, get_skops_trusted_types, load_skops
from sklasd.utils._validation import (
    check_clips,
    check_labels,
    check_metadata_array,
    check_section,
)

__all__ = [
    "check_clips",
    "check_labels",
    "check_metadata_array",
    "check_section",
    "draw_seed",
    "dump_skops",
    "get_skops_trusted_types",
    "load_skops",
    "private_torch_rng",
    "seed_torch",
    "spawn_seeds",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    dict.fromkeys(
        ["draw_seed", "private_torch_rng", "seed_torch", "spawn_seeds"], "sklasd.utils._torch"
    ),
)
