"""The tests mirror the package: every module of bbp_torch has its test module, named after it
(``bbp_torch/pkg/name.py``: ``tests/test_name.py`` or ``tests/test_pkg_name.py``;
``bbp_torch/pkg/__init__.py``: ``tests/test_pkg.py``), or a reason here why another test module
covers it."""

import re

from helpers import REPO

PACKAGE = REPO / "bbp_torch"
TESTS = REPO / "tests"

# A module (path below bbp_torch/, or a pattern) covered elsewhere, and why.
EXCEPTIONS = {
    r"__init__\.py": "the Python face: test_packaging.py checks that it exports every name and "
                     "imports torch only when asked",
    r"__main__\.py": "python -m bbp_torch is bbp: test_cli_bbp.py runs it (the killed sweep)",
    r"figures/(fig\d+|extra)_\w+\.py": "a figure: drawn in smoke mode (test_cli_figures.py), "
                                       "from no records (test_figures.py) and its plot from a "
                                       "hand-made Result (test_figure_plots.py)",
    r"theory/\w+\.py": "a part of bbp_torch.theory, whose public functions test_theory.py checks "
                       "against closed forms, limits and each other",
    r"config/__init__\.py": "re-exports the package's modules, each with its own test module",
    r"hessian\.py": "re-exports bbp_torch.operators: test_operators_registry.py checks every name",
    r"operators/__init__\.py": "loads the operators' names on first use: "
                               "test_operators_registry.py",
    r"operators/base\.py": "the state every matrix-free operator shares: "
                           "test_operators_protocol.py runs each operator through it",
    r"spectrum/(dense|solve)\.py": "the dense path and the dispatch of bottom_eigenpairs: "
                                   "test_spectrum.py",
}


def mirrors(relative: str) -> set[str]:
    """The names a test module of ``relative`` (a path below bbp_torch/) may have."""
    parts = relative.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        return {f"test_{'_'.join(parts[:-1])}"} if len(parts) > 1 else set()
    return {f"test_{parts[-1]}", f"test_{'_'.join(parts)}"}


def test_every_module_has_its_test_module():
    tests = {p.stem for p in TESTS.glob("test_*.py")}
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if tests & mirrors(relative):
            continue
        if not any(re.fullmatch(pattern, relative) for pattern in EXCEPTIONS):
            missing.append(f"bbp_torch/{relative}: tests/{min(mirrors(relative), key=len)}.py")
    assert not missing, "modules without a test module (add it, or a reason in EXCEPTIONS): " \
                        + ", ".join(missing)


def test_every_exception_still_names_a_module():
    modules = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")]
    for pattern in EXCEPTIONS:
        assert any(re.fullmatch(pattern, m) for m in modules), pattern
