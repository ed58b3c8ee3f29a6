"""Cross-validation splitters that respect the normal-only training rule of DCASE Task 2."""

from sklasd.model_selection._split import DCASESplit, NormalOnlyKFold

__all__ = ["DCASESplit", "NormalOnlyKFold"]
