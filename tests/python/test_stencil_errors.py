"""Error paths of the stencil API (issue 15, point 4; DESIGN.md §8): each one
either runs Python after a FallbackWarning that says why, or raises the
exception Python raises, never a crash and never a silent wrong result."""
import math
import textwrap

import numpy as np
import pytest

import asp
from asp.stencil import StencilGrid, StencilKernel


class Scale(StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x] * self.constants["c"]


def run_as_python(kernel_class, a, b, constants):
    reference = kernel_class()
    reference.pure_python = True
    reference.constants = constants
    out = StencilGrid(b.data.shape, dtype=b.data.dtype)
    reference.kernel(StencilGrid.from_array(a.data.copy()), out)
    return out.data


def test_an_unsupported_dtype_falls_back_with_the_reason():
    a = StencilGrid.from_array(np.arange(25, dtype=np.int16).reshape(5, 5))
    b = StencilGrid((5, 5), dtype=np.int16)
    kernel = Scale()
    kernel.constants = {"c": 3}
    with pytest.warns(asp.FallbackWarning, match="dtype int16"):
        kernel.kernel(a, b)
    assert kernel.last_call.backend is None and "int16" in kernel.last_call.fallback_reason
    np.testing.assert_array_equal(b.data, run_as_python(Scale, a, b, {"c": 3}))


def test_an_unsupported_dtype_under_strict_is_a_specialization_error(monkeypatch):
    monkeypatch.setenv("ASP_STRICT", "1")
    a, b = StencilGrid.from_array(np.ones((5, 5), dtype=np.int16)), StencilGrid((5, 5), dtype=np.int16)
    kernel = Scale()
    kernel.constants = {"c": 3}
    with pytest.raises(asp.SpecializationError, match="int16"):
        kernel.kernel(a, b)


def test_a_non_contiguous_grid_falls_back_with_the_reason():
    wide = np.arange(50.0).reshape(5, 10)
    a, b = StencilGrid.from_array(wide[:, ::2]), StencilGrid((5, 5))
    kernel = Scale()
    kernel.constants = {"c": 0.5}
    with pytest.warns(asp.FallbackWarning, match="not C-contiguous"):
        kernel.kernel(a, b)
    assert kernel.last_call.backend is None
    np.testing.assert_array_equal(b.data, run_as_python(Scale, a, b, {"c": 0.5}))


def test_a_kernel_whose_source_is_unavailable_falls_back_with_the_reason():
    namespace = {"StencilKernel": StencilKernel}
    exec(textwrap.dedent("""
        class Hidden(StencilKernel):
            def kernel(self, in_grid, out_grid):
                for x in out_grid.interior_points():
                    out_grid[x] = in_grid[x] + 1.0
    """), namespace)
    kernel = namespace["Hidden"]()
    a, b = StencilGrid.from_array(np.ones((5, 5))), StencilGrid((5, 5))
    with pytest.warns(asp.FallbackWarning, match="source"):
        kernel.kernel(a, b)
    assert kernel.last_call.backend is None
    assert b.data[2, 2] == 2.0 and b.data[0, 0] == 0.0


def test_an_integer_wider_than_64_bits_raises_overflow_error_as_python_does():
    a, b = StencilGrid.from_array(np.ones((5, 5), dtype=np.int64)), StencilGrid((5, 5), dtype=np.int64)
    python = Scale()
    python.pure_python = True
    python.constants = {"c": 2**70}
    with pytest.raises(OverflowError):
        python.kernel(a, b)
    kernel = Scale()
    kernel.constants = {"c": 2**70}
    # Native code has no such integers: Python runs, after a warning that says why, and raises as it does.
    with pytest.warns(asp.FallbackWarning, match="wider than 64 bits"):
        with pytest.raises(OverflowError):
            kernel.kernel(a, b)


@pytest.mark.parametrize("shape", [(), (1, 1, 1, 1, 1)])
def test_grid_data_with_zero_or_more_than_four_axes_is_refused(shape):
    with pytest.raises(ValueError, match="1 to 4 dimensions"):
        StencilGrid.from_array(np.zeros(shape)).data = np.zeros(shape)
    with pytest.raises(ValueError, match="1 to 4 dimensions"):
        StencilGrid(shape if shape else (0,) * 5)
    grid = StencilGrid((2, 2))
    with pytest.raises(ValueError, match="1 to 4 dimensions"):
        grid.data = np.zeros(shape)


def test_grid_data_must_be_an_ndarray():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        StencilGrid((2, 2)).data = [[1.0, 2.0], [3.0, 4.0]]


def test_asp_dump_writes_one_directory_per_specialization(tmp_path):
    """ASP_DUMP=DIR (read when the core starts, so in a new process): each signature gets its own
    directory with every stage and the generated source; index.txt lists them."""
    import os
    import subprocess
    import sys

    script = textwrap.dedent("""
        import numpy as np
        from asp.stencil import StencilGrid, StencilKernel

        class Blur(StencilKernel):
            def kernel(self, in_grid, out_grid):
                for x in out_grid.interior_points():
                    out_grid[x] = 0.5 * in_grid[x]
                    for y in in_grid.neighbors(x, 1):
                        out_grid[x] = out_grid[x] + 0.125 * in_grid[y]

        for n in (8, 12):
            Blur().kernel(StencilGrid.from_array(np.ones((n, n))), StencilGrid((n, n)))
    """)
    (tmp_path / "blur.py").write_text(script)
    dump = tmp_path / "dump"
    env = dict(os.environ, ASP_DUMP=str(dump), ASP_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, str(tmp_path / "blur.py")], check=True, env=env, cwd=tmp_path)
    directories = sorted(p for p in dump.iterdir() if p.is_dir())
    assert len(directories) == 2, directories
    for directory in directories:
        names = sorted(p.name for p in directory.iterdir())
        assert names[0] == "01-tree"
        assert any(n.endswith(".dsir") for n in names) and any(n.endswith(".psir") for n in names), names
        assert any(n.endswith(".c") for n in names), names
    index = (dump / "index.txt").read_text()
    assert all(d.name in index for d in directories)


class MixedMin(StencilKernel):
    def kernel(self, g, out):
        for x in out.interior_points():
            out[x] = math.sin(min(1.5, g[x]) + math.exp(min(g[x], 4.0)))


class ConvertedMin(StencilKernel):
    def kernel(self, g, out):
        for x in out.interior_points():
            out[x] = math.sin(min(1.5, float(g[x])) + math.exp(min(float(g[x]), 4.0)))


def test_min_of_a_float32_value_and_a_python_float_falls_back_and_equals_python():
    """The fuzzer's float32 case (issue 15): min returns either argument as it is, so the sum after it is
    float32 or double depending on the values. Native code cannot follow that; Python runs, bitwise right."""
    values = (np.random.default_rng(3).standard_normal((9, 9)) * 3).astype(np.float32)
    a, b = StencilGrid.from_array(values.copy()), StencilGrid((9, 9), dtype=np.float32)
    kernel = MixedMin()
    with pytest.warns(asp.FallbackWarning, match="32-bit grid value"):
        kernel.kernel(a, b)
    assert b.data.tobytes() == run_as_python(MixedMin, a, b, {}).tobytes()
    converted = ConvertedMin()  # one type: native, and still Python's result
    c = StencilGrid((9, 9), dtype=np.float32)
    converted.kernel(a, c)
    assert converted.last_call.backend is not None
    assert c.data.tobytes() == run_as_python(ConvertedMin, a, c, {}).tobytes()
