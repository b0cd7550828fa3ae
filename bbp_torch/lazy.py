"""Names of a package loaded on first use (PEP 562), so that importing the package imports
none of its heavy submodules (torch) until one of their names is asked for."""

from __future__ import annotations

from importlib import import_module


def lazy_exports(package: str, public: dict[str, str], namespace: dict):
    """``(__getattr__, __dir__)`` for ``package``: name ``n`` of ``public`` is read from its
    submodule ``package.public[n]`` when first asked and kept in ``namespace`` (the package's
    globals) from then on."""

    def getattr_(name: str):
        if name not in public:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{public[name]}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted([*namespace, *public])

    return getattr_, dir_
