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

import inspect
import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

import asp
from asp import _core

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

    def __init__(self, shape: Sequence[int], dtype: Any = np.float64) -> None:
        self._resident = None
        # Not np.zeros: NumPy asks the kernel for transparent huge pages only
        # for memory it allocates itself (np.empty), not for calloc'd memory, and
        # a sweep over a grid of small pages runs up to 18 % slower (TLB misses).
        values = np.empty(tuple(int(n) for n in shape), dtype=dtype)
        values.fill(0)
        self.data = values
        self.ghost_depth = 1
        self.neighbor_definition = self._default_neighbors()

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
        return self.data[point]

    def __setitem__(self, point: Point, value: Any) -> None:
        self.data[point] = value

    def __repr__(self) -> str:
        return f"StencilGrid(shape={self.shape}, dtype={self._data.dtype}, ghost_depth={self.ghost_depth})"


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

    Attributes
    ----------
    pure_python : bool
        Run the Python method instead of native code (for debuggers).
    constants : dict
        Numbers the kernel reads as ``self.constants[name]``; their values are
        part of the specialization key.
    last_call : LastCall or None
        What the most recent call ran.
    """

    def __init__(self) -> None:
        method = getattr(type(self), "kernel", None)  # StencilKernel itself defines none
        if method is None:
            raise TypeError(f"{type(self).__name__} must define a method kernel(self, in_grid, ..., out_grid)")
        self._method: Callable = method
        self._parameters = list(inspect.signature(method).parameters)[1:]
        self.pure_python = False
        self.constants: dict = {}
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

    def _run_python(self, grids: tuple, reason: str) -> None:
        self._method(self, *grids)
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
    return isinstance(value, (bool, int, float, np.integer, np.floating))
