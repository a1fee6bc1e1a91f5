"""The dispatcher of a stencil kernel (asp._core.Dispatcher, DESIGN.md §12).

A call whose signature was seen before takes the dispatcher's fast path, which
compares the call's values with those the signature was built from; these
tests change each part of the signature after the fast path has seen a call
and check that the next call specializes again (and computes what Python
computes), that grids sharing memory and unsupported kernels still run as
Python with the warning, and that several threads may call one kernel.
"""
import gc
import threading
import warnings
import weakref

import numpy as np
import pytest

import asp
from asp.stencil import StencilGrid, StencilKernel

SCALE = 2.0  # a module global the kernels read: its value is part of the signature


class Scaled(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = SCALE * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + self.constants["c"] * in_grid[y]


class Unsupported(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            k = 0
            while k < 1:
                out_grid[x] = in_grid[x]
                k += 1


def grids(shape=(6, 7), seed=0):
    return StencilGrid.from_array(np.random.default_rng(seed).random(shape)), StencilGrid(list(shape))


def python_result(in_grid, out_shape, constants, ghost_depth=1, neighbors=None):
    """What the Python method computes for these grids (a fresh kernel object, pure_python)."""
    reference = Scaled()
    reference.pure_python = True
    reference.constants = dict(constants)
    source = StencilGrid.from_array(in_grid.data.copy())
    source.ghost_depth = ghost_depth
    if neighbors is not None:
        source.neighbor_definition = [list(s) for s in neighbors]
    out = StencilGrid(list(out_shape))
    out.ghost_depth = ghost_depth
    reference.kernel(source, out)
    return out.data


def call(kernel, in_grid, out_grid):
    out_grid.data[...] = 0
    kernel.kernel(in_grid, out_grid)
    assert kernel.last_call.backend is not None, kernel.last_call
    return out_grid.data


@pytest.fixture
def warm():
    """A Scaled kernel whose signature the fast path has seen (called enough for the tuner to settle)."""
    kernel = Scaled()
    kernel.constants = {"c": 0.5}
    a, out = grids()
    for _ in range(12):
        call(kernel, a, out)
    assert len(kernel._specialized) == 1
    return kernel, a, out


def test_repeated_calls_reuse_one_specialization(warm):
    kernel, a, out = warm
    other_in, other_out = grids(seed=1)
    result = call(kernel, other_in, other_out)  # other grids, the same signature
    assert len(kernel._specialized) == 1
    assert result.tobytes() == python_result(other_in, other_out.shape, kernel.constants).tobytes()


def test_a_new_shape_specializes_again(warm):
    kernel, _, _ = warm
    a, out = grids((9, 5))
    result = call(kernel, a, out)
    assert len(kernel._specialized) == 2
    assert result.tobytes() == python_result(a, out.shape, kernel.constants).tobytes()


def test_a_new_dtype_or_layout_specializes_again(warm):
    kernel, a, _ = warm
    single = StencilGrid.from_array(a.data.astype(np.float32))
    out = StencilGrid(list(a.shape), dtype=np.float32)
    call(kernel, single, out)
    assert len(kernel._specialized) == 2
    with pytest.warns(asp.FallbackWarning, match="not C-contiguous"):
        kernel.kernel(StencilGrid.from_array(np.asfortranarray(a.data)), StencilGrid(list(a.shape)))
    assert kernel.last_call.backend is None


def test_changing_a_constant_in_place_specializes_again(warm):
    kernel, a, out = warm
    kernel.constants["c"] = 0.25
    result = call(kernel, a, out)
    assert len(kernel._specialized) == 2
    assert result.tobytes() == python_result(a, out.shape, {"c": 0.25}).tobytes()
    kernel.constants = {"c": 0.5}  # back to the first signature: its specialization again
    call(kernel, a, out)
    assert len(kernel._specialized) == 2


def test_a_constant_of_another_type_is_another_signature(warm):
    kernel, a, out = warm
    kernel.constants["c"] = 1
    call(kernel, a, out)
    kernel.constants["c"] = 1.0
    result = call(kernel, a, out)
    assert len(kernel._specialized) == 3
    assert result.tobytes() == python_result(a, out.shape, {"c": 1.0}).tobytes()


def test_rebinding_a_module_global_specializes_again(warm):
    global SCALE
    kernel, a, out = warm
    try:
        SCALE = 3.0
        result = call(kernel, a, out)
        assert len(kernel._specialized) == 2
        assert result.tobytes() == python_result(a, out.shape, kernel.constants).tobytes()
    finally:
        SCALE = 2.0


def test_changing_neighbours_in_place_specializes_again(warm):
    kernel, a, out = warm
    a.neighbor_definition[1].append((1, 1))  # the list the fast path compared before
    result = call(kernel, a, out)
    assert len(kernel._specialized) == 2
    assert result.tobytes() == python_result(a, out.shape, kernel.constants, neighbors=a.neighbor_definition).tobytes()


def test_a_new_ghost_depth_specializes_again(warm):
    kernel, a, out = warm
    a.ghost_depth = out.ghost_depth = 2
    result = call(kernel, a, out)
    assert len(kernel._specialized) == 2
    assert result.tobytes() == python_result(a, out.shape, kernel.constants, ghost_depth=2).tobytes()


def test_replacing_a_grid_s_array_takes_the_new_one(warm):
    kernel, a, out = warm
    a.data = np.random.default_rng(5).random(a.shape)
    result = call(kernel, a, out)
    assert len(kernel._specialized) == 1
    assert result.tobytes() == python_result(a, out.shape, kernel.constants).tobytes()


def test_grids_sharing_memory_still_run_as_python(warm):
    kernel, a, _ = warm
    with pytest.warns(asp.FallbackWarning, match="share memory"):
        kernel.kernel(a, a)
    assert kernel.last_call.backend is None and "share memory" in kernel.last_call.fallback_reason
    base = np.random.default_rng(2).random((8, 7))
    overlapping = StencilGrid.from_array(base[0:6]), StencilGrid.from_array(base[2:8])
    kernel.kernel(*overlapping)  # warned once per reason already
    assert kernel.last_call.backend is None and "share memory" in kernel.last_call.fallback_reason
    distinct = StencilGrid.from_array(base[0:6].copy()), StencilGrid([6, 7])
    call(kernel, *distinct)  # and distinct grids are native again


def test_an_unsupported_kernel_warns_once_then_keeps_running_python():
    kernel = Unsupported()
    a, out = grids()
    with pytest.warns(asp.FallbackWarning, match="while"):
        kernel.kernel(a, out)
    with warnings.catch_warnings():
        warnings.simplefilter("error", asp.FallbackWarning)
        kernel.kernel(a, out)
    assert kernel.last_call.backend is None and "while" in kernel.last_call.fallback_reason
    assert out.data[1:-1, 1:-1].tobytes() == a.data[1:-1, 1:-1].tobytes()


def test_pure_python_and_asp_disable_apply_after_native_calls(warm, monkeypatch):
    kernel, a, out = warm
    kernel.pure_python = True
    kernel.kernel(a, out)
    assert kernel.last_call.fallback_reason == "pure_python is set"
    kernel.pure_python = False
    monkeypatch.setenv("ASP_DISABLE", "1")
    kernel.kernel(a, out)
    assert kernel.last_call.fallback_reason == "ASP_DISABLE is set"
    monkeypatch.delenv("ASP_DISABLE")
    call(kernel, a, out)


def test_wrong_arguments_are_still_refused_after_native_calls(warm):
    kernel, a, out = warm
    with pytest.raises(TypeError, match="takes 2 grid"):
        kernel.kernel(a)
    with pytest.raises(TypeError, match="must be a StencilGrid"):
        kernel.kernel(a, out.data)


class ScaledHalf(Scaled):
    def __init__(self):
        super().__init__()
        self.constants = {"c": 0.5}


def test_a_saved_kernel_method_keeps_its_kernel_object():
    run = ScaledHalf().kernel  # the kernel object is referenced only by its dispatcher
    gc.collect()
    a, out = grids()
    run(a, out)
    assert out.data.tobytes() == python_result(a, out.shape, {"c": 0.5}).tobytes()


def test_threads_calling_one_kernel_get_python_s_results():
    kernel = Scaled()
    kernel.constants = {"c": 0.5}
    threads, calls = 4, 30
    inputs = [grids(seed=t) for t in range(threads)]
    expected = [python_result(a, out.shape, kernel.constants) for a, out in inputs]
    start = threading.Barrier(threads)
    failures = []

    def work(t):
        a, out = inputs[t]
        start.wait()  # every thread's first call at once: one of them specializes
        for _ in range(calls):
            out.data[...] = 0
            kernel.kernel(a, out)
            if out.data.tobytes() != expected[t].tobytes():
                failures.append(t)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not failures
    assert len(kernel._specialized) == 1
    assert kernel.last_call.backend is not None


def test_threads_with_changing_signatures_get_python_s_results():
    kernel = Scaled()
    kernel.constants = {"c": 0.5}
    shapes = [(6, 7), (7, 6), (5, 9)]
    inputs = [grids(shape, seed=i) for i, shape in enumerate(shapes)]
    expected = [python_result(a, out.shape, kernel.constants) for a, out in inputs]
    failures = []

    def work(t):
        for n in range(20):
            i = (t + n) % len(shapes)
            a = StencilGrid.from_array(inputs[i][0].data)
            out = StencilGrid(list(shapes[i]))
            kernel.kernel(a, out)
            if out.data.tobytes() != expected[i].tobytes():
                failures.append((t, i))

    pool = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not failures
    assert len(kernel._specialized) == len(shapes)


def test_the_dispatcher_is_collected_with_its_kernel():
    kernel = Scaled()
    kernel.constants = {"c": 0.5}
    a, out = grids()
    kernel.kernel(a, out)
    ref = weakref.ref(kernel)
    del kernel
    gc.collect()
    assert ref() is None
