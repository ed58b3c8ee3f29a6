"""Cross-validation splitters that keep anomalous clips out of the training folds."""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from sklasd.metrics._ranking import _check_labels

__all__ = ["DCASESplit", "NormalOnlyKFold"]


class NormalOnlyKFold(BaseCrossValidator):
    """K-fold cross-validation whose training folds hold normal clips only.

    Normal and anomalous clips of every section are each split into ``n_splits`` nearly
    equal parts; fold ``k`` tests on part ``k`` of the normals and part ``k`` of the
    anomalies of every section, and trains on the normal clips of all other parts. So
    every clip is tested exactly once, no anomalous clip is ever in a training fold, and
    each test fold holds normal and anomalous clips of every section.

    The section labels arrive as the ``section`` argument of :meth:`split`, requested by
    default through metadata routing: with
    ``sklearn.set_config(enable_metadata_routing=True)``,
    ``GridSearchCV(..., cv=NormalOnlyKFold()).fit(X, y, section=s)`` stratifies per
    section. Without routing (or without ``section``) all clips form one section.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2. Every section needs at least ``n_splits`` normal and
        ``n_splits`` anomalous clips.
    shuffle : bool, default=False
        Whether to shuffle the clips of each section and class before splitting them into
        parts. Otherwise parts are consecutive in the input order.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling; only used when ``shuffle=True``.

    Notes
    -----
    The splitter controls the cross-validation fits only. ``GridSearchCV(refit=True)``
    then refits the best candidate on all of ``X, y``, anomalies included: sklasd
    detectors given ``y`` leave the anomalous clips out (or use them on purpose, as their
    docstrings say); for other estimators pass ``refit=False`` and fit the best
    parameters on the normal clips yourself.

    See Also
    --------
    DCASESplit : The DCASE train/test split as a single split.
    sklasd.metrics.make_asd_scorer : Scorers that use the section metadata too.
    sklearn.model_selection.StratifiedKFold : Stratified K-fold that trains on all classes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.model_selection import NormalOnlyKFold
    >>> y = np.array([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1])
    >>> section = np.repeat([0, 1], 6)
    >>> cv = NormalOnlyKFold(n_splits=2)
    >>> for train, test in cv.split(np.zeros((12, 1)), y, section=section):
    ...     print(train.tolist(), test.tolist())
    [2, 3, 8, 9] [0, 1, 4, 6, 7, 10]
    [0, 1, 6, 7] [2, 3, 5, 8, 9, 11]
    """

    __metadata_request__split: ClassVar[dict[str, bool]] = {"section": True}

    def __init__(
        self,
        n_splits: int = 5,
        *,
        shuffle: bool = False,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(f"n_splits must be an int >= 2; got {n_splits!r}.")
        if n_splits < 2:
            raise ValueError(f"n_splits must be an int >= 2; got {n_splits}.")
        if not isinstance(shuffle, bool):
            raise ValueError(f"shuffle must be True or False; got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "random_state only has an effect with shuffle=True; leave it as None or "
                "set shuffle=True."
            )
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def split(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        groups: None = None,
        section: ArrayLike | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate (train, test) index arrays; train indices are normal clips only.

        Parameters
        ----------
        X : array-like of shape (n_clips, ...)
            Clips; only their number is used.
        y : array-like of shape (n_clips,)
            0 normal, 1 anomalous. Required.
        groups : None
            Ignored, for API compatibility.
        section : array-like of shape (n_clips,), default=None
            Section of every clip; None: one section.

        Yields
        ------
        train : ndarray of int
            Indices of the normal clips outside the test fold.
        test : ndarray of int
            Indices of the test fold.

        Raises
        ------
        ValueError
            If ``y`` is missing or not 0/1, lengths differ, or a section has fewer than
            ``n_splits`` normal or anomalous clips (the message names the section).
        """
        if y is None:
            raise ValueError(
                "NormalOnlyKFold needs y (0 normal, 1 anomalous) to keep anomalous clips "
                "out of the training folds."
            )
        y = _check_labels(y, "y")
        if len(X) != y.shape[0]:
            raise ValueError(f"X has {len(X)} clips but y has {y.shape[0]} labels.")
        if section is None:
            section = np.zeros(y.shape[0], dtype=int)
        section = np.asarray(section)
        if section.shape != y.shape:
            raise ValueError(
                f"section must have shape ({y.shape[0]},) like y; got {section.shape}."
            )
        codes, names = pd.factorize(section, sort=True)
        rng = check_random_state(self.random_state)
        test_fold = np.empty(y.shape[0], dtype=int)
        for code, name in enumerate(names):
            for label, kind in ((0, "normal"), (1, "anomalous")):
                members = np.flatnonzero((codes == code) & (y == label))
                if members.size < self.n_splits:
                    raise ValueError(
                        f"Section {name} has {members.size} {kind} clips, fewer than "
                        f"n_splits={self.n_splits}; every test fold needs normal and "
                        "anomalous clips of every section. Lower n_splits or leave the "
                        "section out."
                    )
                if self.shuffle:
                    members = rng.permutation(members)
                for fold, part in enumerate(np.array_split(members, self.n_splits)):
                    test_fold[part] = fold
        normal = y == 0
        for fold in range(self.n_splits):
            yield np.flatnonzero(normal & (test_fold != fold)), np.flatnonzero(test_fold == fold)

    def get_n_splits(
        self,
        X: object = None,
        y: object = None,
        groups: object = None,
        section: object = None,
    ) -> int:
        """Number of folds (``n_splits``); the arguments are ignored.

        Returns
        -------
        int
            ``n_splits``.
        """
        return self.n_splits


class DCASESplit(BaseCrossValidator):
    """The predefined DCASE train/test split as one cross-validation split.

    Training indices are the rows labelled ``"train"`` and test indices the rows labelled
    ``"test"`` in ``subset``, e.g. the ``split`` column of the frame returned by
    :func:`sklasd.datasets.load_dcase`. Use it as ``cv=`` of ``GridSearchCV`` or
    ``cross_validate`` to fit on the official training clips and score on the test clips.

    Parameters
    ----------
    subset : array-like of shape (n_clips,)
        ``"train"`` or ``"test"`` for every clip, in the order of ``X``.
    train_anomalies : {"raise", "drop"}, default="raise"
        What to do when ``y`` marks a training clip as anomalous (never the case in DCASE
        data; a sign of a mixed-up frame): raise a ValueError naming the positions, or
        drop those clips from the training indices (they are then in no fold).

    See Also
    --------
    NormalOnlyKFold : K folds with normal-only training folds.
    sklearn.model_selection.PredefinedSplit : Predefined test folds.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.model_selection import DCASESplit
    >>> subset = ["train", "train", "train", "test", "test"]
    >>> y = [0, 0, 0, 0, 1]
    >>> cv = DCASESplit(subset)
    >>> [(train.tolist(), test.tolist()) for train, test in cv.split(np.zeros((5, 1)), y)]
    [([0, 1, 2], [3, 4])]
    """

    def __init__(self, subset: ArrayLike, *, train_anomalies: str = "raise") -> None:
        if train_anomalies not in ("raise", "drop"):
            raise ValueError(
                f"train_anomalies must be 'raise' or 'drop'; got {train_anomalies!r}."
            )
        self.subset = subset
        self.train_anomalies = train_anomalies

    def split(
        self, X: ArrayLike, y: ArrayLike | None = None, groups: None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate the single (train, test) pair of index arrays.

        Parameters
        ----------
        X : array-like of shape (n_clips, ...)
            Clips; only their number is used.
        y : array-like of shape (n_clips,), default=None
            0 normal, 1 anomalous; when given, training anomalies are handled as
            ``train_anomalies`` says.
        groups : None
            Ignored, for API compatibility.

        Yields
        ------
        train : ndarray of int
            Indices of the training clips.
        test : ndarray of int
            Indices of the test clips.

        Raises
        ------
        ValueError
            If ``subset`` and ``X`` differ in length, ``subset`` holds other values than
            "train"/"test", either part is empty, or (``train_anomalies="raise"``) a
            training clip is anomalous.
        """
        subset = np.asarray(self.subset, dtype=object)
        if subset.ndim != 1 or subset.shape[0] != len(X):
            raise ValueError(f"subset must have shape ({len(X)},) like X; got {subset.shape}.")
        unknown = ~np.isin(subset, ("train", "test"))
        if unknown.any():
            raise ValueError(
                f"subset must hold 'train' or 'test'; got "
                f"{sorted(set(map(str, subset[unknown])))}."
            )
        train = subset == "train"
        if y is not None:
            y = _check_labels(y, "y")
            if y.shape[0] != subset.shape[0]:
                raise ValueError(f"y has {y.shape[0]} labels but X has {len(X)} clips.")
            anomalous = train & (y == 1)
            if anomalous.any() and self.train_anomalies == "raise":
                positions = np.flatnonzero(anomalous)
                raise ValueError(
                    f"{positions.size} training clips are labelled anomalous (positions "
                    f"{positions[:5].tolist()}); fix the labels or use "
                    "DCASESplit(..., train_anomalies='drop')."
                )
            train &= ~anomalous
        for part, name in ((train, "training"), (subset == "test", "test")):
            if not part.any():
                raise ValueError(f"DCASESplit has no {name} clips.")
        yield np.flatnonzero(train), np.flatnonzero(subset == "test")

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        """Number of splits: always 1.

        Returns
        -------
        int
            1.
        """
        return 1
