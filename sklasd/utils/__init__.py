"""Utilities: input validation, torch seeding, saving with skops, estimator checks.

The conformance checks live in :mod:`sklasd.utils.estimator_checks` (import it
explicitly; it is not loaded with the package).
"""

from sklasd.utils._persistence import dump_skops, get_skops_trusted_types, load_skops
from sklasd.utils._torch import draw_seed, private_torch_rng, seed_torch, spawn_seeds
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
