"""A warm start: a new process with the disk cache of an earlier one.

It takes the DSIR and PSIR from the specialization cache (no frontend,
optimizer or lowering runs) and the binary from the code cache, and computes
what the first process computed, bitwise; a damaged entry is rebuilt, and
processes that fill the same cache at once all succeed.
"""
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REUSED = "DSIR and PSIR from the specialization cache"

PROGRAM = textwrap.dedent("""
    import sys
    import numpy as np
    from asp.stencil import StencilGrid, StencilKernel

    class Laplacian3D(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = -6.0 * in_grid[x]
                for y in in_grid.neighbors(x, 1):
                    out_grid[x] = out_grid[x] + in_grid[y]

    values = np.random.default_rng(7).random((12, 12, 12))
    out = StencilGrid([12, 12, 12])
    kernel = Laplacian3D()
    kernel.kernel(StencilGrid.from_array(values), out)
    assert kernel.last_call.backend is not None, kernel.last_call.fallback_reason
    np.save(sys.argv[1], out.data)
""")


def reference():
    a = np.random.default_rng(7).random((12, 12, 12))
    out = np.zeros_like(a)
    c = slice(1, -1)
    # The kernel's order: the centre term first, then the neighbours in the grid's order.
    out[c, c, c] = -6.0 * a[c, c, c]
    for axis in range(3):
        for shift in (-1, 1):
            out[c, c, c] = out[c, c, c] + np.roll(a, -shift, axis=axis)[c, c, c]
    return out


@pytest.fixture
def run(tmp_path):
    program = tmp_path / "laplacian.py"
    program.write_text(PROGRAM)
    env = dict(os.environ, ASP_CACHE_DIR=str(tmp_path / "cache"), ASP_LOG="debug", ASP_BACKEND="openmp")
    counter = iter(range(1000))

    def start():
        out = tmp_path / f"out-{next(counter)}.npy"
        process = subprocess.Popen([sys.executable, str(program), str(out)], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        return process, out

    def finish(started):
        process, out = started
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        return np.load(out), stderr

    return lambda: finish(start()), start, finish


def specialization_entries(cache: pathlib.Path):
    """The cache files whose trailer (code_cache.hpp: ..., 16-byte kind, size, checksum) says 'specialization'."""
    found = []
    for path in cache.glob("*.bin"):
        data = path.read_bytes()
        if len(data) >= 44 and data[-32:-16].rstrip(b"\0") == b"specialization":
            found.append(path)
    return found


def test_a_warm_start_reuses_the_specialization_and_computes_the_same(run, tmp_path):
    once, _, _ = run
    cold, cold_log = once()
    assert REUSED not in cold_log
    warm, warm_log = once()
    assert REUSED in warm_log
    assert "loaded from the cache" in warm_log
    assert warm.tobytes() == cold.tobytes()
    np.testing.assert_allclose(warm, reference(), rtol=1e-12, atol=1e-12)


def test_a_truncated_specialization_entry_is_rebuilt(run, tmp_path):
    once, _, _ = run
    cold, _ = once()
    [entry] = specialization_entries(tmp_path / "cache")
    entry.write_bytes(entry.read_bytes()[:100])
    again, log = once()
    assert REUSED not in log
    assert "removed, it will be rebuilt" in log
    assert again.tobytes() == cold.tobytes()
    warm, log = once()
    assert REUSED in log
    assert warm.tobytes() == cold.tobytes()


def test_processes_filling_one_cache_at_once_all_succeed(run, tmp_path):
    once, start, finish = run
    results = [finish(p) for p in [start() for _ in range(3)]]
    for out, _ in results:
        assert out.tobytes() == results[0][0].tobytes()
    assert len(specialization_entries(tmp_path / "cache")) == 1
    warm, log = once()
    assert REUSED in log
    assert warm.tobytes() == results[0][0].tobytes()
