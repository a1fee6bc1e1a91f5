"""Asp: selective embedded just-in-time specialization for Python.

A domain module (:mod:`asp.stencil`, ...) hands a Python function and the
descriptions of its arguments to :func:`specialize`, which sends the
function's syntax tree to the domain's specializer plugin through the core and
returns a native kernel to call with the arguments' values. Anything the
specializer cannot handle raises :class:`UnsupportedError`, and the domain
module runs the Python function instead, with a :class:`FallbackWarning`.

Configuration (DESIGN.md §7) is read by the core: ``ASP_BACKEND``,
``ASP_CACHE_DIR``, ``ASP_LOG`` and ``ASP_DUMP`` act there; :func:`disabled`
and :func:`strict` give Python the effective ``disable`` and ``strict``
settings (``ASP_DISABLE``, ``ASP_STRICT``).
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Iterable, Mapping, Tuple

from asp._errors import CompileError, ConfigError, FallbackWarning, SpecializationError, UnsupportedError
from asp import _core
from asp._core import Specialized
from asp._tree import function_tree

__all__ = [
    "CompileError",
    "ConfigError",
    "FallbackWarning",
    "SpecializationError",
    "Specialized",
    "UnsupportedError",
    "disabled",
    "setting",
    "specialize",
    "strict",
]

__version__: str = _core.version


def setting(name: str) -> Any:
    """The effective value of a configuration setting.

    Parameters
    ----------
    name : str
        A dotted key as ``asp config`` lists it, e.g. ``"strict"`` or ``"backends.openmp.priority"``.

    Returns
    -------
    bool, int, str, list of str or None
        The value the core runs with: from the highest layer that sets it,
        environment variables included as they were when the core started
        (the first specialization or setting), or None when nothing sets it.

    Raises
    ------
    ConfigError
        No setting has this name.
    """
    return _core.setting(name)


def disabled() -> bool:
    """Whether every kernel runs as plain Python.

    ``ASP_DISABLE`` as it is at this call (so a debugger session can set it),
    else the setting ``disable`` of the configuration files.
    """
    return _core.flag("disable")


def strict() -> bool:
    """Whether a kernel that cannot be specialized is an error rather than a fallback.

    ``ASP_STRICT`` as it is at this call, else the setting ``strict`` of the configuration files.
    """
    return _core.flag("strict")


def _plain(value: Any) -> Any:
    """NumPy scalars as the Python numbers they hold; anything else as is."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic) and not isinstance(value, numpy.ndarray):
        return value.item()
    return value


def specialize(
    domain: str,
    function: Callable,
    args: Mapping[str, Any],
    constants: Iterable[Tuple[str, Any]] = (),
) -> Specialized:
    """Specializes `function` for the arguments `args` with the plugin of `domain`.

    Parameters
    ----------
    domain : str
        The domain whose frontend reads the function (``"stencil"``, ...).
    function : callable
        A function or method defined with ``def`` in a source file.
    args : mapping of str to object
        The arguments by name, in call order: arrays (NumPy or any DLPack
        producer; their dtype, shape and strides are what counts) and int,
        float or bool scalars.
    constants : iterable of (str, object)
        Values the function reads that are not in its text, added by the
        domain module (e.g. ``("self.constants", [["c", 0.5]])``). The numbers,
        modules and callables the function reads from its globals and closure
        are added here.

    Returns
    -------
    Specialized
        The kernel: call it with the argument values in the order of `args`;
        it returns the index of the variant that ran (``.variants`` names them).
        Results are not cached here: a domain module keeps one per argument signature.

    Raises
    ------
    UnsupportedError
        The specializer cannot handle a construct (``line`` says where), the
        source is not available, no plugin serves `domain`, or no backend can
        run the kernel here (``reason`` says why, e.g. ``ASP_BACKEND`` names an
        unavailable one).
    CompileError
        The generated code did not compile on any backend.
    ValueError
        The specializer rejected the arguments (e.g. a neighbour outside the ghost zone).
    RuntimeError
        Anything else; the message names the component that failed.
    """
    tree = function_tree(function, constants)
    return _core.specialize(domain, tree, [(name, _plain(value)) for name, value in args.items()])
