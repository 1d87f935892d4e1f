"""Load a package's public names on first use (PEP 562).

So that importing a submodule — the pytest plugin, loaded by every pytest run
where jwtgate is installed — costs nothing until jwtgate is actually used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, namespace: dict[str, Any], locations: Mapping[str, tuple[str, ...]]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name from its submodule when first asked."""
    module_of = {name: module for module, names in locations.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
