"""A grammar-based generator of stencil kernels over the whole supported subset
(README, "The Python it specializes"), and the check that runs each one
natively and as Python (issue 15, point 1).

`kernel_source(seed)` writes a random kernel: 1 to 4 axes, a ghost depth,
neighbour sets, float64/float32/int64/int32 grids, interior and border loops,
in-place updates of a grid the kernel also reads, locals, `if`/`elif`/`else`,
chained comparisons, `and`/`or`/`not`, `+ - * / // % **`, `abs min max int
float`, `math.sqrt exp log sin cos tan floor ceil fabs`, conditional
expressions and data-dependent reads of a lookup table with negative
(wrapping) indices. `check(seed, directory)` runs it both ways and returns
None when they agree: bitwise (NaN payloads aside), or the same exception
type, or a fallback with a reason (the Python result, then, by construction).
Used by tests/python/test_stencil_fuzz.py (a few hundred seeds) and
scripts/fuzz N.
"""
from __future__ import annotations

import importlib.util
import itertools
import random
import sys
import warnings
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

import asp
from asp.stencil import StencilGrid

DTYPES = ["float64", "float32", "int64", "int32"]
MATH = ["math.sqrt(abs({}))", "math.exp(min(float({}), 3.0))", "math.log(abs({}) + 1.0)", "math.sin({})",
        "math.cos({})", "math.tan(float({}) * 0.25)", "math.floor({})", "math.ceil({})", "math.fabs({})"]
# Every construct the generator can write, as it appears in the source: the test asserts each is emitted.
CONSTRUCTS = ["interior_points", "border_points", "neighbors", "if ", "elif ", "else:", " and ", " or ", "not ",
              " if ", " < ", " <= ", "//", "%", "**", " / ", "abs(", "min(", "max(", "int(", "float(", "lut[",
              "math.sqrt", "math.exp", "math.log", "math.sin", "math.cos", "math.tan", "math.floor", "math.ceil",
              "math.fabs", "+=", "-=", "*=", "t = ", "a[x] = "]


@dataclass
class Kernel:
    source: str
    dtype: str
    shape: Tuple[int, ...]
    ghost: int
    neighbours: List[List[Tuple[int, ...]]]


class _Writer:
    def __init__(self, rng: random.Random, floating: bool) -> None:
        self.rng = rng
        self.floating = floating

    def constant(self) -> str:
        if self.floating and self.rng.random() < 0.6:
            return repr(round(self.rng.uniform(-3, 3), 3))
        return str(self.rng.randint(-3, 3))

    def leaf(self, point: str, names: List[str], lookups: int = 0) -> str:
        choice = self.rng.random()
        if choice < 0.45:
            return f"{self.rng.choice(['a', 'b'])}[{point}]"
        if choice < 0.6 and names:
            return self.rng.choice(names)
        if choice < 0.7 and lookups < 2:
            # A data-dependent read, its index negative: it wraps, as in Python. At most two deep: a kernel
            # of an unbounded generator with eight nested reads (its seed 631) did not finish specializing
            # in 4 minutes (cause not yet found; see the issue notes).
            return f"lut[int(abs({self.leaf(point, names, lookups + 1)})) % 7 - 7]"
        return self.constant()

    def expr(self, point: str, names: List[str], depth: int = 0) -> str:
        rng = self.rng
        if depth >= 2 or rng.random() < 0.3:
            return self.leaf(point, names)
        sub = lambda: self.expr(point, names, depth + 1)  # noqa: E731
        kind = rng.random()
        if kind < 0.35:
            return f"({sub()} {rng.choice(['+', '-', '*'])} {sub()})"
        if kind < 0.45:
            return f"({sub()} {rng.choice(['//', '%'])} {rng.choice(['2', '3', '-2'])})"
        if kind < 0.5:
            return f"({sub()} ** 2)"
        if kind < 0.55 and self.floating:
            return f"({sub()} / {rng.choice(['2.0', '3', '(abs(' + sub() + ') + 1.0)'])})"
        if kind < 0.65:
            return f"{rng.choice(['abs', 'int'])}({sub()})" if rng.random() < 0.5 else f"{rng.choice(['min', 'max'])}({sub()}, {sub()})"
        if kind < 0.75 and self.floating:
            return rng.choice(MATH).format(sub())
        if kind < 0.8:
            return f"float({sub()})" if self.floating else f"int({sub()})"
        if kind < 0.9:
            return f"({sub()} if {self.condition(point, names, depth + 1)} else {sub()})"
        return self.leaf(point, names)

    def condition(self, point: str, names: List[str], depth: int = 1) -> str:
        rng = self.rng
        e = lambda: self.expr(point, names, depth + 1)  # noqa: E731
        kind = rng.random()
        if kind < 0.4:
            return f"{e()} {rng.choice(['<', '<=', '>', '>=', '==', '!='])} {e()}"
        if kind < 0.6:
            return f"{e()} < {e()} <= {e()}"
        if kind < 0.85:
            return f"({e()} > {self.constant()}) {rng.choice(['and', 'or'])} ({e()} < {self.constant()})"
        return f"not ({e()} > {self.constant()})"


def kernel_source(seed: int) -> Kernel:
    rng = random.Random(seed)
    dtype = rng.choice(DTYPES)
    floating = dtype.startswith("float")
    dim = rng.choice([1, 2, 2, 3, 3, 4])
    ghost = rng.choice([1, 1, 2])
    shape = tuple(rng.randint(2 * ghost + 1, 2 * ghost + (4 if dim < 4 else 2)) for _ in range(dim))
    offsets = [o for o in itertools.product(range(-ghost, ghost + 1), repeat=dim)]
    sets = [rng.sample(offsets, rng.randint(1, min(5, len(offsets)))) for _ in range(rng.randint(1, 2))]
    w = _Writer(rng, floating)
    lines = [f"for x in out.{'border_points' if rng.random() < 0.2 else 'interior_points'}():"]
    names: List[str] = []
    if rng.random() < 0.5:
        lines.append(f"    t = {w.expr('x', names)}")
        names.append("t")
    lines.append(f"    out[x] = {w.expr('x', names)}")
    for set_id in range(1, len(sets) + 1):
        if lines[0].endswith("border_points():"):
            break  # a neighbour of a border point may lie outside the grid
        lines.append(f"    for y in a.neighbors(x, {set_id}):")
        lines.append(f"        out[x] {rng.choice(['+=', '-=', '*=' if rng.random() < 0.2 else '+='])} {w.expr('y', names)}")
    if rng.random() < 0.5:
        lines.append(f"    if {w.condition('x', names)}:")
        lines.append(f"        out[x] = {w.expr('x', names)}")
        if rng.random() < 0.5:
            lines.append(f"    elif {w.condition('x', names)}:")
            lines.append(f"        out[x] -= {w.expr('x', names)}")
        if rng.random() < 0.5:
            lines.append("    else:")
            lines.append(f"        out[x] += {w.expr('x', names)}")
    if rng.random() < 0.25 and not lines[0].endswith("border_points():"):
        # An in-place update of a grid the kernel reads, at the point itself only.
        lines.append(f"    a[x] = {w.expr('x', [])}")
    body = "\n".join("        " + line for line in lines)
    source = ("import math\n\nfrom asp.stencil import StencilKernel\n\n\nclass Random(StencilKernel):\n"
              f"    def kernel(self, a, b, lut, out):\n{body}\n")
    return Kernel(source, dtype, shape, ghost, [[tuple([0] * dim)]] + [list(s) for s in sets])


def _load(kernel: Kernel, directory, seed: int):
    path = directory / f"fuzz_kernel_{seed}.py"
    path.write_text(kernel.source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module.Random


def _same(x: np.ndarray, y: np.ndarray) -> bool:
    if x.dtype.kind != "f":
        return x.tobytes() == y.tobytes()
    nan = np.isnan(x)
    return bool(np.array_equal(nan, np.isnan(y))) and x[~nan].tobytes() == y[~nan].tobytes()


def check(seed: int, directory, ran: Optional[dict] = None) -> Optional[str]:
    """None when the native run and the Python run agree, else what differs.
    `ran`, when given, counts "native", "fallback" and "raised" outcomes."""
    kernel = kernel_source(seed)
    Random = _load(kernel, directory, seed)
    rng = np.random.default_rng(seed)
    floating = kernel.dtype.startswith("float")
    values = [rng.uniform(-3, 3, kernel.shape) if floating else rng.integers(-5, 6, kernel.shape) for _ in range(2)]
    lut = rng.uniform(-2, 2, 7) if floating else rng.integers(-4, 5, 7)
    outcomes = []
    for pure in (False, True):
        grids = [StencilGrid.from_array(np.array(v, dtype=kernel.dtype)) for v in (*values, lut)]
        grids.append(StencilGrid(kernel.shape, dtype=kernel.dtype))
        for g in (grids[0], grids[1], grids[3]):
            g.ghost_depth = kernel.ghost
            g.neighbor_definition = [list(s) for s in kernel.neighbours]
        k = Random()
        k.pure_python = pure
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", asp.FallbackWarning)
            try:
                k.kernel(*grids)
                outcome = ("ok", grids[0].data.copy(), grids[3].data.copy())
            except (ArithmeticError, IndexError, ValueError) as error:
                outcome = ("raised", type(error).__name__)
        if not pure and ran is not None:
            what = "raised" if outcome[0] == "raised" else "native" if k.last_call.backend else "fallback"
            ran[what] = ran.get(what, 0) + 1
        if not pure and k.last_call is not None and k.last_call.backend is None and not k.last_call.fallback_reason:
            return f"seed {seed}: a fallback without a reason\n{kernel.source}"
        outcomes.append(outcome)
    native, python = outcomes
    if native[0] != python[0] or (native[0] == "raised" and native[1] != python[1]):
        return f"seed {seed}: native {native[:2] if native[0] == 'raised' else 'ran'}, Python {python[:2] if python[0] == 'raised' else 'ran'}\n{kernel.source}"
    if native[0] == "ok" and not (_same(native[1], python[1]) and _same(native[2], python[2])):
        return f"seed {seed}: results differ ({kernel.dtype}, shape {kernel.shape})\n{kernel.source}"
    return None


def main(argv: List[str]) -> int:
    """scripts/fuzz N [FIRST]: checks seeds FIRST .. FIRST+N-1; prints every failure and a summary."""
    import os
    import pathlib
    import tempfile
    import time

    count = int(argv[1]) if len(argv) > 1 else 1000
    first = int(argv[2]) if len(argv) > 2 else 0
    ran: dict = {}
    failures = 0
    start = time.time()
    # The core may still be building variants in the background when the directory goes: ignore what it left.
    with tempfile.TemporaryDirectory(prefix="asp-fuzz-", ignore_cleanup_errors=True) as directory:
        # A code cache and tuning database of its own (read when the core starts, at the first kernel): thousands
        # of one-off kernels have no business in the user's cache, and a fresh database records them fastest.
        os.environ.setdefault("ASP_CACHE_DIR", str(pathlib.Path(directory) / "cache"))
        for seed in range(first, first + count):
            problem = check(seed, pathlib.Path(directory), ran)
            if problem:
                failures += 1
                print(problem, flush=True)
            if (seed - first + 1) % 1000 == 0:
                print(f"{seed - first + 1} kernels, {failures} failures, {time.time() - start:.0f} s", flush=True)
    print(f"stencil fuzz: seeds {first}..{first + count - 1}: {failures} failures; ran natively {ran.get('native', 0)}, "
          f"fell back with a reason {ran.get('fallback', 0)}, raised as Python did {ran.get('raised', 0)}; "
          f"{time.time() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
