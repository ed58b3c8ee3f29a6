"""The package's floors (docs/architecture.md): no module imports from a floor above its own."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklasd"

# Lowest floor first; a subpackage imports only the floors below its own, never a neighbour
# on its own floor.
FLOORS = [
    {"_version", "exceptions"},
    {"signal"},
    {"nn"},
    {"utils"},
    {"datasets", "metrics"},
    {"model_selection"},
    {"base"},
    {"features", "training", "scoring"},
    {"embedders"},
    {"detectors", "pipelines"},
    {"ensemble"},
    {"inspection"},
    {"cli"},
    {"__main__"},
]
FLOOR = {name: level for level, names in enumerate(FLOORS) for name in names}
# Modules that sit above their subpackage's floor: the conformance checks are a testing
# tool, imported explicitly and never by the package itself.
OWN_FLOOR = {"utils/estimator_checks.py": FLOOR["ensemble"]}


def _subpackage(path: Path) -> str:
    part = path.relative_to(PACKAGE).parts[0]
    return part.removesuffix(".py")


def _imported_subpackages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "sklasd" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(
    p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_from_a_floor_above(path):
    own = _subpackage(path)
    assert own in FLOOR, f"{own} has no floor in tests/test_layers.py"
    level = OWN_FLOOR.get(str(path.relative_to(PACKAGE)), FLOOR[own])
    imported = _imported_subpackages(path) - {own}
    above = {name for name in imported if FLOOR.get(name, -1) >= level}
    assert not above, (
        f"{path.relative_to(PACKAGE)} imports from its own floor or floors above: {above}"
    )


def test_nn_and_signal_are_free_of_scikit_learn_and_skorch():
    for path in [*(PACKAGE / "nn").rglob("*.py"), PACKAGE / "signal.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module]
                    if isinstance(node, ast.ImportFrom)
                    else [alias.name for alias in node.names]
                )
                roots = {str(name).split(".")[0] for name in names}
                assert not roots & {"sklearn", "skorch"}, path.name
