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
from asp import _core, _mpi, _tree
from asp._errors import UnsupportedError

__all__ = ["StencilGrid", "StencilKernel", "LastCall", "distance", "choose_dims"]

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
    comm : mpi4py communicator, optional
        Distributes the grid: ``shape`` is then the global shape, split in
        blocks over the ranks of ``comm`` (every rank makes the grid, with
        the same shape and ghost depth). See ``gather``, ``decomposition``.
    ghost_depth : int, optional
        The initial ``ghost_depth`` (1); for a distributed grid, the depth of
        its halo, fixed from then on.

    Attributes
    ----------
    data : numpy.ndarray
        The values. A device backend (opencl, cuda) keeps a grid's values in
        device memory between kernel calls; reading ``data`` (or indexing the
        grid) first copies the device's results back. An array obtained from
        ``data`` earlier does not see later results: read ``data`` again, or
        call ``sync()``. For a distributed grid: this rank's block, its owned
        points with ``ghost_depth`` layers of halo on each side that has a
        neighbouring rank (the halo is refreshed before a kernel reads it).
    ghost_depth : int
        Width of the border zone: ``interior_points()`` stays this far from every edge.
    neighbor_definition : list of list of tuple of int
        Neighbour sets by id: entry 0 is the centre, entry 1 the points one step
        away along each axis. Replace or append entries to define others.
    """

    # Defaults for a grid whose subclass's __init__ does not call this one (the dispatcher reads _layout).
    _layout: Optional["_Decomposition"] = None
    _version = 0  # bumped whenever a kernel or Python may have written the values
    _exchanged = 0  # the version whose halo was last exchanged

    def __init__(self, shape: Sequence[int], dtype: Any = np.float64, data: Optional[np.ndarray] = None,
                 neighbors: Optional[list] = None, comm: Any = None, ghost_depth: int = 1) -> None:
        self._resident = None
        self._layout: Optional[_Decomposition] = None
        self._version = self._exchanged = 0
        if comm is not None:
            if data is not None:
                raise ValueError("StencilGrid(comm=...) takes no data=: StencilGrid.from_array(array, comm=comm) "
                                 "splits a global array")
            self._layout = _Decomposition.of(comm, shape, ghost_depth)
            values = np.empty(self._layout.local_shape, dtype=dtype)
            values.fill(0)
            self._data = values
            self.ghost_depth = self._layout.ghost
            self.neighbor_definition = self._default_neighbors() if neighbors is None else neighbors
            return
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
        self.ghost_depth = int(ghost_depth)
        self.neighbor_definition = self._default_neighbors() if neighbors is None else neighbors

    @classmethod
    def from_array(cls, array: np.ndarray, comm: Any = None, ghost_depth: int = 1) -> "StencilGrid":
        """Wraps an existing array without copying it; with ``comm``, keeps a copy of this rank's block.

        With a communicator, every rank passes the same global array (at least
        its shape and dtype must agree: a rank whose array differs in either
        makes every rank raise ValueError).
        """
        if comm is not None:
            if not isinstance(array, np.ndarray):
                raise TypeError(f"StencilGrid.from_array takes a numpy.ndarray, got {type(array).__name__}")
            with _mpi.collective(comm):
                signature = (tuple(array.shape), array.dtype.str)
                seen = comm.allgather(signature)
                if any(other != signature for other in seen):
                    raise ValueError(f"StencilGrid.from_array(comm=...): the ranks pass global arrays of different "
                                     f"shapes or dtypes {sorted(set(seen))}; every rank passes the same global array")
            grid = cls(array.shape, dtype=array.dtype, comm=comm, ghost_depth=ghost_depth)
            grid._data[...] = array[grid._layout.local_slices]
            return grid
        grid = cls.__new__(cls)
        grid._resident = None
        grid._layout = None
        grid._version = grid._exchanged = 0
        grid.data = array
        grid.ghost_depth = int(ghost_depth)
        grid.neighbor_definition = grid._default_neighbors()
        return grid

    @property
    def comm(self) -> Any:
        """The communicator the grid is distributed over (None for a grid of one process)."""
        return None if self._layout is None else self._layout.comm

    @property
    def global_shape(self) -> tuple:
        """The shape of the whole grid: for a distributed grid the global one, else ``shape``."""
        return self.shape if self._layout is None else self._layout.shape

    @property
    def decomposition(self) -> Optional["_Decomposition"]:
        """How a distributed grid is split (dims, this rank's coords and owned ranges); None otherwise."""
        return self._layout

    def gather(self, root: int = 0) -> Optional[np.ndarray]:
        """The global array on rank ``root``, None on the others (every rank calls it).

        A grid of one process returns a copy of ``data``.
        """
        if self._layout is None:
            return self.data.copy()
        layout = self._layout
        self.sync()
        pieces = layout.comm.gather((layout.owned, self._data[layout.owned_in_block].copy()), root=root)
        if pieces is None:
            return None
        whole = np.empty(layout.shape, dtype=self._data.dtype)
        for owned, block in pieces:
            whole[owned] = block
        return whole

    @property
    def data(self) -> np.ndarray:
        """The values, as a NumPy array (settable), with the device's latest results."""
        if self._resident is not None:
            # Python may now read and write the array: the next device kernel copies it in again.
            self._resident.host()
        self._version += 1  # Python may write it: a distributed grid's halo is stale from now on
        return self._data

    @data.setter
    def data(self, array: np.ndarray) -> None:
        if not isinstance(array, np.ndarray):
            raise TypeError(f"StencilGrid.data must be a numpy.ndarray, got {type(array).__name__}")
        if not 1 <= array.ndim <= 4:
            raise ValueError(f"a StencilGrid has 1 to 4 dimensions, this array has {array.ndim}")
        layout = self._layout
        if layout is not None and (array.shape != layout.local_shape or array.dtype != self._data.dtype):
            raise ValueError(f"the data of a distributed StencilGrid is this rank's block, of shape "
                             f"{layout.local_shape} and dtype {self._data.dtype}; got {array.shape} {array.dtype}")
        self.sync()  # the array being replaced gets the device's results
        self._resident = None
        self._data = array
        self._version += 1

    def sync(self) -> None:
        """Copies the device's latest results into the array (a no-op unless a device kernel wrote it)."""
        if self._resident is not None:
            self._resident.sync()

    def _native_argument(self) -> Any:
        """What a specialized kernel takes for this grid: the array with its device copy."""
        # A distributed grid stays in host memory, where the halo exchange reads and writes it.
        if self._resident is None and self._data.flags.writeable and self._layout is None:
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
        """Every point within ``ghost_depth`` of an edge, in row-major order.

        For a distributed grid: the points of this rank's block (halo excluded)
        within ``ghost_depth`` of an edge of the global grid, in block coordinates.
        """
        g = self.ghost_depth
        if self._layout is not None:
            low, high = self._layout.halo_low, self._layout.halo_high
            owned = [range(lo, n - hi) for lo, hi, n in zip(low, high, self.shape)]
            for point in itertools.product(*owned):
                if any((lo == 0 and i < g) or (hi == 0 and i >= n - g)
                       for i, lo, hi, n in zip(point, low, high, self.shape)):
                    yield point
            return
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
        if self._layout is not None:
            return (f"StencilGrid(global shape={self._layout.shape}, block={self.shape}, dtype={self._data.dtype}, "
                    f"ghost_depth={self.ghost_depth}, dims={self._layout.dims}, coords={self._layout.coords})")
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
        self._accesses: dict = {}  # (ghost depth, neighbour sets) of each grid -> _Access, for distributed calls
        self._dispatcher = _core.Dispatcher(
            self, len(self._parameters), StencilGrid, "_resident", "_native_argument",
            # _layout: None for a grid of one process; a distributed grid's
            # decomposition is opaque to the fast path, so every call with one
            # goes through _prepare, which exchanges the halos.
            ["ghost_depth", "neighbor_definition", "_layout"], "pure_python", ["constants"], method,
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
        if any(grid._layout is not None for grid in grids):
            self._exchange_halos(grids)
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

    def _exchange_halos(self, grids: tuple) -> None:
        """Before a call on distributed grids: checks them, on every rank; refreshes the halos the kernel reads.

        A grid's halo is exchanged when the kernel reads the grid and its
        version changed on any rank since its last exchange; the version
        counts the kernels that wrote the grid and every time Python could
        have (each read of ``data``, indexing, assignment of ``data``).
        """
        layouts = [grid._layout for grid in grids]
        comm = next(layout.comm for layout in layouts if layout is not None)
        error: Optional[Exception] = None
        try:
            first, access = self._check_distributed(grids, layouts)
            stale = [grid._version != grid._exchanged and name in access.read
                     for name, grid in zip(self._parameters, grids)]
        except Exception as e:  # handed to every rank below
            error, stale = e, [False] * len(grids)
        # One all-reduce per call: whether any rank failed its checks, and
        # which grids are stale on any rank (Python may have written a block on one rank only).
        flags = np.array([error is not None] + stale, dtype=np.int8)
        comm.Allreduce(_mpi_in_place(), flags, op=_mpi_max())
        if flags[0]:
            with _mpi.collective(comm):  # every rank raises: the failing rank's own error, the others' its copy
                if error is not None:
                    raise error
            raise AssertionError("unreachable: a rank reported a failure it did not raise")
        stale = flags[1:]
        for flag, grid in zip(stale, grids):
            if flag:
                _core.halo_exchange(first.handle, grid._data, first.ghost)
                grid._exchanged = grid._version
        for name, grid in zip(self._parameters, grids):
            if name in access.written:
                grid._version += 1

    def _check_distributed(self, grids: tuple, layouts: list) -> tuple:
        """This rank's checks of a call on distributed grids: their shared decomposition and what the kernel does."""
        first = next(layout for layout in layouts if layout is not None)
        for name, grid, layout in zip(self._parameters, grids, layouts):
            if layout is not first:
                what = "a grid of one process" if layout is None else f"split as {layout.describe()}"
                raise ValueError(
                    f"{type(self).__name__}.kernel: the grids of one call share one decomposition; grid "
                    f"'{name}' is {what}, grid '{self._parameters[layouts.index(first)]}' is split as "
                    f"{first.describe()} (make them with the same comm, global shape and ghost depth)")
            if grid.ghost_depth != layout.ghost:
                raise ValueError(
                    f"grid '{name}' has ghost_depth {grid.ghost_depth}, but its halo was made {layout.ghost} "
                    "deep: a distributed grid's ghost depth is set when it is made (ghost_depth=...)")
        # What the kernel does depends on its text, the grids' neighbour sets and ghost depths only.
        key = tuple((grid.ghost_depth, tuple(tuple(map(tuple, n)) for n in grid.neighbor_definition))
                    for grid in grids)
        access = self._accesses.get(key)
        if access is None:
            access = self._accesses[key] = _distributed_access(self, grids)
        return first, access

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


def _mpi_in_place() -> Any:
    from mpi4py import MPI

    return MPI.IN_PLACE


def _mpi_max() -> Any:
    from mpi4py import MPI

    return MPI.MAX


def choose_dims(shape: Sequence[int], ranks: int, ghost: int = 1) -> tuple:
    """The ranks along each axis of a Cartesian split of a grid of ``shape`` over ``ranks`` ranks.

    Among the ways to write ``ranks`` as a product of one factor per axis
    whose blocks own at least ``ghost`` points along every split axis (what a
    neighbour's halo needs), the one with the least halo: the cuts along axis
    k number ``p_k - 1``, each with a face of ``prod(n_j, j != k)`` points.
    Ties go to splitting earlier axes more (their faces are contiguous in
    memory). Raises ValueError when no split fits.
    """
    shape = tuple(int(n) for n in shape)
    if ranks < 1:
        raise ValueError(f"a decomposition over {ranks} ranks")

    def factorizations(n: int, axes: int) -> Iterator[tuple]:
        if axes == 1:
            yield (n,)
            return
        for p in range(1, n + 1):
            if n % p == 0:
                for rest in factorizations(n // p, axes - 1):
                    yield (p,) + rest

    best = None
    for dims in factorizations(ranks, len(shape)):
        if any(p > 1 and n // p < max(ghost, 1) for p, n in zip(dims, shape)):
            continue
        faces = sum((p - 1) * math.prod(n for j, n in enumerate(shape) if j != k) for k, p in enumerate(dims))
        candidate = (faces, tuple(-p for p in dims))
        if best is None or candidate < best[0]:
            best = (candidate, dims)
    if best is None:
        raise ValueError(f"a grid of shape {shape} cannot be split over {ranks} ranks with blocks of at least "
                         f"{max(ghost, 1)} point(s) along each split axis (the ghost depth): use fewer ranks")
    return best[1]


def _split(n: int, parts: int, index: int) -> tuple:
    """The range [start, stop) of part ``index`` of ``n`` points cut into ``parts`` near-equal parts."""
    size, extra = divmod(n, parts)
    start = index * size + min(index, extra)
    return start, start + size + (1 if index < extra else 0)


class _Decomposition:
    """How a distributed grid is split: a Cartesian communicator and this rank's block.

    The block of a rank is the points it owns plus, on each side where it has
    a neighbour, ``ghost`` layers of halo (the neighbour's points). At the
    global boundary the block starts with owned points, the global border.
    So a block's own ``interior_points()`` (``ghost`` from its edges) are the
    global interior points it owns, and the specialized code needs no
    change. Grids of the same communicator, global shape and ghost depth
    share one decomposition (one object, one Cartesian communicator).
    """

    _keyval: Any = None  # the MPI attribute key under which a communicator keeps its decompositions

    @classmethod
    def of(cls, comm: Any, shape: Sequence[int], ghost: int) -> "_Decomposition":
        _mpi.handle(comm)  # an mpi4py intracommunicator, MPI initialized: else a clear error
        with _mpi.collective(comm):
            shape = tuple(int(n) for n in shape)
            if not 1 <= len(shape) <= 4 or any(n < 1 for n in shape):
                raise ValueError(f"a distributed StencilGrid has 1 to 4 axes of positive extent, not shape {shape}")
            if int(ghost) < 0:
                raise ValueError(f"ghost_depth {ghost} is negative")
            signature = (shape, int(ghost))
            seen = comm.allgather(signature)
            if any(other != signature for other in seen):
                raise ValueError(f"the ranks make a distributed StencilGrid with different (global shape, ghost "
                                 f"depth): {sorted(set(seen))}; every rank passes the same")
            dims = choose_dims(shape, comm.size, int(ghost))
        made = cls._cache(comm)
        key = (shape, int(ghost))
        if key not in made:
            made[key] = cls(comm, shape, int(ghost), dims)
        return made[key]

    @classmethod
    def _cache(cls, comm: Any) -> Dict[tuple, "_Decomposition"]:
        """The decompositions made on ``comm``, an MPI attribute of it (freed with it, unlike a handle's entry)."""
        from mpi4py import MPI

        if cls._keyval is None:
            cls._keyval = MPI.Comm.Create_keyval()
        made = comm.Get_attr(cls._keyval)
        if made is None:
            made = {}
            comm.Set_attr(cls._keyval, made)
        return made

    def __init__(self, comm: Any, shape: tuple, ghost: int, dims: tuple) -> None:
        self.shape, self.ghost, self.dims = shape, ghost, dims
        self.comm = comm.Create_cart(list(dims), periods=[False] * len(dims), reorder=False)
        self.handle = self.comm.py2f()
        self.coords = tuple(self.comm.Get_coords(self.comm.rank))
        ranges = [_split(n, p, c) for n, p, c in zip(shape, dims, self.coords)]
        self.halo_low = tuple(ghost if c > 0 else 0 for c in self.coords)
        self.halo_high = tuple(ghost if c < p - 1 else 0 for c, p in zip(self.coords, dims))
        self.owned = tuple(slice(a, b) for a, b in ranges)
        self.local_slices = tuple(slice(a - lo, b + hi) for (a, b), lo, hi in zip(ranges, self.halo_low, self.halo_high))
        self.local_shape = tuple(s.stop - s.start for s in self.local_slices)
        self.owned_in_block = tuple(slice(lo, n - hi) for lo, hi, n in zip(self.halo_low, self.halo_high, self.local_shape))

    def describe(self) -> str:
        return f"global shape {self.shape} over dims {self.dims} with ghost depth {self.ghost}"

    def __repr__(self) -> str:
        return f"<decomposition: {self.describe()}, rank coords {self.coords}, owned {self.owned}>"


class _Access:
    """What a kernel does with its grids, as far as distributing it matters."""

    __slots__ = ("read", "written")

    def __init__(self, read: set, written: set) -> None:
        self.read, self.written = read, written


_ACCESS_TREES: "weakref.WeakKeyDictionary[Callable, ast.AST]" = weakref.WeakKeyDictionary()


def _distributed_access(kernel: "StencilKernel", grids: tuple) -> _Access:
    """The grids a kernel reads and writes; raises ValueError for what a split grid cannot run bitwise as one.

    Refused on distributed grids: an index that is not a loop's point (it
    would be the block's, not the global grid's), a point's coordinates
    (likewise), neighbour reads in a border loop (at the global border they
    wrap around as NumPy indices do, which a block cannot), neighbour reads of
    a grid the kernel writes (the halo would be stale within the call), and
    neighbour offsets beyond the ghost depth (no halo holds them).
    """
    kind = type(kernel).__name__
    function = inspect.unwrap(getattr(kernel._method, "__func__", kernel._method))
    node = _ACCESS_TREES.get(function)
    if node is None:
        node = _ACCESS_TREES[function] = _tree._source(function)[0]
    params = dict(zip(kernel._parameters, grids))
    read, written, at_neighbours = set(), set(), set()

    def loop(n: ast.For, points: Dict[str, str], neighbours: Dict[str, tuple]) -> None:
        """Binds a point loop's variable, in a copy of the scope its body sees."""
        call = n.iter
        method = call.func.attr
        owner = call.func.value.id if isinstance(call.func.value, ast.Name) else None
        if method in ("interior_points", "border_points"):
            points[n.target.id] = method
            neighbours.pop(n.target.id, None)
        elif method == "neighbors" and owner in params and len(call.args) == 2:
            centre, which = call.args
            name = centre.id if isinstance(centre, ast.Name) else None
            # A neighbour of a neighbour reaches the sum of both offsets.
            region, reach = neighbours.get(name) or (points.get(name), {(0,) * params[owner].dim})
            if region == "border_points":
                raise ValueError(f"{kind}.kernel reads neighbours of the border points of '{owner}': on a "
                                 "distributed grid a border point's neighbour outside the grid cannot wrap around "
                                 "as on one process; read only the border point itself")
            if not (isinstance(which, ast.Constant) and isinstance(which.value, int)):
                raise ValueError(f"{kind}.kernel chooses the neighbour set of '{owner}' by a computed id; on a "
                                 "distributed grid it must be a literal, to check it against the halo")
            sets = params[owner].neighbor_definition
            offsets = sets[which.value] if 0 <= which.value < len(sets) else []
            depth = params[owner].ghost_depth
            reach = {tuple(a + b for a, b in zip(r, o)) for r in reach for o in offsets}
            far = sorted(o for o in reach if any(abs(c) > depth for c in o))
            if far:
                raise ValueError(f"{kind}.kernel reads '{owner}' at offset {far[0]}, beyond the ghost depth {depth} "
                                 f"of its halo; make the grids with ghost_depth={max(max(abs(c) for c in o) for o in far)}")
            neighbours[n.target.id] = (region or "interior_points", reach)
            points.pop(n.target.id, None)

    def subscript(s: ast.Subscript, points: Dict[str, str], neighbours: Dict[str, tuple], augmented: bool) -> None:
        name = s.value.id
        if name in points or name in neighbours:
            raise ValueError(f"{kind}.kernel reads the coordinates of point '{name}': on a distributed grid "
                             "they would be the rank's block's, not the global grid's")
        if name not in params:
            return
        index = s.slice.id if isinstance(s.slice, ast.Name) else None
        if index not in points and index not in neighbours:
            raise ValueError(f"{kind}.kernel indexes '{name}' other than at a loop's point: on a distributed "
                             "grid an explicit index would be the rank's block's, not the global grid's")
        if isinstance(s.ctx, ast.Store):
            written.add(name)
        if isinstance(s.ctx, ast.Load) or augmented:
            read.add(name)
            if index in neighbours:
                at_neighbours.add(name)

    def visit(n: ast.AST, points: Dict[str, str], neighbours: Dict[str, tuple]) -> None:
        if (isinstance(n, ast.For) and isinstance(n.target, ast.Name) and isinstance(n.iter, ast.Call)
                and isinstance(n.iter.func, ast.Attribute)):
            visit(n.iter, points, neighbours)
            inner_points, inner_neighbours = dict(points), dict(neighbours)
            loop(n, inner_points, inner_neighbours)
            for child in n.body + n.orelse:
                visit(child, inner_points, inner_neighbours)
            return
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
            subscript(n, points, neighbours, False)
            visit(n.slice, points, neighbours)
            return
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Subscript) and isinstance(n.target.value, ast.Name):
            subscript(n.target, points, neighbours, True)
            visit(n.target.slice, points, neighbours)
            visit(n.value, points, neighbours)
            return
        for child in ast.iter_child_nodes(n):
            visit(child, points, neighbours)

    visit(node, {}, {})
    clash = sorted(written & at_neighbours)
    if clash:
        raise ValueError(f"{kind}.kernel writes '{clash[0]}' and reads it at neighbour points: on distributed "
                         "grids the halo would not follow the writes within one call; write another grid")
    return _Access(read, written)


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
