"""The generic binding asp._core and asp.specialize, through the test domain "scale".

The scale plugin (tests/plugins/scale_plugin.cpp) specializes functions of one
element-wise statement, ``out[i] = a[i] * c`` and the like; conftest.py adds it
to the configuration of this process.
"""
import ast
import inspect
import math
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import asp
from asp import _core
from asp._tree import function_tree

from conftest import SCALE_PLUGIN

FACTOR = 0.75  # a module global the kernels read: it travels as a constant


def scale(out, a, c):
    out[i] = a[i] * c  # noqa: F821 (i is the scale domain's index)


def scale_by_global(out, a):
    out[i] = a[i] * FACTOR * 1.0  # noqa: F821


def divide(out, a, c):
    out[i] = a[i] / c  # noqa: F821


def gather(out, t, idx, c):
    out[i] = t[idx[i]] * c  # noqa: F821


def looping(out, a):
    while True:
        out[i] = a[i]  # noqa: F821


def line_of(function, text):
    """The line of `text` in the file that defines `function`."""
    lines, first = inspect.getsourcelines(function)
    return first + next(k for k, line in enumerate(lines) if text in line)


@pytest.fixture(scope="module", autouse=True)
def scale_plugin_is_built():
    assert SCALE_PLUGIN.exists(), f"{SCALE_PLUGIN} is missing: build the C++ tests (scripts/setup)"


# ---- specialization and calls -----------------------------------------------------------


@pytest.mark.parametrize("dtype, c", [(np.float64, 2.5), (np.float32, 0.1), (np.int32, 3), (np.int64, -7)])
def test_a_specialized_kernel_computes_what_numpy_computes(dtype, c):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((8, 9)) * 100).astype(dtype)
    out = np.zeros_like(a)
    kernel = asp.specialize("scale", scale, {"out": out, "a": a, "c": c})
    assert kernel.backend in ("openmp", "pthreads")
    assert kernel.arguments == ["out", "a", "c"]
    kernel(out, a, c)
    expected = a * c
    assert out.dtype == expected.dtype and out.tobytes() == expected.tobytes()


def test_the_tuner_tries_each_variant_then_keeps_one():
    a = np.arange(64.0).reshape(8, 8)
    out = np.zeros_like(a)
    kernel = asp.specialize("scale", scale, {"out": out, "a": a, "c": 2.0})
    assert kernel.variants == ["scale", "scale_serial"]
    tries = _core.tuner_runs_per_variant * 2
    ran = [kernel(out, a, 2.0) for _ in range(tries + 2)]
    assert ran[:tries] == [0, 1] * _core.tuner_runs_per_variant  # round robin
    assert ran[tries] == ran[tries + 1]
    assert "func scale(" in kernel.psir and kernel.dsir.startswith("asp-ir 1 dsir.scale\n")
    assert len(kernel.key) == 32


def test_another_shape_of_the_same_rank_runs_without_respecializing():
    a = np.ones((4, 4))
    kernel = asp.specialize("scale", scale, {"out": np.zeros_like(a), "a": a, "c": 2.0})
    big = np.arange(35.0).reshape(5, 7)
    out = np.zeros_like(big)
    kernel(out, big, 3.0)
    assert (out == big * 3.0).all()


def test_globals_the_function_reads_become_constants():
    a = np.arange(6.0)
    out = np.zeros_like(a)
    kernel = asp.specialize("scale", scale_by_global, {"out": out, "a": a})
    assert "mul const 0.75\n" in kernel.dsir
    assert "const 1\n" not in kernel.dsir  # the domain's optimizer dropped "* 1.0"
    kernel(out, a)
    assert (out == a * FACTOR).all()


def test_numpy_scalars_are_accepted_as_the_numbers_they_hold():
    a = np.arange(6.0)
    out = np.zeros_like(a)
    kernel = asp.specialize("scale", scale, {"out": out, "a": a, "c": np.float64(2.0)})
    kernel(out, a, np.float32(4.0))
    assert (out == a * 4.0).all()


# ---- errors --------------------------------------------------------------------------------


def test_an_unsupported_construct_names_its_line_and_column():
    a = np.zeros(3)
    with pytest.raises(asp.UnsupportedError) as info:
        asp.specialize("scale", looping, {"out": a, "a": a})
    line = line_of(looping, "while True")
    assert info.value.line == line
    assert info.value.column == 5  # 1-based: the statement starts in column 4 of the file
    assert info.value.reason == "the scale domain does not support While"
    assert str(info.value) == f"line {line}, column 5: the scale domain does not support While"
    assert _core.UnsupportedError is asp.UnsupportedError


def test_a_domain_without_a_plugin_is_unsupported():
    with pytest.raises(asp.UnsupportedError, match="no frontend for domain nosuch; is its plugin configured"):
        asp.specialize("nosuch", scale, {"out": np.zeros(2), "a": np.zeros(2), "c": 1.0})


def test_arguments_the_specializer_rejects_are_value_errors():
    with pytest.raises(ValueError, match="argument 'a' must have the dtype of 'out'"):
        asp.specialize("scale", scale, {"out": np.zeros(3), "a": np.zeros(3, np.float32), "c": 1.0})
    with pytest.raises(ValueError, match="argument 'a' has 4 along axis 0 but argument 'out' has 3"):
        asp.specialize("scale", scale, {"out": np.zeros(3), "a": np.zeros(4), "c": 1.0})


@pytest.fixture(scope="module")
def scale_kernel():
    a = np.ones((4, 6))
    return asp.specialize("scale", scale, {"out": np.zeros_like(a), "a": a, "c": 2.0})


def test_a_mismatched_shape_is_a_value_error_naming_the_argument(scale_kernel):
    with pytest.raises(ValueError, match="argument 'a' must have the extent of axis 1 equal to the extent of axis 1 of argument 'out'"):
        scale_kernel(np.zeros((4, 6)), np.zeros((4, 7)), 2.0)
    with pytest.raises(ValueError, match="argument 'a' has 1 dimensions; the kernel was specialized for 2"):
        scale_kernel(np.zeros((4, 6)), np.zeros(24), 2.0)


def test_a_read_only_array_is_taken_where_the_kernel_only_reads(scale_kernel):
    a = np.arange(24.0).reshape(4, 6)
    a.flags.writeable = False
    out = np.zeros((4, 6))
    scale_kernel(out, a, 2.0)
    np.testing.assert_array_equal(out, a * 2.0)


def test_arrays_the_kernel_cannot_take_are_rejected_before_it_runs(scale_kernel):
    out = np.zeros((4, 6))
    with pytest.raises(TypeError, match="argument 'a' has dtype float32; the kernel was specialized for float64"):
        scale_kernel(out, np.zeros((4, 6), np.float32), 2.0)
    with pytest.raises(ValueError, match="argument 'a' is not C-contiguous"):
        scale_kernel(out, np.zeros((4, 12))[:, ::2], 2.0)
    readonly = np.zeros((4, 6))
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="argument 'out' is a read-only array, and the kernel writes it"):
        scale_kernel(readonly, np.zeros((4, 6)), 2.0)
    with pytest.raises(TypeError, match="argument 'a' must be an array of float64, got a scalar"):
        scale_kernel(out, 1.0, 2.0)
    with pytest.raises(TypeError, match="argument 'a' must be an array of float64, got list"):
        scale_kernel(out, [1.0], 2.0)
    with pytest.raises(TypeError, match="argument 'c' must be a float, got an int"):
        scale_kernel(out, np.zeros((4, 6)), 2)


def test_a_wrong_argument_count_is_a_type_error(scale_kernel):
    with pytest.raises(TypeError, match=r"the kernel takes 3 arguments \(out, a, c\), got 2"):
        scale_kernel(np.zeros((4, 6)), np.zeros((4, 6)))


def test_an_index_outside_an_array_is_an_index_error():
    t, idx = np.arange(10.0), np.array([9, 0, 3, 1])
    out = np.zeros(4)
    kernel = asp.specialize("scale", gather, {"out": out, "t": t, "idx": idx, "c": 2.0})
    kernel(out, t, idx, 2.0)
    assert out.tolist() == [18.0, 0.0, 6.0, 2.0]
    idx[2] = 10
    with pytest.raises(IndexError, match="index out of bounds reading 't'"):
        kernel(out, t, idx, 2.0)


def test_division_by_zero_is_a_zero_division_error():
    a = np.ones(3)
    kernel = asp.specialize("scale", divide, {"out": np.zeros(3), "a": a, "c": 2.0})
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        kernel(np.zeros(3), a, 0.0)


def test_a_compiler_failure_is_a_compile_error_with_the_log(tmp_path):
    config = tmp_path / "asp.yaml"
    config.write_text(
        f"plugins:\n  scale:\n    path: {SCALE_PLUGIN}\n"
        "backends:\n  openmp:\n    jit: system\n    flags: [-shared, -fPIC, -fno-such-flag]\n"
    )
    program = textwrap.dedent(
        """
        import numpy as np, asp
        def scale(out, a, c):
            out[i] = a[i] * c
        a = np.ones(3)
        try:
            asp.specialize("scale", scale, {"out": a, "a": a, "c": 1.0})
        except asp.CompileError as e:
            print("CompileError", "no-such-flag" in e.log, e.source_path.endswith(".c"))
        """
    )
    script = tmp_path / "program.py"  # a file: the function's source must be readable
    script.write_text(program)
    env = dict(os.environ, ASP_CONFIG=str(config), ASP_BACKEND="openmp", ASP_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "CompileError True True", result.stdout + result.stderr


# ---- threads --------------------------------------------------------------------------------


def test_the_gil_is_released_while_native_code_runs():
    a = np.ones((1500, 1500))
    out = np.zeros_like(a)
    kernel = asp.specialize("scale", scale, {"out": out, "a": a, "c": 2.0})
    kernel(out, a, 2.0)
    kernel(out, a, 2.0)  # both variants measured: no more tuning bookkeeping
    progress = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            progress[0] += 1
            time.sleep(0)  # hands the GIL back at once

    # With a switch interval this long, the spinning thread can only run while
    # this one is blocked or has released the GIL itself.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    spinner = threading.Thread(target=spin)
    try:
        spinner.start()
        while progress[0] == 0:
            time.sleep(0)
        during = []
        for _ in range(20):
            before = progress[0]
            kernel(out, a, 2.0)
            during.append(progress[0] - before)
    finally:
        stop.set()
        spinner.join()
        sys.setswitchinterval(interval)
    assert max(during) > 0, during


def test_several_threads_call_one_kernel_at_once(scale_kernel):
    failures = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(50):
            a = rng.standard_normal((4 + seed, 6))
            out = np.zeros_like(a)
            scale_kernel(out, a, 2.0)
            if not (out == a * 2.0).all():
                failures.append(seed)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# ---- settings -----------------------------------------------------------------------------


def test_settings_come_from_the_core(monkeypatch):
    assert asp.setting("cache.dir") == os.environ["ASP_CACHE_DIR"]
    assert asp.setting("backends.openmp.priority") == 50
    assert asp.setting("dump") is None
    with pytest.raises(asp.ConfigError, match="no setting named 'backends.openmp.colour'"):
        asp.setting("backends.openmp.colour")
    assert not asp.disabled() and not asp.strict()
    monkeypatch.setenv("ASP_DISABLE", "yes")
    monkeypatch.setenv("ASP_STRICT", "1")
    assert asp.disabled() and asp.strict()  # read at each call
    monkeypatch.setenv("ASP_DISABLE", "maybe")
    with pytest.warns(RuntimeWarning, match="ASP_DISABLE='maybe' is not a boolean"):
        assert not asp.disabled()


def test_the_type_stub_lists_what_the_module_has():
    stub = ast.parse(pathlib.Path(asp.__file__).with_name("_core.pyi").read_text())
    names = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {n.target.id for n in stub.body if isinstance(n, ast.AnnAssign)}
    names |= {a.asname for n in stub.body if isinstance(n, ast.ImportFrom) for a in n.names if a.asname}
    assert names == {name for name in dir(_core) if not name.startswith("__")}
    specialized = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "Specialized")
    members = {n.name for n in specialized.body if isinstance(n, ast.FunctionDef)}
    assert members == {name for name in dir(_core.Specialized) if not name.startswith("__")} | {"__call__"}


# ---- the Tree -----------------------------------------------------------------------------

GLOBAL_INT = 3


def sample(self, grid, *rest, flag=True, **options):
    """A docstring with "quotes", a \\ backslash and a tab\t."""
    total: float = 0.5
    for x in grid.interior_points():
        total += -grid[x] ** 2 if x and not flag else abs(grid[x]) % GLOBAL_INT
        total = math.sqrt(total) @ total if total > 1e300 else (total, [1, 2][0], {3: 4}, {5})[0]
    while total < 0 or total >= 1:
        total //= 2
        break
    with open(__file__) as f, open(__file__):
        f.close()
    try:
        assert total is not None, "never"
        del options["x"]
    except (KeyError, ValueError) as error:
        raise RuntimeError("no") from error
    finally:
        pass
    lam = lambda y=1: y << 1 >> 1 | 2 & 3 ^ 4  # noqa: E731
    squares = [y * y for y in range(3) if y] + list({y: y for y in rest}) + list({y for y in ()})
    gen = sum(y for y in range(2))
    name = f"{total!r:>10}" + "plain" + b"bytes".decode()
    sliced = rest[1:2:1], rest[::-1]
    nonlocal_value = None if ... else 1j
    if (walrus := len(rest)) in (1, 2) and walrus not in [3]:
        pass
    return lam, squares, gen, name, sliced, nonlocal_value, ~walrus, +walrus, 2**70, -1.5e-10, math.inf


def parse_tree(text):
    """Reads the Tree text back into nested (kind, line, column, fields) tuples, lists and atoms."""
    assert text.startswith("asp-ir 1 tree\n")
    pos = len("asp-ir 1 tree\n")

    def skip():
        nonlocal pos
        while pos < len(text) and text[pos] in " \n":
            pos += 1

    def value():
        nonlocal pos
        skip()
        c = text[pos]
        if c == "(":
            pos += 1
            start = pos
            while text[pos] not in " )":
                pos += 1
            kind, line, column = text[start:pos], None, None
            skip()
            if text[pos] == "@":
                end = pos
                while text[end] not in " )":
                    end += 1
                line, column = map(int, text[pos + 1 : end].split(":"))
                pos = end
            fields = {}
            while True:
                skip()
                if text[pos] == ")":
                    pos += 1
                    return (kind, line, column, fields)
                eq = text.index("=", pos)
                name = text[pos:eq]
                pos = eq + 1
                fields[name] = value()
        if c == "[":
            pos += 1
            items = []
            while True:
                skip()
                if text[pos] == "]":
                    pos += 1
                    return items
                items.append(value())
        if c == '"':
            out = bytearray()
            pos += 1
            escapes = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "\\": b"\\"}
            while text[pos] != '"':
                if text[pos] == "\\":
                    if text[pos + 1] == "x":
                        out.append(int(text[pos + 2 : pos + 4], 16))
                        pos += 4
                    else:
                        out += escapes[text[pos + 1]]
                        pos += 2
                else:
                    out += text[pos].encode()
                    pos += 1
            pos += 1
            return out.decode("utf-8", errors="surrogateescape")
        start = pos
        while text[pos] not in " )]\n":
            pos += 1
        word = text[start:pos]
        atoms = {"true": True, "false": False, "none": None, "inf": math.inf, "-inf": -math.inf}
        if word in atoms:
            return atoms[word]
        if word == "nan":
            return math.nan
        return float(word) if any(ch in word for ch in ".eE") else int(word)

    result = value()
    skip()
    assert pos == len(text), text[pos:]
    return result


def expected_value(node_or_value, line_offset):
    """What the Tree should hold for a value of Python's ast."""
    if isinstance(node_or_value, ast.AST):
        node = node_or_value
        line = getattr(node, "lineno", None)
        fields = {f: expected_value(getattr(node, f, None), line_offset) for f in node._fields}
        return (type(node).__name__, None if line is None else line + line_offset, getattr(node, "col_offset", None), fields)
    if isinstance(node_or_value, list):
        return [expected_value(v, line_offset) for v in node_or_value]
    value = node_or_value
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return ("BigInt", None, None, {"digits": str(value)})
    if isinstance(value, complex):
        return ("Complex", None, None, {"real": value.real, "imag": value.imag})
    if isinstance(value, bytes):
        return ("Bytes", None, None, {"value": value.decode("latin-1")})
    if value is Ellipsis:
        return ("Ellipsis", None, None, {})
    return value


def test_the_tree_holds_every_node_field_and_position_of_the_function():
    text = function_tree(sample)
    root = parse_tree(text)
    assert root[0] == "Specialize"
    lines, first = inspect.getsourcelines(sample)
    definition = ast.parse(textwrap.dedent("".join(lines))).body[0]
    assert root[3]["function"] == expected_value(definition, first - 1)
    kinds = {type(n).__name__ for n in ast.walk(definition)}
    assert len(kinds) > 60
    for kind in kinds:
        assert f"({kind}" in text
    assert root[3]["function"][1:3] == (first, 0)


def test_free_names_resolve_to_numbers_modules_and_callables():
    constants = dict(
        (c[3]["name"], c[3]["value"]) for c in parse_tree(function_tree(sample, [("self.constants", [["k", 0.5]])]))[3]["constants"]
    )
    assert constants["self.constants"] == [["k", 0.5]]
    assert constants["GLOBAL_INT"] == GLOBAL_INT
    assert constants["math"] == "module:math"
    assert constants["abs"] == "builtins.abs"
    assert constants["RuntimeError"] == "builtins.RuntimeError"
    for local in ("total", "x", "grid", "lam", "y", "error", "walrus", "f"):
        assert local not in constants


def test_methods_and_closures_keep_file_positions():
    factor = 4

    class Holder:
        def method(self, out, a):
            out[i] = a[i] * factor  # noqa: F821

    text = function_tree(Holder.method)
    line = line_of(Holder.method, "out[i] = a[i] * factor")
    column = inspect.getsource(Holder.method).splitlines()[1].index("out")
    assert f"(Assign @{line}:{column} " in text
    assert '(Constant name="factor" value=4)' in text
    assert f"(FunctionDef @{line - 1}:{column - 4} " in text
