"""Stencil kernels: the original Asp stencil API, specialized to native code.

A stencil kernel updates every point of an output grid from the neighbouring
points of input grids::

    from asp.stencil import StencilGrid, StencilKernel

    class Laplacian(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = -4 * in_grid[x]
                for y in in_grid.neighbors(x, 1):
                    out_grid[x] = out_grid[x] + in_grid[y]

    Laplacian().kernel(in_grid, out_grid)

The first call for a given argument signature (dtypes, shapes, ghost depths,
neighbour definitions and the numeric constants the kernel reads) hands the
method's syntax tree to the stencil specializer, which compiles it for the
best backend; later calls run the cached native code. A kernel the
specializer cannot handle runs as plain Python after an
:class:`asp.FallbackWarning` that says why (or raises under ``ASP_STRICT=1``).
"""
from __future__ import annotations

import ast
import inspect
import itertools
import math
import types
import warnings
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

import asp
from asp import _core, _tree
from asp._errors import UnsupportedError

__all__ = ["StencilGrid", "StencilKernel", "LastCall", "distance"]

Point = tuple


def distance(x: Sequence[int], y: Sequence[int]) -> float:
    """Euclidean distance between two points of a grid."""
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(x, y)))


class StencilGrid:
    """A grid of values with a ghost zone and named neighbour sets.

    Parameters
    ----------
    shape : sequence of int
        Extent along each axis (1 to 4 axes).
    dtype : numpy dtype, optional
        float64 (default), float32, int32 or int64. The grid starts at zero.

    Attributes
    ----------
    data : numpy.ndarray
        The values. A device backend (opencl, cuda) keeps a grid's values in
        device memory between kernel calls; reading ``data`` (or indexing the
        grid) first copies the device's results back. An array obtained from
        ``data`` earlier does not see later results: read ``data`` again, or
        call ``sync()``.
    ghost_depth : int
        Width of the border zone: ``interior_points()`` stays this far from every edge.
    neighbor_definition : list of list of tuple of int
        Neighbour sets by id: entry 0 is the centre, entry 1 the points one step
        away along each axis. Replace or append entries to define others.
    """

    def __init__(self, shape: Sequence[int], dtype: Any = np.float64, data: Optional[np.ndarray] = None,
                 neighbors: Optional[list] = None) -> None:
        self._resident = None
        if data is not None:
            # The original's StencilGrid(shape, data=array): wraps the array, as from_array does.
            if not isinstance(data, np.ndarray):
                raise TypeError(f"StencilGrid data must be a numpy.ndarray, got {type(data).__name__}")
            if tuple(data.shape) != tuple(int(n) for n in shape):
                raise ValueError(f"StencilGrid shape {tuple(shape)} does not match the shape {data.shape} of its data")
            self.data = data
        else:
            # Not np.zeros: NumPy asks the kernel for transparent huge pages only
            # for memory it allocates itself (np.empty), not for calloc'd memory, and
            # a sweep over a grid of small pages runs up to 18 % slower (TLB misses).
            values = np.empty(tuple(int(n) for n in shape), dtype=dtype)
            values.fill(0)
            self.data = values
        self.ghost_depth = 1
        self.neighbor_definition = self._default_neighbors() if neighbors is None else neighbors

    @classmethod
    def from_array(cls, array: np.ndarray) -> "StencilGrid":
        """Wraps an existing array without copying it."""
        grid = cls.__new__(cls)
        grid._resident = None
        grid.data = array
        grid.ghost_depth = 1
        grid.neighbor_definition = grid._default_neighbors()
        return grid

    @property
    def data(self) -> np.ndarray:
        """The values, as a NumPy array (settable), with the device's latest results."""
        if self._resident is not None:
            # Python may now read and write the array: the next device kernel copies it in again.
            self._resident.host()
        return self._data

    @data.setter
    def data(self, array: np.ndarray) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"StencilGrid.data must be a numpy.ndarray, got {type(array).__name__}")
        if not 1 <= array.ndim <= 4:
            raise ValueError(f"a StencilGrid has 1 to 4 dimensions, this array has {array.ndim}")
        self.sync()  # the array being replaced gets the device's results
        self._resident = None
        self._data = array

    def sync(self) -> None:
        """Copies the device's latest results into the array (a no-op unless a device kernel wrote it)."""
        if self._resident is not None:
            self._resident.sync()

    def _native_argument(self) -> Any:
        """What a specialized kernel takes for this grid: the array with its device copy."""
        if self._resident is None and self._data.flags.writeable:
            self._resident = _core.Resident(self._data)
        return self._resident if self._resident is not None else self._data

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dim(self) -> int:
        return self._data.ndim

    def _default_neighbors(self) -> list:
        centre = (0,) * self.dim
        axis_steps = []
        for axis in range(self.dim):
            for step in (1, -1):
                offset = [0] * self.dim
                offset[axis] = step
                axis_steps.append(tuple(offset))
        return [[centre], axis_steps]

    # ---- the original Asp's StencilGrid helpers (Python only: a kernel loops over
    # interior_points(), border_points() and neighbors()) ----

    @property
    def interior(self) -> list:
        """The number of interior points along each axis (the original's ``interior``)."""
        return [max(n - 2 * self.ghost_depth, 0) for n in self.shape]

    @property
    def grid_variables(self) -> list:
        """The original's names of the axes: ``["DIM0", "DIM1", ...]``."""
        return [f"DIM{axis}" for axis in range(self.dim)]

    def set_interior(self) -> None:
        """Kept for programs written for the original Asp: ``interior`` follows ``ghost_depth`` by itself."""

    def set_grid_variables(self) -> None:
        """Kept for programs written for the original Asp: ``grid_variables`` follows the shape by itself."""

    def set_default_neighbor_definition(self) -> None:
        """Resets ``neighbor_definition`` to entry 0 the centre, entry 1 one step along each axis."""
        self.neighbor_definition = self._default_neighbors()

    set_default_neighbor_definitions = set_default_neighbor_definition  # the successor's spelling

    def set_neighborhood(self, neighborhood_id: int, coordinate_list: Sequence[Sequence[int]]) -> None:
        """Sets neighbour set ``neighborhood_id`` to the offsets ``coordinate_list`` (padding with empty sets)."""
        for offset in coordinate_list:
            if len(offset) != self.dim:
                raise ValueError(f"neighbour offset {tuple(offset)} has {len(offset)} entries; this grid has {self.dim} axes")
        while len(self.neighbor_definition) <= neighborhood_id:
            self.neighbor_definition.append([])
        self.neighbor_definition[neighborhood_id] = [tuple(o) for o in coordinate_list]

    def von_neuman_neighborhood(self) -> list:
        """The offsets one step along each axis, -1 then +1 (the successor's order)."""
        offsets = []
        for axis in range(self.dim):
            for step in (-1, 1):
                offset = [0] * self.dim
                offset[axis] = step
                offsets.append(tuple(offset))
        return offsets

    def moore_neighborhood(self, include_origin: bool = False) -> list:
        """Every offset with entries in {-1, 0, 1}, in row-major order; the centre only if ``include_origin``."""
        return [o for o in itertools.product((-1, 0, 1), repeat=self.dim) if include_origin or any(o)]

    def corner_points(self) -> Iterator[Point]:
        """Every point within ``ghost_depth`` of an edge along every axis, in row-major order."""
        g = self.ghost_depth
        return itertools.product(*(sorted(set(range(min(g, n))) | set(range(max(n - g, 0), n))) for n in self.shape))

    def edge_points(self) -> Iterator[Point]:
        """The border points that are not corner points, in row-major order."""
        g = self.ghost_depth
        for point in self.border_points():
            if not all(i < g or i >= n - g for i, n in zip(point, self.shape)):
                yield point

    def boundary_points(self) -> Iterator[Point]:
        """The border points, in row-major order (the successor's other name for them)."""
        return self.border_points()

    def interior_points(self) -> Iterator[Point]:
        """Every point at least ``ghost_depth`` away from each edge, in row-major order."""
        g = self.ghost_depth
        return itertools.product(*(range(g, n - g) for n in self.shape))

    def border_points(self) -> Iterator[Point]:
        """Every point within ``ghost_depth`` of an edge, in row-major order."""
        g = self.ghost_depth
        for point in itertools.product(*(range(n) for n in self.shape)):
            if any(i < g or i >= n - g for i, n in zip(point, self.shape)):
                yield point

    def neighbors(self, center: Point, neighbors_id: int) -> Iterator[Point]:
        """The points of neighbour set ``neighbors_id`` around ``center``, in definition order."""
        for offset in self.neighbor_definition[neighbors_id]:
            yield tuple(c + o for c, o in zip(center, offset))

    def __getitem__(self, point: Point) -> Any:
        try:
            return self.data[point]
        except IndexError as error:
            _float_index(point, error)
            raise

    def __setitem__(self, point: Point, value: Any) -> None:
        try:
            self.data[point] = value
        except IndexError as error:
            _float_index(point, error)
            raise

    def __repr__(self) -> str:
        return f"StencilGrid(shape={self.shape}, dtype={self._data.dtype}, ghost_depth={self.ghost_depth})"

    def __str__(self) -> str:
        # What the original printed for `print(grid)`: its array.
        return repr(self.data)


def _float_index(point: Any, error: IndexError) -> None:
    """Raises a clear IndexError for a grid indexed with a float (the original's C++ truncated it; NumPy refuses)."""
    parts = point if isinstance(point, tuple) else (point,)
    if any(isinstance(p, (float, np.floating)) for p in parts):
        raise IndexError(
            f"a StencilGrid is indexed with the float {point!r}: grids take integer indices; write grid[int(...)] "
            "(the original Asp's generated C++ truncated a float index, NumPy refuses one)"
        ) from error


@dataclass(frozen=True)
class LastCall:
    """What the most recent call of a kernel ran.

    Attributes
    ----------
    backend : str or None
        The backend of the native code ("openmp", ...), or None when Python ran.
    variant : str or None
        The variant the tuner chose, or None when Python ran.
    fallback_reason : str or None
        Why Python ran, or None when the call was specialized.
    """

    backend: Optional[str]
    variant: Optional[str]
    fallback_reason: Optional[str]


_SUPPORTED_DTYPES = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64)}


class _Fallback:
    """A signature the specializer turned down: run Python, with this reason."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class StencilKernel:
    """Base class of stencil kernels: subclass it and define ``kernel(self, *grids)``.

    Calls go through a dispatcher in the core (``asp._core.Dispatcher``) that
    owns the argument signature check, the cache of specializations and the
    call; this class declares what the signature is made of (each grid's
    array, ghost depth and neighbour definition, the numbers in
    ``self.constants`` and among the method's free names) and what runs when
    native code cannot: the checks, the specializer and the Python fallback.

    Parameters
    ----------
    with_cilk : bool, optional
        The original Asp's choice of Cilk Plus code; only False is accepted
        (Asp chooses among its own backends).
    pure_python : bool, optional
        The initial value of ``pure_python``.
    backend : None
        The successor's (ctree) choice of backend; only None is accepted
        (``ASP_BACKEND`` or the configuration choose a backend).

    Attributes
    ----------
    pure_python : bool
        Run the Python method instead of native code (for debuggers).
    constants : dict
        Numbers the kernel reads as ``self.constants[name]``, or as the bare
        name ``name`` (the original Asp's convention); their values are part of
        the specialization key. A subclass may define it as a class attribute.
    last_call : LastCall or None
        What the most recent call ran.
    should_unroll, should_cacheblock, block_size
        The original's tuning hints, kept so that programs setting them run;
        the tuner times the variants itself.
    """

    def __init__(self, with_cilk: bool = False, pure_python: bool = False, backend: Any = None) -> None:
        method = getattr(type(self), "kernel", None)  # StencilKernel itself defines none
        if method is None:
            raise TypeError(f"{type(self).__name__} must define a method kernel(self, in_grid, ..., out_grid)")
        if with_cilk:
            raise ValueError(
                f"{type(self).__name__}(with_cilk=True): Asp generates no Cilk Plus code; it chooses among its own "
                "backends (`asp info` lists them, ASP_BACKEND=openmp forces one): write "
                f"{type(self).__name__}()"
            )
        if backend is not None:
            raise ValueError(
                f"{type(self).__name__}(backend={backend!r}): Asp chooses the backend for every kernel itself; "
                f"write {type(self).__name__}() and set ASP_BACKEND (openmp, pthreads, opencl or cuda) or the "
                "backends' priorities in the configuration to choose one"
            )
        self._method: Callable = method
        self._parameters = list(inspect.signature(method).parameters)[1:]
        self.pure_python = bool(pure_python)
        # The original's constants were often a class attribute, or set before StencilKernel.__init__ ran.
        given = self.__dict__.get("constants", getattr(type(self), "constants", None))
        self.constants: dict = dict(given) if isinstance(given, dict) else {}
        self.with_cilk = False
        self.should_unroll = True
        self.should_cacheblock = False
        self.block_size = 1
        self._warned: set = set()
        self._dispatcher = _core.Dispatcher(
            self, len(self._parameters), StencilGrid, "_resident", "_native_argument",
            ["ghost_depth", "neighbor_definition"], "pure_python", ["constants"], method,
            StencilKernel._prepare, StencilKernel._specialize, StencilKernel._run_fallback,
        )
        # The instance attribute shadows the method: calls go to the dispatcher.
        self.kernel = self._dispatcher

    @property
    def last_call(self) -> Optional[LastCall]:
        last = self._dispatcher.last
        return None if last is None else LastCall(*last)

    @property
    def _specialized(self) -> dict:
        """The dispatch cache: signature key -> Specialized or _Fallback."""
        return self._dispatcher.specializations

    # ---- the original API's methods ----

    def distance(self, x: Sequence[int], y: Sequence[int]) -> float:
        """The Euclidean distance between two points (the successor's ``self.distance``; a kernel may call it).

        A subclass may override it; a kernel calling an override runs as Python.
        """
        return distance(x, y)

    @property
    def pure_python_kernel(self) -> Callable:
        """The kernel as plain Python, whatever ``pure_python`` says (the original's attribute)."""

        def run(*grids: Any) -> None:
            self._check_arguments(grids)
            self._python_function(self._bare_constants())(self, *grids)

        return run

    def interior_points(self, *args: Any) -> Any:
        raise TypeError(
            "self.interior_points(grid) is the API of the successor's Stencil class (ctree), which Asp does not "
            "implement; a StencilKernel loops over grid.interior_points()"
        )

    def neighbors(self, *args: Any) -> Any:
        raise TypeError(
            "self.neighbors(x, k) is the API of the successor's Stencil class (ctree), which Asp does not "
            "implement; a StencilKernel loops over grid.neighbors(x, k), with the grid's neighbor_definition"
        )

    # ---- bare-name constants ----

    def _bare_constants(self) -> Dict[str, Any]:
        """The constants the kernel reads as bare names, checked; raises where a name is ambiguous or missing."""
        names = _kernel_names(self._method)
        constants = self.constants
        if names is None or not isinstance(constants, dict):
            return {}
        kind = type(self).__name__
        for key in constants:
            if isinstance(key, str) and key in names.bound and key not in names.subscripted:
                what = names.describe(key)
                raise ValueError(
                    f"{kind}.constants['{key}'] has the name of {what} of {kind}.kernel, which the kernel "
                    f"reads as '{key}' instead of the constant; rename the constant or the variable"
                )
        bare: Dict[str, Any] = {}
        for name in names.free:
            if name in constants:
                value = constants[name]
                if not _is_number(value):
                    raise TypeError(
                        f"{kind}.kernel reads '{name}' from self.constants, where it is a {type(value).__name__}; "
                        "the constants a kernel reads are numbers (int, float, bool or a NumPy scalar)"
                    )
                if name in names.closure:
                    raise ValueError(
                        f"{kind}.kernel reads '{name}', which is both self.constants['{name}'] and a variable of "
                        "the function that defines the class; rename one of them"
                    )
                known, other = _tree._resolve(name, self._method)
                if known and _tree._plain_number(other) is None:
                    raise ValueError(
                        f"self.constants['{name}'] would hide the {type(other).__name__} '{name}' that "
                        f"{kind}.kernel reads; rename the constant"
                    )
                bare[name] = value
            elif not _tree._resolve(name, self._method)[0]:
                raise NameError(
                    f"{kind}.kernel reads '{name}', which is neither a key of self.constants nor a global, a "
                    f"closure variable or a built-in; set self.constants['{name}'] to its value (a number)"
                )
        return bare

    def _python_function(self, bare: Dict[str, Any]) -> Callable:
        """The kernel function, run with the bare-name constants over its globals (the module is not touched)."""
        function = self._method
        code = getattr(function, "__code__", None)
        if not bare or code is None:
            return function
        namespace = dict(function.__globals__)
        namespace.update(bare)
        layered = types.FunctionType(code, namespace, function.__name__, function.__defaults__, function.__closure__)
        layered.__kwdefaults__ = function.__kwdefaults__
        return layered

    def _run_python(self, grids: tuple, reason: str) -> None:
        self._python_function(self._bare_constants())(self, *grids)
        self._dispatcher.ran_python(reason)

    def _fall_back(self, grids: tuple, reason: str) -> None:
        """Runs Python after warning once per reason, or raises under ASP_STRICT."""
        if asp.strict():
            raise asp.SpecializationError(f"{type(self).__name__}.kernel: {reason}")
        if reason not in self._warned:
            self._warned.add(reason)
            # The frames: this method, its caller here, the user's call (the dispatcher is not a Python frame).
            warnings.warn(f"{type(self).__name__}.kernel runs as Python: {reason}", asp.FallbackWarning, stacklevel=3)
        self._run_python(grids, reason)

    def _run_fallback(self, grids: tuple, fallback: "_Fallback") -> None:
        self._fall_back(grids, fallback.reason)

    def _check_arguments(self, grids: tuple) -> None:
        if len(grids) != len(self._parameters):
            raise TypeError(
                f"{type(self).__name__}.kernel takes {len(self._parameters)} grid(s) "
                f"({', '.join(self._parameters)}), got {len(grids)}"
            )
        for name, grid in zip(self._parameters, grids):
            if not isinstance(grid, StencilGrid):
                raise TypeError(f"argument '{name}' must be a StencilGrid, got {type(grid).__name__}")

    def _prepare(self, grids: tuple) -> bool:
        """The dispatcher's slow path: checks the arguments; True when the call ran here (as Python)."""
        self._check_arguments(grids)
        self._bare_constants()  # the same checks, and errors, for native code and Python
        if self.pure_python or asp.disabled():
            self._run_python(grids, "pure_python is set" if self.pure_python else "ASP_DISABLE is set")
            return True
        # Native code assumes distinct grids (it parallelises and keeps values in registers);
        # Python's sequential semantics for aliased grids are kept by running Python.
        for (i, a), (j, b) in itertools.combinations(enumerate(grids), 2):
            if np.may_share_memory(a._data, b._data):
                self._fall_back(grids, f"grids '{self._parameters[i]}' and '{self._parameters[j]}' share memory")
                return True
        return False

    def _tree_constants(self, grids: tuple) -> list:
        constants = [("self.constants", [[k, v] for k, v in self.constants.items() if _is_number(v)])]
        constants.extend(self._bare_constants().items())
        overridden = self.__dict__.get("distance", getattr(type(self), "distance", None))
        if overridden is StencilKernel.distance:
            constants.append(("self.distance", "asp.stencil.distance"))
        else:
            target = getattr(overridden, "__func__", overridden)
            constants.append(("self.distance", f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"))
        for name, grid in zip(self._parameters, grids):
            constants.append((f"{name}.neighbor_definition", [[list(o) for o in s] for s in grid.neighbor_definition]))
            constants.append((f"{name}.ghost_depth", int(grid.ghost_depth)))
        return constants

    def _specialize(self, grids: tuple) -> Any:
        """The dispatcher's builder for a new signature: a Specialized, or a _Fallback with the reason."""
        for name, grid in zip(self._parameters, grids):
            if grid._data.dtype not in _SUPPORTED_DTYPES:
                return _Fallback(f"grid '{name}' has dtype {grid._data.dtype}; specialized grids are float32, float64, int32 or int64")
            if not grid._data.flags.c_contiguous:
                return _Fallback(f"grid '{name}' is not C-contiguous")
        try:
            return asp.specialize(
                "stencil",
                self._method,
                {name: grid._data for name, grid in zip(self._parameters, grids)},
                self._tree_constants(grids),
            )
        except asp.UnsupportedError as error:
            return _Fallback(error.reason)
        except asp.CompileError as error:
            if asp.strict():
                raise
            return _Fallback(f"the generated code did not compile: {error}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating))


class _KernelNames:
    """What a kernel method's text says about the names it reads (computed once per method)."""

    __slots__ = ("free", "bound", "parameters", "loops", "subscripted", "closure")

    def __init__(self, function: Callable) -> None:
        node, _ = _tree._source(function)
        self.bound = _tree._bound_names(node)
        self.free: List[str] = [n for n in _tree._read_names(node) if n not in self.bound]
        arguments = node.args
        self.parameters = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
        self.loops = {n.target.id for n in ast.walk(node) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)}
        # Keys the kernel reads as self.constants["key"]: there, a local of the same name is no ambiguity.
        self.subscripted = set()
        for n in ast.walk(node):
            if (isinstance(n, ast.Subscript) and isinstance(n.value, ast.Attribute) and n.value.attr == "constants"
                    and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)):
                self.subscripted.add(n.slice.value)
        self.closure = set(getattr(getattr(function, "__code__", None), "co_freevars", ()))

    def describe(self, name: str) -> str:
        if name in self.parameters[:1]:
            return f"the parameter '{name}' (the kernel object)"
        if name in self.parameters:
            return f"the grid parameter '{name}'"
        if name in self.loops:
            return f"the loop variable '{name}'"
        return f"the local variable '{name}'"


_KERNEL_NAMES: "weakref.WeakKeyDictionary[Callable, Optional[_KernelNames]]" = weakref.WeakKeyDictionary()


def _kernel_names(method: Callable) -> Optional[_KernelNames]:
    """The names of `method` (None where its source is not available: Python runs it as it is)."""
    function = inspect.unwrap(getattr(method, "__func__", method))
    try:
        return _KERNEL_NAMES[function]
    except KeyError:
        pass
    except TypeError:  # not weakly referenceable
        return None
    try:
        names: Optional[_KernelNames] = _KernelNames(function)
    except (UnsupportedError, SyntaxError, OSError, TypeError):
        names = None
    _KERNEL_NAMES[function] = names
    return names
