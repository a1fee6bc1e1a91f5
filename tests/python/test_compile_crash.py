"""A crash of the in-process compiler (issue 13, item 6): clang crashing or stopping
with a fatal LLVM error while it compiles a kernel is a compile error, not the end
of the interpreter. The kernel runs as Python after a FallbackWarning naming the
crash (ASP_STRICT=1: asp.CompileError with clang's output), and the process goes on
to specialize other kernels.

Each case runs in a new interpreter with the openmp backend forced (with the ORC
driver, its default), so that no other backend compiles the kernel instead, and a
private code cache, so that the kernel is compiled, not loaded.
ASP_TEST_CRASH_CLANG is the ORC driver's test-only switch that makes clang crash.
"""
import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, warnings
    import numpy as np
    import asp
    from asp.stencil import StencilGrid, StencilKernel

    class Smooth(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = 0.5 * in_grid[x]
                for y in in_grid.neighbors(x, 1):
                    out_grid[x] = out_grid[x] + 0.125 * in_grid[y]

    class Double(StencilKernel):
        def kernel(self, in_grid, out_grid):
            for x in out_grid.interior_points():
                out_grid[x] = 2.0 * in_grid[x]

    def python_result(kernel_class, data):
        reference = kernel_class()
        reference.pure_python = True
        out = StencilGrid(data.shape)
        reference.kernel(StencilGrid.from_array(data.copy()), out)
        return out.data

    data = np.random.default_rng(0).random((12, 12))
    report = {}
    out = StencilGrid(data.shape)
    kernel = Smooth()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            kernel.kernel(StencilGrid.from_array(data), out)
            report["raised"] = None
        except asp.CompileError as error:
            report["raised"] = type(error).__name__
            report["message"] = str(error)
            report["log"] = error.log
    report["warnings"] = [str(w.message) for w in caught if issubclass(w.category, asp.FallbackWarning)]
    report["backend"] = kernel.last_call.backend if kernel.last_call else None
    if report["raised"] is None:
        report["result_is_python"] = bool(np.array_equal(out.data, python_result(Smooth, data)))

    # Still alive: with the switch off, another kernel specializes and runs natively.
    del os.environ["ASP_TEST_CRASH_CLANG"]
    out2 = StencilGrid(data.shape)
    other = Double()
    other.kernel(StencilGrid.from_array(data), out2)
    report["after_backend"] = other.last_call.backend
    report["after_is_python"] = bool(np.array_equal(out2.data, python_result(Double, data)))
    print(json.dumps(report))
    """
)


def run_script(asp_env, tmp_path, kind, strict=False):
    env = dict(asp_env, ASP_BACKEND="openmp", ASP_CACHE_DIR=str(tmp_path / "cache"), ASP_TEST_CRASH_CLANG=kind)
    if strict:
        env["ASP_STRICT"] = "1"
    script = tmp_path / "crash_script.py"  # a file: the specializer reads the kernel's source
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the interpreter did not survive (status {done.returncode}):\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind, what", [("parser_crash", "clang crashed with signal"),
                                        ("llvm_fatal_error", "LLVM ERROR")])
def test_a_compiler_crash_falls_back_to_python_with_a_warning(asp_env, tmp_path, kind, what):
    report = run_script(asp_env, tmp_path, kind)
    assert report["raised"] is None
    assert report["backend"] is None
    assert report["result_is_python"]
    assert len(report["warnings"]) == 1, report["warnings"]
    warning = report["warnings"][0]
    assert "did not compile" in warning and what in warning, warning
    assert report["after_backend"] == "openmp" and report["after_is_python"]


def test_a_compiler_crash_under_strict_is_a_compile_error_with_clangs_output(asp_env, tmp_path):
    report = run_script(asp_env, tmp_path, "parser_crash", strict=True)
    assert report["raised"] == "CompileError"
    assert "clang crashed with signal" in report["message"]
    assert "internal error of clang" in report["log"]
    assert "ASP_TEST_CRASH_CLANG" in report["log"]
    assert report["after_backend"] == "openmp" and report["after_is_python"]
