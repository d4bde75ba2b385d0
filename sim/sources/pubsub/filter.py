"""Subscription filters: a small path language over JSON-like payloads.

A subscription may carry a filter; ``publish`` evaluates it on the payload and the event goes
to that subscriber unless the result is exactly ``false`` (null or any non-boolean passes).

Grammar (``|`` binds loosest, then ``&``, then one comparison)::

    expr    := and ("|" and)*
    and     := compare ("&" compare)*
    compare := value (("==" | "!=" | ">" | ">=" | "<" | "<=") value)?
    value   := path | literal | "(" expr ")"
    path    := ("$" | "@" | name) segment*        a bare name starts at "@": "a.b" is "@.a.b"
    segment := "." (name | integer | string | "*") | "[" expr "]"
    literal := number | "string" | 'string' | true | false | null

Meaning:

- ``$`` is the payload, ``@`` the current item (the payload outside any ``[..]``).
- ``.name`` reads a property; ``.2`` / ``.-1`` index a list (negative from the end); ``."a b"``
  reads a property that is not a plain name. Anything missing is null.
- ``.*`` is all items of a list (or values of an object); later segments apply to each item.
- ``[expr]`` finds the first item of a list (or value of an object) for which ``expr``, with
  ``@`` bound to the item, is exactly true; null when none is.
- ``==`` / ``!=`` compare JSON values (``true`` never equals ``1``); ``> >= < <=`` compare two
  numbers or two strings and are false for anything else. A comparison with an ``*`` result
  is true when it holds for any item.
- ``&`` / ``|`` use three-valued logic: a non-boolean operand is "unknown", so ``false & x`` is
  false, ``true | x`` is true, and ``true & "s"`` is null (which passes).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias

import attrs

from sim.sources.pubsub.errors import FilterSyntaxError

# -- tokens ------------------------------------------------------------------------------------

_PUNCT = ("==", "!=", ">=", "<=", ">", "<", "&", "|", "$", "@", ".", "[", "]", "(", ")", "*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"-?\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS: dict[str, object] = {"true": True, "false": False, "null": None}
_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")


@attrs.frozen
class _Token:
    kind: str  # a punctuation string itself, or "name", "number", "string", "end"
    text: str
    position: int
    value: object = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        # After "." only an integer is a number, so "$.a.1.2" is two indexes, not 1.2.
        after_dot = bool(tokens) and tokens[-1].kind == "."
        number = (_INTEGER if after_dot else _NUMBER).match(text, i)
        if number is not None:
            literal = number.group()
            value: object = int(literal) if _INTEGER.fullmatch(literal) else float(literal)
            tokens.append(_Token("number", literal, i, value))
            i = number.end()
            continue
        if ch in "\"'":
            end, value = _read_string(text, i)
            tokens.append(_Token("string", text[i:end], i, value))
            i = end
            continue
        name = _NAME.match(text, i)
        if name is not None:
            tokens.append(_Token("name", name.group(), i, name.group()))
            i = name.end()
            continue
        punct = next((p for p in _PUNCT if text.startswith(p, i)), None)
        if punct is None:
            raise FilterSyntaxError(text, i, f"unexpected character {ch!r}")
        tokens.append(_Token(punct, punct, i))
        i += len(punct)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_string(text: str, start: int) -> tuple[int, str]:
    """A quoted string from ``start``: JSON escapes in double quotes, ``\\'`` in single."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            body = text[start + 1:i]
            if quote == "'":
                return i + 1, body.replace("\\'", "'").replace("\\\\", "\\")
            try:
                return i + 1, str(json.loads(text[start:i + 1]))
            except json.JSONDecodeError:
                raise FilterSyntaxError(text, start, "invalid escape in string") from None
        i += 1
    raise FilterSyntaxError(text, start, "unterminated string")


# -- syntax tree ------------------------------------------------------------------------------


@attrs.frozen
class Literal:
    """A constant JSON value."""

    value: Any


@attrs.frozen
class Prop:
    """``.name``: an object property (or a list index if the name is an integer)."""

    name: str


@attrs.frozen
class Index:
    """``.N``: a list index, negative from the end."""

    index: int


@attrs.frozen
class AllItems:
    """``.*``: every item of a list, or every value of an object."""


@attrs.frozen
class Find:
    """``[expr]``: the first item for which ``expr`` is exactly true."""

    condition: Node


Segment: TypeAlias = Prop | Index | AllItems | Find


@attrs.frozen
class Path:
    """A start (``$`` root or ``@`` current item) and segments applied in order."""

    start: str
    segments: tuple[Segment, ...]


@attrs.frozen
class Compare:
    """``left <op> right``."""

    op: str
    left: Node
    right: Node


@attrs.frozen
class And:
    left: Node
    right: Node


@attrs.frozen
class Or:
    left: Node
    right: Node


Node: TypeAlias = Literal | Path | Compare | And | Or


# -- parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, expected: str) -> FilterSyntaxError:
        token = self.peek
        found = "the end" if token.kind == "end" else repr(token.text)
        return FilterSyntaxError(self.text, token.position, f"expected {expected}, found {found}")

    def expect(self, kind: str) -> _Token:
        if self.peek.kind != kind:
            raise self.fail(repr(kind))
        return self.take()

    def parse(self) -> Node:
        if self.peek.kind == "end":
            raise self.fail("an expression")
        node = self.expr()
        if self.peek.kind != "end":
            raise self.fail("'&', '|' or the end")
        return node

    def expr(self) -> Node:
        node = self.conjunction()
        while self.peek.kind == "|":
            self.take()
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.comparison()
        while self.peek.kind == "&":
            self.take()
            node = And(node, self.comparison())
        return node

    def comparison(self) -> Node:
        left = self.value()
        if self.peek.kind in _COMPARISONS:
            op = self.take().kind
            return Compare(op, left, self.value())
        return left

    def value(self) -> Node:
        token = self.peek
        if token.kind in ("number", "string"):
            self.take()
            return Literal(token.value)
        if token.kind == "name" and token.text in _KEYWORDS:
            self.take()
            return Literal(_KEYWORDS[token.text])
        if token.kind == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if token.kind in ("$", "@"):
            self.take()
            return Path(token.kind, self.segments())
        if token.kind == "name":
            self.take()
            return Path("@", (Prop(token.text), *self.segments()))
        raise self.fail("a value (a path, number, string, true, false or null)")

    def segments(self) -> tuple[Segment, ...]:
        found: list[Segment] = []
        while self.peek.kind in (".", "["):
            if self.take().kind == "[":
                found.append(Find(self.expr()))
                self.expect("]")
                continue
            token = self.peek
            if token.kind in ("name", "string"):
                found.append(Prop(str(token.value)))
            elif token.kind == "number":
                found.append(Index(int(str(token.value))))
            elif token.kind == "*":
                found.append(AllItems())
            else:
                raise self.fail("a property name, an index or '*' after '.'")
            self.take()
        return tuple(found)


# -- evaluator --------------------------------------------------------------------------------


class _Many(list[Any]):
    """The items selected by ``*``: later segments and comparisons apply to each."""


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    return []


def _step(value: Any, segment: Segment, root: Any) -> Any:
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
        return value.get(segment.name) if isinstance(value, dict) else None
    if isinstance(segment, Index):
        if isinstance(value, list):
            n = len(value)
            return value[segment.index] if -n <= segment.index < n else None
        return value.get(str(segment.index)) if isinstance(value, dict) else None
    if isinstance(segment, AllItems):
        return _Many(_items(value))
    for item in _items(value):
        if _evaluate(segment.condition, root, item) is True:
            return item
    return None


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _compare_one(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return _json_equal(a, b)
    if op == "!=":
        return not _json_equal(a, b)
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    if not numbers and not (isinstance(a, str) and isinstance(b, str)):
        return False
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    if op == "<":
        return bool(a < b)
    return bool(a <= b)


def _compare(op: str, left: Any, right: Any) -> bool:
    lefts = left if isinstance(left, _Many) else [left]
    rights = right if isinstance(right, _Many) else [right]
    return any(_compare_one(op, a, b) for a in lefts for b in rights)


def _evaluate(node: Node, root: Any, current: Any) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Path):
        value = root if node.start == "$" else current
        for segment in node.segments:
            value = _step(value, segment, root)
        return value
    if isinstance(node, Compare):
        return _compare(node.op, _evaluate(node.left, root, current),
                        _evaluate(node.right, root, current))
    left = _evaluate(node.left, root, current)
    right = _evaluate(node.right, root, current)
    if isinstance(node, And):
        if left is False or right is False:
            return False
        return True if left is True and right is True else None
    if left is True or right is True:
        return True
    return False if left is False and right is False else None


# -- public -----------------------------------------------------------------------------------


@attrs.frozen
class Filter:
    """A parsed filter expression; build it with ``parse_filter``."""

    text: str
    tree: Node = attrs.field(repr=False)

    def evaluate(self, payload: Any) -> Any:
        """The expression's value on ``payload`` (a list where ``*`` selected several)."""
        result = _evaluate(self.tree, payload, payload)
        return list(result) if isinstance(result, _Many) else result

    def passes(self, payload: Any) -> bool:
        """Whether an event with ``payload`` goes to the subscriber: not exactly false."""
        return self.evaluate(payload) is not False


def parse_filter(text: str) -> Filter:
    """Parse ``text``; a syntax error raises ``FilterSyntaxError`` naming the position."""
    if not isinstance(text, str):
        raise TypeError(f"a filter must be a string, got {type(text).__name__}")
    return Filter(text, _Parser(text).parse())
