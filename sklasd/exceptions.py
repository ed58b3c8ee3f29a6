"""The errors and warnings sklasd raises on purpose about its users' files and folders.

Each one subclasses the built-in exception that code written before it caught
(:class:`ValueError` for bad data, :class:`OSError` for folders), so ``except
ValueError`` keeps working; :class:`SklasdError` catches them all. Their messages name
the file or value at fault and say how to fix it. The command line prints them as one
line, ``sklasd: error: <message>``.
"""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "FewTrainingClipsWarning",
    "ModelFileError",
    "OutputFolderError",
    "SklasdError",
    "TruncatedAudioWarning",
]


class SklasdError(Exception):
    """Base class of the errors sklasd raises about files, folders and data it cannot use.

    See Also
    --------
    DatasetError, ModelFileError, OutputFolderError : The concrete errors.

    Examples
    --------
    >>> from sklasd.datasets import load_dcase
    >>> from sklasd.exceptions import SklasdError
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "fan" / "train").mkdir(parents=True)
    >>> (root / "fan" / "train" / "noise.wav").touch()
    >>> try:
    ...     load_dcase(root)
    ... except SklasdError as error:
    ...     print(type(error).__name__)
    DatasetError
    """


class DatasetError(SklasdError, ValueError):
    """A dataset file or folder whose name or content sklasd cannot use as it is.

    Raised, for example, for a clip name that does not follow the DCASE scheme, a section
    number out of range, or a name whose label is missing; the message names the file.

    See Also
    --------
    sklasd.datasets.load_dcase : Reads clip metadata from names.

    Examples
    --------
    >>> from sklasd.exceptions import DatasetError
    >>> issubclass(DatasetError, ValueError)
    True
    """


class ModelFileError(SklasdError, ValueError):
    """A saved model file that cannot be loaded: missing, truncated, corrupt or not a model.

    See Also
    --------
    sklasd.utils.load_model : Loads a model, raising this error with the file's name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklasd.exceptions import ModelFileError
    >>> from sklasd.utils import load_model
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.joblib"
    >>> _ = path.write_bytes(b"not a model")
    >>> try:
    ...     load_model(path)
    ... except ModelFileError as error:
    ...     print("model.joblib" in str(error))
    True
    """


class OutputFolderError(SklasdError, OSError):
    """An output folder a run may not write into.

    It holds another run's results (pass ``overwrite=True`` / ``--overwrite``), another
    run is writing into it at this moment, or it holds files that are not a sklasd run.

    See Also
    --------
    sklasd.utils.RunFolder : The output folder of one run.

    Examples
    --------
    >>> import tempfile
    >>> from sklasd.exceptions import OutputFolderError
    >>> from sklasd.utils import RunFolder
    >>> folder = tempfile.mkdtemp()
    >>> with RunFolder(folder) as run:
    ...     _ = run.write_text("result.txt", "42\\n")
    >>> try:
    ...     RunFolder(folder).__enter__()
    ... except OutputFolderError as error:
    ...     print("--overwrite" in str(error))
    True
    """


class TruncatedAudioWarning(UserWarning):
    """An audio file holds fewer samples than its header declares (cut while copied).

    The samples that are there are read; the warning names the file, so it can be
    copied again or left out.

    See Also
    --------
    sklasd.datasets.load_audio : Reads audio files and warns about truncated ones.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> import numpy as np, soundfile as sf
    >>> from sklasd.datasets import load_audio
    >>> from sklasd.exceptions import TruncatedAudioWarning
    >>> path = os.path.join(tempfile.mkdtemp(), "cut.wav")
    >>> sf.write(path, np.zeros(1600), 16000, subtype="PCM_16")
    >>> with open(path, "r+b") as f:
    ...     _ = f.truncate(1000)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     X = load_audio([path])
    >>> caught[0].category is TruncatedAudioWarning, X.shape
    (True, (1, 478))
    """


class FewTrainingClipsWarning(UserWarning):
    """A network detector is trained on fewer normal clips per group than it needs.

    The network detectors (:mod:`sklasd.detectors`) were designed, and measured by
    their papers, on about a thousand clips per section; in sklasd's accuracy
    benchmark, with 15 to 120 normal clips per section, every one of them scored
    below the log-mel 1-nearest-neighbour baseline
    (:func:`~sklasd.pipelines.make_baseline_pipeline`), most of them near chance
    (``docs/accuracy.md``). The warning names the group with the fewest normal clips.
    The detector is still trained: silence it with :mod:`warnings` where that is
    intended (a smoke test, a study of small data).

    See Also
    --------
    sklasd.pipelines.make_baseline_pipeline : What to use on few clips.

    Examples
    --------
    >>> import warnings
    >>> from sklasd.exceptions import FewTrainingClipsWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FewTrainingClipsWarning)
    ...     pass  # fit a network detector on a few clips here
    >>> issubclass(FewTrainingClipsWarning, UserWarning)
    True
    """
