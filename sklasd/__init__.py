"""sklasd: unsupervised anomalous sound detection as scikit-learn estimators."""

from sklasd._version import __version__

__all__ = ["__version__"]
