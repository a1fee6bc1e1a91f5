"""Shared fixtures: the installed `asp` command, run in an environment free of the user's settings."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


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
