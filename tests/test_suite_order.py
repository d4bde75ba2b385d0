"""The suite's own scheduling (tests/conftest.py): the heavy tests start first."""

from __future__ import annotations

from typing import Any, cast

import pytest

from tests.conftest import pytest_collection_modifyitems


class FakeItem:
    """What the ordering hook reads of a collected test: its name and its markers."""

    def __init__(self, name: str, heavy: bool) -> None:
        self.name = name
        self.heavy = heavy

    def get_closest_marker(self, name: str) -> Any:
        return pytest.mark.heavy.mark if name == "heavy" and self.heavy else None


def test_heavy_tests_are_moved_first_each_group_in_its_order() -> None:
    """Every test marked heavy runs before every other test, and both groups keep their
    collection order (each xdist worker must compute the same order)."""
    items = [FakeItem("a", False), FakeItem("notebook", True), FakeItem("b", False),
             FakeItem("report", True), FakeItem("c", False)]
    reordered = cast(list[pytest.Item], list(items))
    pytest_collection_modifyitems(reordered)
    assert [item.name for item in reordered] == ["notebook", "report", "a", "b", "c"]


def test_this_session_collected_the_heavy_tests_first(request: pytest.FixtureRequest) -> None:
    """The hook is the one pytest runs: in this session's order no heavy test comes after a
    test that is not heavy."""
    heavy = [item.get_closest_marker("heavy") is not None for item in request.session.items]
    assert heavy == sorted(heavy, reverse=True)
