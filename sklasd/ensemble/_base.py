"""What the ensembles share: named members, metadata routing, members' training scores."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, _safe_indexing
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import _BaseComposition

from sklasd.base import BaseDetector
from sklasd.detectors._groups import _MachineTypeGroupsMixin
from sklasd.utils import check_clips
from sklasd.utils._validation import _check_routing_for

#: Methods of the ensemble whose calls reach the members' decision_function.
_SCORING_CALLERS = ("decision_function", "predict")


def _final_detector(member: Any, name: str) -> BaseDetector:
    """The BaseDetector that ends ``member`` (itself, or the last step of a Pipeline)."""
    final = member
    while isinstance(final, Pipeline):
        final = final[-1]
    if not isinstance(final, BaseDetector):
        raise TypeError(
            f"Member {name!r} must be a sklasd detector (a BaseDetector) or a Pipeline "
            f"ending in one; got {type(member).__name__} ending in {type(final).__name__}."
        )
    return final


def _given(**metadata: Any) -> dict[str, Any]:
    """The metadata that is not None."""
    return {name: value for name, value in metadata.items() if value is not None}


def _take_params(params: dict[str, Any], rows: np.ndarray) -> dict[str, Any]:
    """Every per-clip metadata array of ``params`` at ``rows``."""
    return {name: _safe_indexing(value, rows) for name, value in params.items()}


class _MemberEnsemble(_MachineTypeGroupsMixin, BaseDetector, _BaseComposition):
    """A detector made of named member detectors, with metadata routed to them.

    Members are ``(name, estimator)`` pairs in ``estimators``: sklasd detectors or
    Pipelines ending in one; ``"drop"`` leaves a member out. Parameters of a
    member are reachable as ``<name>__<param>`` (GridSearchCV). The ensemble's
    groups are sections, or (machine type, section) pairs when ``machine_type``
    is given (see :class:`~sklasd.detectors.IDClassifierDetector`).

    Routing: a :class:`~sklearn.utils.metadata_routing.MetadataRouter` with the
    ensemble's own requests and every member's: ``fit`` reaches the members'
    ``fit`` (and ``decision_function`` where :attr:`_fit_scores_members` is
    True), the scoring methods reach their ``decision_function``. Subclasses set
    ``_routes_machine_type``: whether members get ``machine_type``.
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "machine_type": True}
    __metadata_request__decision_function: ClassVar[dict] = {
        "section": True,
        "machine_type": True,
    }
    __metadata_request__predict: ClassVar[dict] = {"section": True, "machine_type": True}

    #: Whether fit calls the members' decision_function (on held-out clips).
    _fit_scores_members: ClassVar[bool] = False
    #: Whether members get the machine_type metadata.
    _routes_machine_type: ClassVar[bool] = True

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of the ensemble and, with ``deep``, of its members.

        Parameters
        ----------
        deep : bool, default=True
            Also return the members (by name) and their parameters
            (``<name>__<param>``).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params: Any) -> _MemberEnsemble:
        """Set parameters of the ensemble or of its members.

        A member is replaced with ``<name>=estimator`` or left out with
        ``<name>="drop"``; its parameters are set with ``<name>__<param>=value``.

        Parameters
        ----------
        **params : dict
            Parameters to set.

        Returns
        -------
        self : object
            The ensemble.
        """
        self._set_params("estimators", **params)
        return self

    def get_metadata_routing(self) -> MetadataRouter:
        """Metadata routing of the ensemble and of its members.

        Returns
        -------
        routing : MetadataRouter
            The ensemble's own requests (``section``, ``machine_type``) and the
            members' requests: ``fit`` routes to their ``fit``, the scoring methods
            to their ``decision_function``.
        """
        router = MetadataRouter(owner=self).add_self_request(self)
        mapping = MethodMapping().add(caller="fit", callee="fit")
        if self._fit_scores_members:
            mapping.add(caller="fit", callee="decision_function")
        for caller in _SCORING_CALLERS:
            mapping.add(caller=caller, callee="decision_function")
        if hasattr(self, "partial_fit"):
            mapping.add(caller="partial_fit", callee="partial_fit")
        for name, member in self._active_members():
            router.add(**{name: member}, method_mapping=mapping)
        return router

    # -- members -----------------------------------------------------------------------

    def _active_members(self) -> list[tuple[str, Any]]:
        """The (name, estimator) pairs not set to "drop", checked."""
        names = [name for name, _ in self.estimators]
        self._validate_names(names)
        members = [(name, member) for name, member in self.estimators if member != "drop"]
        if not members:
            raise ValueError("All members of the ensemble are 'drop'; keep at least one.")
        for name, member in members:
            _final_detector(member, name)
        return members

    def _fit_member(
        self, name: str, member: Any, X: Any, y: np.ndarray | None, params: dict
    ) -> tuple[Any, np.ndarray]:
        """Fit a clone of ``member``; return it and its training decision values.

        These are the values behind its thresholds (``training_decision_``,
        leave-one-out for nearest-neighbour scorers): a training clip is scored as
        ``fit`` scores it, not against itself.
        """
        fitted = clone(member)
        # The ensemble's fit skips nested validation (BaseDetector.fit): validate here.
        with sklearn.config_context(skip_parameter_validation=False):
            fitted.fit(X, y, **params)
        return fitted, _final_detector(fitted, name).training_decision_

    # -- metadata ----------------------------------------------------------------------

    def _check_fit_metadata(self, metadata: dict) -> None:
        """Raise TypeError for metadata that neither the ensemble nor a member consumes."""
        self.get_metadata_routing().validate_metadata(params=_given(**metadata), method="fit")

    def _route(self, method: str, section: Any, **metadata: Any) -> tuple[Bunch, Any]:
        """Route metadata to the members; return the routed params and the raw section.

        ``section`` is what BaseDetector hands to ``_fit``/``_score_samples``: the
        groups, i.e. (machine type, section) pairs when fitted with machine types.
        """
        machine_type = None
        if section is not None and self.machine_types_ is not None:
            machine_type = np.array([pair[0] for pair in section])
            section = np.array([pair[1] for pair in section])
        if not self._routes_machine_type:
            machine_type = None
        routed = process_routing(
            self, method, **_given(section=section, machine_type=machine_type, **metadata)
        )
        for name, member in self._active_members():
            for callee, params in routed[name].items():
                _check_routing_for(
                    member, callee, params, caller=f"{type(self).__name__} (member {name!r})"
                )
        return routed, section

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        return check_clips(X)
