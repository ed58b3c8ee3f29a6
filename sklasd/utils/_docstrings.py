"""Parameter descriptions that many estimators share, substituted into their docstrings.

A docstring line that holds only ``%(name)s`` is replaced by the fragment ``name`` of
:data:`DOC_FRAGMENTS`, indented as that line; nothing else of the docstring changes (a
``%`` elsewhere stays as it is). :func:`fill_doc` does it, as a class or function
decorator, so that a description written once reads the same on every page.
"""

from __future__ import annotations

import re
import textwrap
from typing import TypeVar

__all__ = ["DOC_FRAGMENTS", "fill_doc"]

T = TypeVar("T")

#: The shared parameter descriptions, numpydoc entries without indentation.
DOC_FRAGMENTS: dict[str, str] = {
    "contamination": """\
contamination : "gamma" or float, default="gamma"
    Threshold rule: ``"gamma"`` for the DCASE gamma rule (a gamma distribution
    fitted to the training scores), or the expected fraction of anomalous clips
    in (0, 0.5] for an empirical quantile. See :class:`~sklasd.base.BaseDetector`.
gamma_quantile : float, default=0.9
    Quantile of the fitted gamma distribution used as threshold when
    ``contamination="gamma"`` (the DCASE baselines' ``decision_threshold``).
    Ignored otherwise.""",
    "clip_sr": """\
sr : int, default=16000
    Sampling rate in Hz. Files are resampled to it; waveform rows are taken to
    be sampled at it.""",
    "clip_reading": """\
channel : "mix" or int, default="mix"
    For paths: "mix" averages all channels, an int selects that channel (see
    :func:`sklasd.datasets.load_audio`). Ignored for waveforms.
duration : float or None, default=None
    For paths: seconds every clip is cropped to; None requires clips of equal
    length. Ignored for waveforms.
n_jobs : int or None, default=None
    Number of threads decoding files in parallel; None means 1 unless in a
    :func:`joblib.parallel_config` context.""",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(obj: T) -> T:
    """Replace the ``%(name)s`` lines of ``obj``'s docstring by the shared fragments.

    Parameters
    ----------
    obj : class or function
        What the docstring belongs to; its ``__doc__`` is rewritten in place.

    Returns
    -------
    obj : class or function
        ``obj`` itself, so that ``fill_doc`` serves as a decorator.

    Raises
    ------
    KeyError
        If a placeholder names no fragment of :data:`DOC_FRAGMENTS`.

    Examples
    --------
    >>> from sklasd.utils._docstrings import fill_doc
    >>> @fill_doc
    ... def f(X, contamination="gamma", gamma_quantile=0.9):
    ...     '''Parameters
    ...     ----------
    ...     %(contamination)s
    ...     '''
    >>> print(f.__doc__.splitlines()[2])
        contamination : "gamma" or float, default="gamma"
    """

    def fragment(match: re.Match) -> str:
        name = match["name"]
        if name not in DOC_FRAGMENTS:
            raise KeyError(
                f"{getattr(obj, '__qualname__', obj)!r}'s docstring asks for the fragment "
                f"%({name})s, which is not one of {sorted(DOC_FRAGMENTS)}."
            )
        return textwrap.indent(DOC_FRAGMENTS[name], match["indent"])

    if obj.__doc__:
        obj.__doc__ = _PLACEHOLDER.sub(fragment, obj.__doc__)
    return obj
