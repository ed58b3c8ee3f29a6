"""Utilities: input validation shared by all estimators, torch seeding, estimator checks.

The conformance checks live in :mod:`sklasd.utils.estimator_checks` (import it
explicitly; it is not loaded with the package).
"""

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
    "private_torch_rng",
    "seed_torch",
    "spawn_seeds",
]
