"""Shared fixtures: the installed `asp` command, run in an environment free of the user's settings."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("ASP_TEST_BUILD_DIR", "build")  # relative to the repository
# The test domain "scale" (tests/plugins/scale_plugin.cpp), built with the C++ tests.
SCALE_PLUGIN = BUILD / "tests" / "plugins" / "libasp_test_scale_plugin.so"


def pytest_configure(config):
    """Gives the in-process runtime, which reads its configuration once, a known one.

    The installed default plus the test domain "scale", a private code cache,
    and none of the developer's own settings or overrides.
    """
    session = pathlib.Path(tempfile.mkdtemp(prefix="asp-pytest-"))
    config.asp_session_dir = session
    (session / "asp.yaml").write_text(f"plugins:\n  scale:\n    path: {SCALE_PLUGIN}\n")
    for name in ("ASP_BACKEND", "ASP_DISABLE", "ASP_STRICT", "ASP_DUMP"):
        os.environ.pop(name, None)
    # ASP_TEST_BACKEND=opencl runs the tests with that backend forced (scripts/test does, for the device backends).
    if os.environ.get("ASP_TEST_BACKEND"):
        os.environ["ASP_BACKEND"] = os.environ["ASP_TEST_BACKEND"]
    os.environ["ASP_CONFIG"] = str(session / "asp.yaml")
    os.environ["ASP_CACHE_DIR"] = str(session / "cache")
    os.environ["XDG_CONFIG_HOME"] = str(session / "xdg-config")


def pytest_unconfigure(config):
    shutil.rmtree(config.asp_session_dir, ignore_errors=True)


@pytest.fixture
def asp_env(tmp_path):
    """The process environment without ASP_* variables and with a private XDG config home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASP_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    return env


@pytest.fixture
def asp(asp_env):
    """Runs the installed `asp` command; returns the CompletedProcess."""
    binary = os.environ.get("ASP_TEST_BINARY", str(ROOT / ".venv" / "bin" / "asp"))

    def run(*args, env=None, cwd=None):
        merged = dict(asp_env, **(env or {}))
        return subprocess.run([binary, *args], env=merged, cwd=cwd, capture_output=True, text=True, timeout=60)

    return run
