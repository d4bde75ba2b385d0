"""Packages some features need: a missing one is one line naming what to install.

pandas, matplotlib and pyarrow are installed with nodesim itself; dask.distributed comes with
the ``dask`` extra. ``require`` imports a package or raises ``MissingPackageError`` (a
``NodesimError`` the CLI prints as one line, and an ``ImportError`` for code that expects one).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from sim.errors import NodesimError

# top-level module -> the extra that installs it (None: nodesim's own dependencies)
EXTRAS: dict[str, str | None] = {"distributed": "dask", "dask": "dask", "pandas": None,
                                 "matplotlib": None, "pyarrow": None, "numpy": None}


class MissingPackageError(NodesimError, ImportError):
    """A feature needs a package that is not installed."""


def install_hint(module: str) -> str:
    top = module.partition(".")[0]
    extra = EXTRAS.get(top)
    if extra is not None:
        return f"pip install 'nodesim[{extra}]'"
    return "pip install nodesim (or, in a checkout, pip install -e .)"


def missing(module: str, purpose: str) -> MissingPackageError:
    return MissingPackageError(f"{purpose} needs the {module.partition('.')[0]} package, which is "
                               f"not installed: {install_hint(module)}")


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` for ``purpose`` (e.g. "--executor dask"), or say what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.partition(".")[0] != module.partition(".")[0]:
            raise  # the package is there but one of *its* imports failed: not ours to rename
        raise missing(module, purpose) from None
