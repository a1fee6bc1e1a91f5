"""The Tree: a Python function's syntax tree in the text form frontends read.

The format is specified in ``plugin-api/include/asp/tree.hpp``. This module is
generic: it writes every node kind and every field Python's :mod:`ast` has,
and knows nothing of any domain.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import math
import sys
import types
from typing import Any, Callable, Iterable, List, Optional, Sequence, Set, Tuple

from asp._errors import UnsupportedError

__all__ = ["function_tree", "free_constants", "value_text"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _bytes(data: bytes) -> str:
    return '"' + "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in '"\\' else f"\\x{b:02x}" for b in data) + '"'


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)  # the shortest text that reads back as the same double


def value_text(value: Any) -> str:
    """The Tree text of a constant: a number, bool, None, string, or a list or tuple of them.

    Values the Tree has no atom for (integers beyond 64 bits, complex numbers,
    bytes, ``...``) become nodes of their own kind, which a frontend rejects
    like any construct it does not know. A NumPy scalar becomes ``(NumPyScalar
    dtype="float32" value=0.5)``: its dtype's name and the Python number it holds.
    """
    if value is None:
        return "none"
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.bool_, numpy.integer, numpy.floating)):
        # A NumPy scalar keeps its dtype: operators promote it as NumPy does, unlike the Python number it holds.
        return f"(NumPyScalar dtype={_string(value.dtype.name)} value={value_text(value.item())})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return str(value)
        return f"(BigInt digits={_string(str(value))})"
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(value_text(v) for v in value) + "]"
    if isinstance(value, complex):
        return f"(Complex real={_float(value.real)} imag={_float(value.imag)})"
    if isinstance(value, bytes):
        return f"(Bytes value={_bytes(value)})"
    if value is Ellipsis:
        return "(Ellipsis)"
    raise TypeError(f"no Tree form for a constant of type {type(value).__name__}")


class _Writer:
    """Writes nodes with positions relative to the source file."""

    def __init__(self, line_offset: int) -> None:
        self.line_offset = line_offset
        self.parts: List[str] = []

    def value(self, value: Any) -> None:
        if isinstance(value, ast.AST):
            self.node(value)
        elif isinstance(value, list):
            self.parts.append("[")
            for i, item in enumerate(value):
                if i:
                    self.parts.append(" ")
                self.value(item)
            self.parts.append("]")
        else:
            self.parts.append(value_text(value))

    def node(self, node: ast.AST) -> None:
        self.parts.append("(" + type(node).__name__)
        lineno = getattr(node, "lineno", None)
        col_offset = getattr(node, "col_offset", None)
        if lineno is not None and col_offset is not None:
            self.parts.append(f" @{lineno + self.line_offset}:{col_offset}")
        for field in node._fields:
            self.parts.append(f" {field}=")
            self.value(getattr(node, field, None))
        self.parts.append(")")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _definition_lines(function: Callable) -> Optional[Tuple[List[str], int]]:
    """The lines of the function's definition found by indentation alone, or None.

    inspect.getsourcelines finds the end of a definition with the tokenizer,
    whose regular expressions take a new process several milliseconds to
    compile (a fifth of a warm first call). The definition ends at the first
    line, after its decorators and its ``def`` line, indented no deeper than
    it; where that cut is wrong (a dedented line inside brackets or a string)
    the text does not parse and the caller asks inspect instead.
    """
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    lines = linecache.getlines(code.co_filename, getattr(function, "__globals__", None))
    first = code.co_firstlineno - 1
    if not 0 <= first < len(lines):
        return None
    base = _indent(lines[first])
    end = first
    while end < len(lines) and lines[end].lstrip().startswith("@") and _indent(lines[end]) == base:
        end += 1
    while end < len(lines) and not lines[end].lstrip().startswith(("def ", "async def ")):
        end += 1  # a decorator's continuation lines
    end += 1
    while end < len(lines):
        stripped = lines[end].strip()
        if stripped and not stripped.startswith("#") and _indent(lines[end]) <= base:
            break
        end += 1
    return lines[first:end], first + 1


def _source(function: Callable) -> Tuple[ast.AST, int]:
    """The function's definition, and what to add to its line numbers to make them the file's."""
    found = _definition_lines(function)
    if found is not None:
        try:
            return _parse_definition(function, *found)
        except (SyntaxError, UnsupportedError):
            pass  # cut in the wrong place: inspect finds the definition
    try:
        lines, first_line = inspect.getsourcelines(function)
    except (OSError, TypeError) as error:
        raise UnsupportedError(f"the source of {getattr(function, '__qualname__', function)!r} is not available: {error}")
    try:
        return _parse_definition(function, lines, first_line)
    except SyntaxError as error:
        raise UnsupportedError(f"the source of {function.__qualname__} does not parse on its own: {error.msg}", first_line)


def _parse_definition(function: Callable, lines: List[str], first_line: int) -> Tuple[ast.AST, int]:
    """The definition in `lines` (from line `first_line` of its file). Raises SyntaxError."""
    source = "".join(lines)
    indented = source[:1] in (" ", "\t")
    # An indented definition (a method) parses as the body of an `if`: unlike
    # dedenting, this keeps every column and every string literal as in the file.
    text = "if True:\n" + source if indented else source
    module = ast.parse(text)
    body = module.body[0].body if indented and isinstance(module.body[0], ast.If) else module.body
    if len(body) != 1 or not isinstance(body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise UnsupportedError(f"{function.__qualname__} is not a function defined with def", first_line)
    return body[0], first_line - (2 if indented else 1)


def _tree(function_node: ast.AST, line_offset: int, constants: Sequence[Tuple[str, Any]]) -> str:
    writer = _Writer(line_offset)
    writer.parts.append("asp-ir 1 tree\n(Specialize function=")
    writer.node(function_node)
    writer.parts.append(" constants=[")
    for i, (name, value) in enumerate(constants):
        writer.parts.append(("" if i == 0 else " ") + f"(Constant name={_string(name)} value={value_text(value)})")
    writer.parts.append("])\n")
    return "".join(writer.parts)


def _bound_names(function_node: ast.AST) -> Set[str]:
    """Names the function binds itself: parameters, assignment targets, nested definitions, imports."""
    bound: Set[str] = set()
    for node in ast.walk(function_node):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not function_node:
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
    return bound


def _read_names(function_node: ast.AST) -> List[str]:
    """Names the function reads, in order of first appearance."""
    seen: List[str] = []
    for node in ast.walk(function_node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in seen:
            seen.append(node.id)
    return seen


def _resolve(name: str, function: Callable) -> Tuple[bool, Any]:
    """Looks `name` up as the function would: closure, then globals, then builtins."""
    code = getattr(function, "__code__", None)
    closure = getattr(function, "__closure__", None) or ()
    if code is not None:
        for free, cell in zip(code.co_freevars, closure):
            if free == name:
                try:
                    return True, cell.cell_contents
                except ValueError:  # an empty cell: not bound yet
                    return False, None
    namespace = getattr(function, "__globals__", {})
    if name in namespace:
        return True, namespace[name]
    if hasattr(builtins, name):
        return True, getattr(builtins, name)
    return False, None


def _plain_number(value: Any) -> Any:
    """`value` when it is a number: a Python bool, int or float, or a NumPy scalar (kept, with its dtype); else None."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.bool_, numpy.integer, numpy.floating)):
        return value
    if isinstance(value, (bool, int, float)):
        return value
    return None


def free_constants(function: Callable, function_node: ast.AST) -> List[Tuple[str, Any]]:
    """The resolution of every free name the function reads.

    A number or bool from its globals or closure becomes ``(name, value)``; a
    module ``(name, "module:<module name>")``; a callable ``(name,
    "<module>.<qualname>")`` (``math.sqrt``, ``builtins.abs``); anything else
    is left out.
    """
    bound = _bound_names(function_node)
    found: List[Tuple[str, Any]] = []
    for name in _read_names(function_node):
        if name in bound:
            continue
        known, value = _resolve(name, function)
        if not known:
            continue
        number = _plain_number(value)
        if number is not None:
            found.append((name, number))
        elif isinstance(value, types.ModuleType):
            found.append((name, f"module:{value.__name__}"))
        elif callable(value):
            module = getattr(value, "__module__", None) or type(value).__module__
            qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
            if qualname:
                found.append((name, f"{module}.{qualname}"))
    return found


def function_tree(function: Callable, constants: Iterable[Tuple[str, Any]] = ()) -> str:
    """The Tree text of a function: its definition, then `constants` and its free names' values.

    Parameters
    ----------
    function : callable
        A function or method defined with ``def`` in a source file.
    constants : iterable of (str, object)
        Values the domain module adds (e.g. ``("self.constants", [...])``); a
        free name of the function given here is left to the domain's value.

    Returns
    -------
    str
        The text, header line included.

    Raises
    ------
    UnsupportedError
        The source is not available or is not a function definition.
    """
    target = inspect.unwrap(getattr(function, "__func__", function))
    node, line_offset = _source(target)
    given = list(constants)
    # A name the domain module gives (a stencil kernel's bare-name constants) is what the function reads:
    # the domain runs the function with those values over its globals.
    named = {name for name, _ in given}
    return _tree(node, line_offset, given + [c for c in free_constants(target, node) if c[0] not in named])
