"""StackFeatures: time-aligned features of several transformers stacked as channels."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import TransformerMixin, _fit_context, clone
from sklearn.utils import Bunch
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    get_routing_for_object,
    process_routing,
)
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from sklasd.base import VersionStampMixin
from sklasd.features._waveform import ArrayOutputMixin
from sklasd.utils import check_clips

__all__ = ["StackFeatures"]

# The methods a StackFeatures routes metadata from, and to which methods of its
# transformers: the fitting ones (transform takes no metadata).
_METHOD_MAPPING = (("fit", "fit"), ("fit_transform", "fit"))


def _is_drop(transformer: Any) -> bool:
    return isinstance(transformer, str) and transformer == "drop"


class StackFeatures(ArrayOutputMixin, VersionStampMixin, TransformerMixin, _BaseComposition):
    """Stack time-aligned features of several transformers as channels: [F_L, F_T, F_P].

    The feature fusion of Wang, Du and Wang (APSIPA ASC 2022), whose
    classifier takes LogMel, Tgram and wav2vec 2.0 features of the same
    F x T shape as 3 channels. Every transformer of ``transformer_list`` maps
    the clips to features of shape (n_clips, C_i, F, T); this meta-transformer
    fits each one (a clone) on the clips, checks that they agree on (F, T) and
    concatenates their outputs along the channel axis, giving (n_clips,
    sum C_i, F, T) for :class:`~sklasd.embedders.NetEmbedder` and the like.

    As in :class:`sklearn.pipeline.FeatureUnion`, the transformers are
    parameters: ``get_params``/``set_params`` reach their parameters as
    ``<name>__<param>`` (``stack__tgram__max_epochs`` in a Pipeline), and an
    entry set to ``"drop"`` (``set_params(wav2vec="drop")``) is left out, so a
    feature ablation is a parameter grid.

    **Metadata.** With metadata routing enabled
    (``sklearn.set_config(enable_metadata_routing=True)``) metadata such as
    ``section`` reaches the ``fit`` of each transformer that requests it
    (:class:`~sklasd.embedders.Tgram` and :class:`~sklasd.embedders.Wav2Vec`
    request ``section`` and ``attributes``; Wav2Vec uses them only to
    fine-tune), as FeatureUnion routes it; ``transform`` takes no metadata.
    Without routing, each transformer gets the metadata its ``fit`` requests
    by default; metadata that no transformer requests raises a TypeError.

    **Checks.** Transformers with an ``sr`` parameter must agree on it (they
    all read the same waveform rows), and the outputs must be 4-D and agree on
    (F, T) (``fit`` transforms the first clip to check them); otherwise a
    ValueError names the transformers and their values.

    Parameters
    ----------
    transformer_list : list of (str, transformer or "drop") tuples
        The named feature transformers, in channel order, e.g.
        ``[("logmel", LogMel()), ("tgram", Tgram())]`` for the two channels of
        STgram. Names must be unique, contain no ``__`` and differ from
        ``transformer_list``.

    Attributes
    ----------
    transformer_list_ : list of (str, transformer) tuples
        The fitted clones of the transformers that are not dropped, in order.
    channel_names_ : ndarray of shape (n_channels,) of str
        The name of the transformer of every output channel.

    See Also
    --------
    LogMel, sklasd.embedders.Tgram, sklasd.embedders.Wav2Vec : The features of the paper.
    sklearn.pipeline.FeatureUnion : The same composition for 2-D features.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import LogMel, StackFeatures
    >>> X = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)
    >>> stack = StackFeatures(transformer_list=[
    ...     ("power", LogMel(n_mels=16)), ("magnitude", LogMel(n_mels=16, power=1.0))])
    >>> stack.fit_transform(X).shape
    (2, 2, 16, 32)
    >>> stack.channel_names_.tolist()
    ['power', 'magnitude']
    >>> stack.set_params(magnitude="drop").fit_transform(X).shape
    (2, 1, 16, 32)
    >>> StackFeatures(transformer_list=[
    ...     ("a", LogMel(n_mels=16)), ("b", LogMel(n_mels=8))]).fit_transform(X)
    Traceback (most recent call last):
        ...
    ValueError: StackFeatures stacks features of equal (n_bands, n_frames) as channels, \
but the transformers give a: (16, 32), b: (8, 32); give them the same number of bands \
and the same hop_length.
    """

    _parameter_constraints: ClassVar[dict] = {"transformer_list": [list]}

    def __init__(self, *, transformer_list):
        self.transformer_list = transformer_list

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator, and with ``deep=True`` of its transformers.

        Parameters
        ----------
        deep : bool, default=True
            Whether to include the transformers (``<name>``) and their
            parameters (``<name>__<param>``).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("transformer_list", deep=deep)

    def set_params(self, **params) -> StackFeatures:
        """Set parameters of this estimator or of its transformers.

        ``set_params(<name>=...)`` replaces a transformer (``"drop"`` leaves it
        out); ``set_params(<name>__<param>=...)`` sets one of its parameters.

        Parameters
        ----------
        **params : dict
            Parameters and their new values.

        Returns
        -------
        self : StackFeatures
            This estimator.
        """
        self._set_params("transformer_list", **params)
        return self

    def _entries(self) -> list[tuple[str, Any]]:
        """The (name, transformer) entries, "drop" included, checked."""
        entries = []
        for entry in self.transformer_list:
            if not isinstance(entry, tuple) or len(entry) != 2 or not isinstance(entry[0], str):
                raise ValueError(
                    f"transformer_list must hold (name, transformer) tuples, got {entry!r}."
                )
            entries.append(entry)
        if not entries:
            raise ValueError("transformer_list is empty: give at least one transformer.")
        names, transformers = zip(*entries, strict=True)
        self._validate_names(names)
        self._check_estimators_are_instances(transformers)
        for name, transformer in entries:
            if not _is_drop(transformer) and not (
                hasattr(transformer, "fit") and hasattr(transformer, "transform")
            ):
                raise TypeError(
                    f"Transformer {name!r} ({transformer!r}) has no fit and transform methods; "
                    "give a transformer or 'drop'."
                )
        return entries

    def _active(self) -> list[tuple[str, Any]]:
        """The entries that are not dropped; raise if none, or if they disagree on sr."""
        active = [(name, t) for name, t in self._entries() if not _is_drop(t)]
        if not active:
            raise ValueError("Every transformer of StackFeatures is 'drop': nothing to stack.")
        rates = {
            name: t.get_params()["sr"]
            for name, t in active
            if hasattr(t, "get_params") and "sr" in t.get_params(deep=False)
        }
        if len(set(rates.values())) > 1:
            listed = ", ".join(f"{name}: sr={sr}" for name, sr in rates.items())
            raise ValueError(
                f"The transformers of StackFeatures read waveforms at different sampling "
                f"rates ({listed}); give them the same sr."
            )
        return active

    def get_metadata_routing(self) -> MetadataRouter:
        """The routing of metadata to the transformers, as FeatureUnion routes it.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
            ``fit`` and ``fit_transform`` to the transformers' ``fit``
            (``transform`` takes no metadata).
        """
        router = MetadataRouter(owner=self)
        for name, transformer in self._entries():
            if _is_drop(transformer):
                continue
            mapping = MethodMapping()
            for caller, callee in _METHOD_MAPPING:
                mapping.add(caller=caller, callee=callee)
            router.add(**{name: transformer}, method_mapping=mapping)
        return router

    def _route(self, method: str, active: list, params: dict) -> Bunch:
        """Per transformer name, the metadata of its ``fit``."""
        if _routing_enabled():
            return process_routing(self, method, **params)
        routed = Bunch()
        consumed: set[str] = set()
        for name, transformer in active:
            requested = get_routing_for_object(transformer).consumes("fit", list(params))
            consumed |= requested
            own = {key: params[key] for key in requested}
            routed[name] = Bunch(fit=own)
        unused = sorted(set(params) - consumed)
        if unused:
            raise TypeError(
                f"StackFeatures.{method} got metadata {unused} that none of its transformers "
                "requests."
            )
        return routed

    def _stack(self, names: list[str], outputs: list) -> np.ndarray:
        """Check the outputs' shapes and concatenate them along the channel axis."""
        outputs = [np.asarray(output) for output in outputs]
        for name, output in zip(names, outputs, strict=True):
            if output.ndim != 4:
                raise ValueError(
                    f"Transformer {name!r} returned features of shape {output.shape}; "
                    "StackFeatures stacks 4-D features (n_clips, n_channels, n_bands, "
                    "n_frames)."
                )
        if len({output.shape[2:] for output in outputs}) > 1:
            listed = ", ".join(
                f"{name}: {output.shape[2:]}" for name, output in zip(names, outputs, strict=True)
            )
            raise ValueError(
                "StackFeatures stacks features of equal (n_bands, n_frames) as channels, but "
                f"the transformers give {listed}; give them the same number of bands and the "
                "same hop_length."
            )
        return np.concatenate(outputs, axis=1)

    def _fit(self, X, y, method: str, params: dict) -> np.ndarray:
        """Fit clones of the transformers and stack their features.

        Returns the features of ``X`` for fit_transform, of its first clip for fit
        (which checks the shapes).
        """
        active = self._active()
        routed = self._route(method, active, params)
        clips = check_clips(X)
        self.transformer_list_ = [
            (name, clone(transformer).fit(clips, y, **routed[name].fit))
            for name, transformer in active
        ]
        checked = clips if method == "fit_transform" else clips[:1]
        names = [name for name, _ in self.transformer_list_]
        outputs = [transformer.transform(checked) for _, transformer in self.transformer_list_]
        stacked = self._stack(names, outputs)
        self.channel_names_ = np.repeat(names, [output.shape[1] for output in outputs])
        return stacked

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **params):
        """Fit every transformer and check that their features stack.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths or waveforms.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels, passed to every transformer's ``fit``.
        **params : dict
            Metadata (``section``, ...) for the transformers that request it.

        Returns
        -------
        self : StackFeatures
            The fitted transformer.
        """
        self._fit(X, y, "fit", params)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_transform(self, X, y=None, **params):
        """Fit every transformer and stack their features of ``X``.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths or waveforms.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels, passed to every transformer's ``fit``.
        **params : dict
            Metadata (``section``, ...) for the transformers that request it.

        Returns
        -------
        features : ndarray of shape (n_clips, n_channels, n_bands, n_frames)
            The transformers' features concatenated along the channel axis.
        """
        return self._fit(X, y, "fit_transform", params)

    def transform(self, X):
        """Stack the features of every fitted transformer.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths or waveforms.

        Returns
        -------
        features : ndarray of shape (n_clips, n_channels, n_bands, n_frames)
            The transformers' features concatenated along the channel axis, in
            the order of ``transformer_list``.
        """
        check_is_fitted(self)
        clips = check_clips(X)
        outputs = [transformer.transform(clips) for _, transformer in self.transformer_list_]
        return self._stack([name for name, _ in self.transformer_list_], outputs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags
