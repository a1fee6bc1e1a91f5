"""Property-based: random stencil kernels, specialized, equal their Python run bit for bit (float64)."""
import importlib.util
import itertools
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from asp.stencil import StencilGrid

OPERATORS = ["+", "-", "*"]


@st.composite
def kernels(draw):
    """Source text of a random kernel, its grids' shape and its neighbour sets."""
    dim = draw(st.integers(1, 3))
    ghost = draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(2 * ghost + 1, 2 * ghost + 5)) for _ in range(dim))
    offsets = [o for o in itertools.product(range(-ghost, ghost + 1), repeat=dim)]
    sets = draw(st.lists(st.lists(st.sampled_from(offsets), min_size=1, max_size=5), min_size=1, max_size=3))
    coefficients = st.floats(-4, 4, allow_nan=False, allow_infinity=False, width=64)
    lines = ["for x in out_grid.interior_points():"]
    lines.append(f"    out_grid[x] = {draw(coefficients)!r} * a[x]")
    for set_id in range(1, len(sets) + 1):
        op = draw(st.sampled_from(OPERATORS))
        term = draw(st.sampled_from(["a[y]", "b[y]", "a[y] * b[x]", "abs(a[y] - b[y])", "max(a[y], b[x])"]))
        lines.append(f"    for y in a.neighbors(x, {set_id}):")
        lines.append(f"        out_grid[x] = out_grid[x] {op} {draw(coefficients)!r} * {term}")
    if draw(st.booleans()):
        lines.append(f"    out_grid[x] = out_grid[x] if out_grid[x] > {draw(coefficients)!r} else -out_grid[x]")
    if draw(st.booleans()):
        lines.append("    out_grid[x] += lut[int(abs(a[x]) * 3)]")
    body = "\n".join("        " + line for line in lines)
    source = f"from asp.stencil import StencilKernel\n\nclass Random(StencilKernel):\n    def kernel(self, a, b, lut, out_grid):\n{body}\n"
    return source, shape, ghost, [[tuple([0] * dim)]] + [list(s) for s in sets]


def load(source, directory):
    path = directory / f"random_kernel_{abs(hash(source))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module.Random


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kernel=kernels(), seed=st.integers(0, 2 ** 32 - 1))
def test_random_kernels_equal_python_bitwise(kernel, seed, tmp_path):
    source, shape, ghost, neighbours = kernel
    Random = load(source, tmp_path)
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-2, 2, shape), rng.uniform(-2, 2, shape)
    lut = rng.uniform(-1, 1, 7)
    results = []
    for pure in (False, True):
        grids = [StencilGrid.from_array(v.copy()) for v in (a, b, lut)] + [StencilGrid(shape)]
        for g in (grids[0], grids[1], grids[3]):  # the lookup table keeps its defaults
            g.ghost_depth = ghost
            g.neighbor_definition = [list(s) for s in neighbours]
        k = Random()
        k.pure_python = pure
        k.kernel(*grids)
        if not pure:
            assert k.last_call.backend is not None, (k.last_call, source)
        results.append(grids[-1].data)
    assert results[0].tobytes() == results[1].tobytes(), source
