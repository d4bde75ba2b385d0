"""Making hypothesis draw the same examples whatever the process imported before.

Hypothesis mixes constants it finds in *local* modules (any imported module outside
site-packages and the standard library) into what it draws, and it collects them from
whatever is imported at the time of the draw. With nodesim installed editable (as in its own
checkout and CI) its modules are local, so a derandomized search drew other worlds once the
process had run a report (which imports sim.cli and sim.report.*) than in a fresh process:
it found a defect in one and missed it in the other. Importing every module of the ``sim``
and ``node`` packages before the first draw makes that set of constants the same in every
process. (Installed from a wheel, nodesim's modules are not local and this changes nothing.)
"""

from __future__ import annotations

import functools
import importlib
import pkgutil


@functools.cache
def import_every_module() -> None:
    """Import all of ``sim`` and ``node`` once (about a second, the first time)."""
    import node
    import sim

    for package in (sim, node):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            try:
                importlib.import_module(module.name)
            except ImportError:
                # an optional extra this environment lacks: missing in every process of it alike
                continue
