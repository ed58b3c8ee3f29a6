"""Ensembles of detectors: combined scores, and the best detector per machine type.

:class:`ScoreEnsemble` combines its members' anomaly scores (sum, mean, rank
average, product) after a per-section normalisation fitted on training scores;
:class:`MachineTypeSelector` picks, for every machine type, the member that scores
best on labelled development clips.
"""

from sklasd.ensemble._score import ScoreEnsemble
from sklasd.ensemble._selector import MachineTypeSelector

__all__ = ["MachineTypeSelector", "ScoreEnsemble"]
