"""Subscription filters: a small path language over candy payloads.

A subscription may carry a filter; ``publish`` evaluates it on the payload and the event goes
to that subscriber unless the result is exactly ``false`` (null, a missing value or any
non-boolean passes), as the hub's ``publish.mo`` does with candy-utils' ``get``. An empty
filter (``""``) passes everything. The syntax is in ``filter_syntax.py``; comparisons follow
the candy types (``compare.py``).

Meaning:

- ``$`` is the payload, ``@`` the current item (the payload outside any ``[..]``).
- ``.name`` reads a class property; ``.2`` / ``.-1`` index an array (negative from the end);
  ``."a b"`` reads a property that is not a plain name. Anything missing is ``Empty``.
- ``.*`` is all items of an array (or property values of a class); later segments apply to
  each, and a comparison with such a result is true when it holds for any item.
- ``[expr]`` finds the first array item for which ``expr``, with ``@`` bound to the item, is
  exactly true; ``Empty`` when none is.
- ``&`` / ``|`` use three-valued logic: a non-boolean operand is "unknown", so ``false & x`` is
  false, ``true | x`` is true, and ``true & "s"`` is unknown (``Empty``, which passes).

Not modelled from candy-utils v0.2.0: its spacing rules (``a==1`` is accepted here), ``\\``
escapes inside path names (quote the name instead), and its slips (a negative index reading
the wrong item, ``$``/``@`` at the start of a path reading an array's first item, a ``$`` path
on the value side being rejected); the rule its README states is followed instead.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from sim.sources.pubsub.candy import EMPTY, Array, Bool, Candy, Class, to_candy
from sim.sources.pubsub.compare import Word, compare_values, compare_with_word
from sim.sources.pubsub.filter_syntax import (
    AllItems,
    And,
    Compare,
    Index,
    Literal,
    Node,
    Or,
    Path,
    Prop,
    Segment,
    WordLiteral,
    parse,
)

_INTEGER = re.compile(r"-?\d+")
_TRUE = Bool(True)
_FALSE = Bool(False)


class _Many(list[Candy]):
    """The items selected by ``*``: later segments and comparisons apply to each."""


def _items(value: Candy) -> list[Candy]:
    if isinstance(value, Array):
        return list(value.items)
    if isinstance(value, Class):
        return [item for _, item in value.props]
    return []


def _index(items: tuple[Candy, ...], index: int) -> Candy:
    n = len(items)
    return items[index] if -n <= index < n else EMPTY


def _step(value: Candy | _Many, segment: Segment, root: Candy) -> Candy | _Many:
    if isinstance(value, _Many):
        out = _Many()
        for item in value:
            result = _step(item, segment, root)
            if isinstance(result, _Many):  # nested "*": one flat list of items
                out.extend(result)
            else:
                out.append(result)
        return out
    if isinstance(segment, Prop):
        if isinstance(value, Class):
            return value.get(segment.name)
        if isinstance(value, Array) and _INTEGER.fullmatch(segment.name):
            return _index(value.items, int(segment.name))
        return EMPTY
    if isinstance(segment, Index):
        if isinstance(value, Array):
            return _index(value.items, segment.index)
        return value.get(str(segment.index)) if isinstance(value, Class) else EMPTY
    if isinstance(segment, AllItems):
        return _Many(_items(value))
    if isinstance(value, Array):
        for item in value.items:
            if _evaluate(segment.condition, root, item) == _TRUE:
                return item
    return EMPTY


def _compare_one(left: Candy, op: str, right: Candy | Word) -> bool:
    if isinstance(right, Word):
        return compare_with_word(left, op, right)
    return compare_values(left, op, right)


def _compare(node: Compare, root: Candy, current: Candy) -> Candy:
    left = _evaluate(node.left, root, current)
    right: Candy | _Many | Word = node.right.word if isinstance(node.right, WordLiteral) \
        else _evaluate(node.right, root, current)
    lefts = left if isinstance(left, _Many) else [left]
    rights = right if isinstance(right, _Many) else [right]
    return Bool(any(_compare_one(a, node.op, b) for a in lefts for b in rights))


def _evaluate(node: Node, root: Candy, current: Candy) -> Candy | _Many:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, WordLiteral):  # only reached as a whole filter's value
        return node.word.natural()
    if isinstance(node, Path):
        value: Candy | _Many = root if node.start == "$" else current
        for segment in node.segments:
            value = _step(value, segment, root)
        return value
    if isinstance(node, Compare):
        return _compare(node, root, current)
    left = _evaluate(node.left, root, current)
    right = _evaluate(node.right, root, current)
    if isinstance(node, And):
        if left == _FALSE or right == _FALSE:
            return _FALSE
        return _TRUE if left == _TRUE and right == _TRUE else EMPTY
    assert isinstance(node, Or)
    if left == _TRUE or right == _TRUE:
        return _TRUE
    return _FALSE if left == _FALSE and right == _FALSE else EMPTY


@attrs.frozen
class Filter:
    """A parsed filter expression; build it with ``parse_filter``.

    ``tree`` is None for the empty filter, which passes everything.
    """

    text: str
    tree: Node | None = attrs.field(repr=False)

    def evaluate_candy(self, payload: Any) -> Candy:
        """The expression's value on ``payload`` (an ``Array`` where ``*`` selected several)."""
        candy = to_candy(payload)
        if self.tree is None:
            return EMPTY
        result = _evaluate(self.tree, candy, candy)
        return Array(list(result)) if isinstance(result, _Many) else result

    def evaluate(self, payload: Any) -> Any:
        """The expression's value on ``payload`` as JSON (``Empty`` and null are ``None``)."""
        return self.evaluate_candy(payload).to_json()

    def passes(self, payload: Any) -> bool:
        """Whether an event with ``payload`` goes to the subscriber: not exactly false."""
        return self.evaluate_candy(payload) != _FALSE


def parse_filter(text: str) -> Filter:
    """Parse ``text``; a syntax error raises ``FilterSyntaxError`` naming the position."""
    if not isinstance(text, str):
        raise TypeError(f"a filter must be a string, got {type(text).__name__}")
    return Filter(text, parse(text) if text else None)
