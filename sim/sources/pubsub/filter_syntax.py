"""The filter language's syntax: a scanner, a parser and the tree it builds.

Grammar (``|`` binds loosest, then ``&``, then one comparison)::

    expr     := and ("|" and)*
    and      := compare ("&" compare)*
    compare  := operand (OPERATOR value)?
    OPERATOR := "==" | "!=" | "<>" | ">" | ">=" | "<" | "<=" | "~=" | "~~=" | "!~=" | "!~~="
    operand  := path | number | "string" | 'string' | true | false | null | "?" | "??" | "(" expr ")"
    value    := "$"path | "@"path | "string" | 'string' | "?" | "??" | "(" expr ")" | WORD
    path     := ("$" | "@" | name) segment*        a bare name starts at "@": "a.b" is "@.a.b"
    segment  := "." (name | integer | string | "*") | "[" expr "]"

On the value side (right of an operator) anything that is not a path, a quoted string, ``?``,
``??`` or a parenthesis is a WORD: the characters up to a space or one of ``] ) & |``, with
``\\`` escaping the next one. A word has no type of its own (``side == buy`` compares with the
text "buy", ``n > 10`` with the number 10, ``flag == true`` with the boolean; see
``compare.py``); ``null`` there is the text "null" too (candy-utils reads only ``?`` as
null). A ``?`` inside a word must be escaped (``\\?``).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias

import attrs

from sim.sources.pubsub.candy import EMPTY, NULL, Bool, Candy, Float, Int, Text
from sim.sources.pubsub.compare import OPERATORS, Word
from sim.sources.pubsub.errors import FilterSyntaxError

# Longest first, so "!~~=" is not read as "!" then "~~=", nor "<>" as "<".
_PUNCT = ("!~~=", "~~=", "!~=", "~=", "==", "!=", "<>", ">=", "<=", ">", "<", "??", "?",
          "&", "|", "$", "@", ".", "[", "]", "(", ")", "*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"-?\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS: dict[str, Candy] = {"true": Bool(True), "false": Bool(False), "null": NULL}
_WORD_END = frozenset("])&|")
_VALUE_START = frozenset("$@('\"")
_VALUE_EXPECTED = "a value (a path, number, string, true, false or null)"


# -- tree ------------------------------------------------------------------------------------


@attrs.frozen
class Literal:
    """A constant value."""

    value: Candy


@attrs.frozen
class WordLiteral:
    """A word on the value side, typed by the value it is compared with."""

    word: Word


@attrs.frozen
class Prop:
    """``.name``: a class property (or an array index if the name is an integer)."""

    name: str


@attrs.frozen
class Index:
    """``.N``: an array index, negative from the end."""

    index: int


@attrs.frozen
class AllItems:
    """``.*``: every item of an array, or every property value of a class."""


@attrs.frozen
class Find:
    """``[expr]``: the first array item for which ``expr`` is exactly true."""

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


Node: TypeAlias = Literal | WordLiteral | Path | Compare | And | Or


# -- scanner ---------------------------------------------------------------------------------


@attrs.frozen
class _Token:
    kind: str  # a punctuation string itself, or "name", "number", "string", "end"
    text: str
    position: int
    end: int
    value: Any = None


class _Parser:
    """A recursive-descent parser over a scanner that reads one token at a time.

    Tokens are scanned on demand because the value side is read differently (as a word).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.previous = ""  # kind of the last token taken
        self._peeked: _Token | None = None

    # -- scanning --

    def _skip_space(self, i: int) -> int:
        while i < len(self.text) and self.text[i].isspace():
            i += 1
        return i

    def _scan(self) -> _Token:
        text = self.text
        i = self._skip_space(self.pos)
        if i >= len(text):
            return _Token("end", "", len(text), len(text))
        ch = text[i]
        # After "." only an integer is a number, so "$.a.1.2" is two indexes, not 1.2.
        number = (_INTEGER if self.previous == "." else _NUMBER).match(text, i)
        if number is not None:
            literal = number.group()
            value: Candy = Int(int(literal)) if _INTEGER.fullmatch(literal) \
                else Float(float(literal))
            return _Token("number", literal, i, number.end(), value)
        if ch in "\"'":
            end, body = self._read_string(i)
            return _Token("string", text[i:end], i, end, body)
        name = _NAME.match(text, i)
        if name is not None:
            return _Token("name", name.group(), i, name.end(), name.group())
        punct = next((p for p in _PUNCT if text.startswith(p, i)), None)
        if punct is None:
            raise FilterSyntaxError(text, i, f"unexpected character {ch!r}")
        return _Token(punct, punct, i, i + len(punct))

    def _read_string(self, start: int) -> tuple[int, str]:
        """A quoted string from ``start``: JSON escapes in double quotes, ``\\'`` in single."""
        text = self.text
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

    @property
    def peek(self) -> _Token:
        if self._peeked is None:
            self._peeked = self._scan()
        return self._peeked

    def take(self) -> _Token:
        token = self.peek
        self.pos = token.end
        self.previous = token.kind
        self._peeked = None
        return token

    def fail(self, expected: str) -> FilterSyntaxError:
        token = self.peek
        found = "the end" if token.kind == "end" else repr(token.text)
        return FilterSyntaxError(self.text, token.position, f"expected {expected}, found {found}")

    def expect(self, kind: str) -> _Token:
        if self.peek.kind != kind:
            raise self.fail(repr(kind))
        return self.take()

    # -- grammar --

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
        left = self.operand()
        if self.peek.kind in OPERATORS:
            op = self.take().kind
            return Compare(op, left, self.value())
        return left

    def operand(self) -> Node:
        token = self.peek
        if token.kind in ("number", "string"):
            self.take()
            return Literal(token.value if token.kind == "number" else Text(token.value))
        if token.kind == "name" and token.text in _KEYWORDS:
            self.take()
            return Literal(_KEYWORDS[token.text])
        if token.kind in ("?", "??"):
            self.take()
            return Literal(NULL if token.kind == "?" else EMPTY)
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
        raise self.fail(_VALUE_EXPECTED)

    def value(self) -> Node:
        """The right side of a comparison: a path, a quoted string, ? / ??, (...) or a word."""
        start = self._skip_space(self.pos)
        if start < len(self.text) and self.text[start] in _VALUE_START:
            return self.operand()
        end, word = self._read_word(start)
        if end == start:
            raise self.fail(_VALUE_EXPECTED)
        self.pos = end
        self.previous = "word"
        self._peeked = None
        return WordLiteral(word)

    def _read_word(self, start: int) -> tuple[int, Word]:
        text = self.text
        chars: list[str] = []
        raw_question = False
        i = start
        while i < len(text) and not text[i].isspace() and text[i] not in _WORD_END:
            if text[i] == "\\":
                if i + 1 >= len(text):
                    raise FilterSyntaxError(text, i, "a '\\' at the end escapes nothing")
                chars.append(text[i + 1])
                i += 2
                continue
            raw_question = raw_question or text[i] == "?"
            chars.append(text[i])
            i += 1
        word = "".join(chars)
        if raw_question:
            if text[start:i] not in ("?", "??"):
                raise FilterSyntaxError(text, start, "? is null and ?? is empty, alone; write "
                                                     "\\? for a question mark in a word")
            return i, Word(word, "null" if word == "?" else "empty")
        return i, Word(word)

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
                found.append(Index(int(token.text)))
            elif token.kind == "*":
                found.append(AllItems())
            else:
                raise self.fail("a property name, an index or '*' after '.'")
            self.take()
        return tuple(found)


def parse(text: str) -> Node:
    """The tree of a non-empty filter, or ``FilterSyntaxError`` naming the position."""
    return _Parser(text).parse()
