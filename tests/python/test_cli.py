"""The `asp` command as an administrator uses it: info, config, config check, cache."""
import ctypes
import ctypes.util
import os
import re
import stat
import struct

import pytest

BACKENDS = ("openmp", "pthreads", "cuda", "opencl")


def backend_lines(output):
    """Maps each backend to (state line, detail line) from `asp info`."""
    lines = output.splitlines()
    start = lines.index("Backends")
    found = {}
    for i, line in enumerate(lines[start + 1 :], start + 1):
        match = re.match(r"^  (\w+): (available|unavailable), priority (-?\d+)", line)
        if match:
            found[match.group(1)] = (match.group(2), lines[i + 1].strip())
        elif not line.strip():
            break
    return found


def test_info_lists_the_cpu_topology(asp):
    result = asp("info")
    assert result.returncode == 0, result.stderr
    match = re.search(r"cores:\s+(\d+) cores, (\d+) hardware threads", result.stdout)
    assert match, result.stdout
    assert int(match.group(2)) == len(os.sched_getaffinity(0))
    assert 1 <= int(match.group(1)) <= int(match.group(2))
    assert re.search(r"cache:\s+L1d \d+ KiB x\d+, line \d+ B", result.stdout)
    assert "Problems" not in result.stdout


def test_info_reports_the_mpi_library_or_why_there_is_none(asp):
    result = asp("info")
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("\nMPI\n", 1)[1].split("\n\n", 1)[0]
    if "unavailable:" in section:
        assert "built without MPI" in section
    else:
        assert re.search(r"library: .+ \(MPI \d+\.\d+\)", section), section
        assert "ranks:   1, not launched by mpirun" in section


def test_info_explains_every_backend(asp):
    result = asp("info")
    backends = backend_lines(result.stdout)
    assert set(backends) == set(BACKENDS)
    for name, (state, detail) in backends.items():
        if state == "unavailable":
            assert detail.startswith("reason: ") and len(detail) > len("reason: "), (name, detail)
        else:
            assert detail, name
    # No NVIDIA driver on the test machines; with one, the probe names the device instead.
    cuda_state, cuda_detail = backends["cuda"]
    if not os.path.exists("/dev/nvidiactl"):
        assert cuda_state == "unavailable"
        assert "no CUDA driver" in cuda_detail or "no CUDA device" in cuda_detail
    assert re.search(r"^Selected backend: \w+ \(highest priority available\)$", result.stdout, re.M)


def test_info_names_the_broken_line_of_asp_config(asp, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nbackends:\n  openmp:\n    priority: [1\n")
    result = asp("info", env={"ASP_CONFIG": str(broken)})
    assert result.returncode == 0
    assert re.search(rf"^  {re.escape(str(broken))}:\d+:\d+: error: not valid YAML", result.stdout, re.M), result.stdout
    # The rest of the configuration still applies.
    assert set(backend_lines(result.stdout)) == set(BACKENDS)


def test_info_reports_a_bad_key_with_line_and_column(asp, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends:\n  openmp:\n    enabeld: false\n")
    result = asp("info", env={"ASP_CONFIG": str(bad)})
    assert f"{bad}:3:5: error: unknown key 'enabeld' in backends.openmp; did you mean 'enabled'?" in result.stdout


def test_asp_backend_forces_a_backend(asp):
    result = asp("info", env={"ASP_BACKEND": "pthreads"})
    assert "Selected backend: pthreads (chosen by environment variable ASP_BACKEND)" in result.stdout


def test_forcing_an_unavailable_backend_says_why(asp, tmp_path):
    off = tmp_path / "off.yaml"
    off.write_text("backends:\n  pthreads:\n    enabled: false\n")
    result = asp("info", env={"ASP_BACKEND": "pthreads", "ASP_CONFIG": str(off)})
    assert f"Selected backend: none: backend 'pthreads' (environment variable ASP_BACKEND) is unavailable: disabled in config ({off}:3:14)" in result.stdout


def test_a_missing_compiler_makes_a_backend_unavailable(asp, tmp_path):
    conf = tmp_path / "cc.yaml"
    conf.write_text("backends:\n  openmp:\n    jit: system\n    compiler: no-such-compiler-anywhere\n")
    result = asp("info", env={"ASP_CONFIG": str(conf)})
    state, detail = backend_lines(result.stdout)["openmp"]
    assert state == "unavailable"
    assert "no compiler found: 'no-such-compiler-anywhere' is not on PATH" in detail


def test_config_shows_each_value_and_its_origin(asp, tmp_path):
    conf = tmp_path / "mine.yaml"
    conf.write_text("backends:\n  openmp:\n    priority: 77\n")
    result = asp("config", env={"ASP_CONFIG": str(conf), "ASP_LOG": "debug"})
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert f"  backends.openmp.priority = 77  <- {conf}:3:15" in out
    assert "  log = debug  <- environment variable ASP_LOG  [ASP_LOG]" in out
    assert "  strict = false  <- built-in default  [ASP_STRICT]" in out
    assert "  backend = (unset)  [ASP_BACKEND]" in out
    assert re.search(r"^  backends\.openmp\.path = libasp_backend_openmp\.so  <- .*/share/asp/asp\.yaml:\d+:\d+$", out, re.M)
    assert str(conf) in out.split("Settings")[0]  # listed among the files read


def test_config_exits_non_zero_on_errors(asp, tmp_path):
    conf = tmp_path / "bad.yaml"
    conf.write_text("log: verbose\n")
    result = asp("config", env={"ASP_CONFIG": str(conf)})
    assert result.returncode == 1
    assert f"{conf}:1:6: error: log: expected one of debug, info, warning, error, off, got 'verbose'" in result.stdout


def test_config_check_accepts_a_valid_file(asp, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nbackends:\n  openmp:\n    priority: 3\n    flags: [-O2]\n")
    result = asp("config", "check", str(good))
    assert result.returncode == 0
    assert result.stdout.strip() == f"{good}: ok"


def test_config_check_rejects_every_problem(asp, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbackends:\n  openmp:\n    priority: high\n    color: red\n")
    result = asp("config", "check", str(bad))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"{bad}:4:15: error: backends.openmp.priority: expected an integer, got 'high'",
        f"{bad}:5:5: error: unknown key 'color' in backends.openmp (known keys: path, enabled, priority, jit, compiler, flags)",
    ]


def test_config_check_on_a_missing_file(asp, tmp_path):
    result = asp("config", "check", str(tmp_path / "absent.yaml"))
    assert result.returncode == 1
    assert "configuration file not found" in result.stderr


def test_no_subcommand_is_a_usage_error(asp):
    result = asp()
    assert result.returncode != 0
    assert "info" in (result.stdout + result.stderr)


def xxh3_64(data):
    """XXH3-64 from the system libxxhash, the library Asp itself uses."""
    name = ctypes.util.find_library("xxhash")
    assert name, "libxxhash is not installed (scripts/setup installs it)"
    lib = ctypes.CDLL(name)
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib.XXH3_64bits(data, len(data))


def write_entry(cache_dir, key, payload, kind="object"):
    """Writes an entry in the format documented in code_cache.hpp: payload, then a 44-byte trailer."""
    trailer = struct.pack("<8sI16sQQ", b"ASPCACHE", 1, kind.encode(), len(payload), xxh3_64(payload))
    path = cache_dir / f"{key}.bin"
    path.write_bytes(payload + trailer)
    return path


def filled_cache(tmp_path):
    """A cache with two valid entries and one whose payload was damaged after writing."""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    write_entry(cache, "a" * 32, b"\x7fELF" + bytes(2044), "shared-library")
    write_entry(cache, "b" * 32, bytes(range(256)) * 4)
    damaged = write_entry(cache, "c" * 32, b"x" * 1024)
    data = bytearray(damaged.read_bytes())
    data[10] ^= 1
    damaged.write_bytes(bytes(data))
    return cache


def test_cache_info_counts_entries_size_and_invalid_ones(asp, tmp_path):
    cache = filled_cache(tmp_path)
    result = asp("cache", "info", env={"ASP_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Code cache",
        f"  location: {cache}  <- environment variable ASP_CACHE_DIR",
        "  entries:  3",
        "  size:     4 KiB",
        "  invalid:  1 (see `asp cache list`; each is removed and rebuilt when next used)",
    ]


def test_cache_info_defaults_to_the_xdg_cache_and_creates_it_private(asp, asp_env):
    result = asp("cache", "info")
    assert result.returncode == 0, result.stderr
    expected = os.path.join(asp_env["XDG_CACHE_HOME"], "asp")
    assert f"  location: {expected}  <- built-in default" in result.stdout
    assert "  entries:  0" in result.stdout
    assert stat.S_IMODE(os.stat(expected).st_mode) == 0o700


def test_cache_list_shows_every_entry_and_why_one_is_invalid(asp, tmp_path):
    cache = filled_cache(tmp_path)
    result = asp("cache", "list", env={"ASP_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.match(r"^KEY +KIND +SIZE  MODIFIED +PROBLEM$", lines[0])
    rows = [re.match(r"^(\w+)  (\S+) +(.+?)  (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:  (.*))?$", line) for line in lines[1:]]
    assert all(rows), lines
    found = [(m.group(1), m.group(2), m.group(3).strip(), m.group(5)) for m in rows]
    assert found == [
        ("a" * 32, "shared-library", "2 KiB", None),
        ("b" * 32, "object", "1 KiB", None),
        ("c" * 32, "object", "1 KiB", "corrupt: the payload does not match its checksum"),
    ]
    assert (cache / f"{'c' * 32}.bin").exists(), "listing removes nothing"


def test_cache_clear_removes_every_entry_and_nothing_else(asp, tmp_path):
    cache = filled_cache(tmp_path)
    (cache / ".tmp-crashed-writer").write_bytes(b"partial")
    (cache / "tuning.sqlite").write_bytes(b"not the cache's")
    env = {"ASP_CACHE_DIR": str(cache)}
    result = asp("cache", "clear", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Removed 3 entries from {cache}"
    assert sorted(p.name for p in cache.iterdir()) == ["tuning.sqlite"]
    assert asp("cache", "list", env=env).stdout.strip() == f"No entries in {cache}"
    assert asp("cache", "clear", env=env).stdout.strip() == f"Removed 0 entries from {cache}"


def test_cache_refuses_a_directory_others_can_write(asp, tmp_path):
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o777)
    result = asp("cache", "info", env={"ASP_CACHE_DIR": str(cache)})
    assert result.returncode == 2
    assert f"asp: error: refusing the code cache directory {cache}: it is writable by group or others (mode 0777)" in result.stderr
    assert f"run `chmod go-w {cache}`" in result.stderr


@pytest.mark.parametrize("subcommand", ["list", "clear"])
def test_cache_list_and_clear_refuse_a_directory_others_can_write_and_touch_nothing(asp, tmp_path, subcommand):
    cache = filled_cache(tmp_path)
    cache.chmod(0o777)
    before = sorted(p.name for p in cache.iterdir())
    result = asp("cache", subcommand, env={"ASP_CACHE_DIR": str(cache)})
    assert result.returncode == 2
    assert f"refusing the code cache directory {cache}: it is writable by group or others" in result.stderr
    assert sorted(p.name for p in cache.iterdir()) == before


def test_cache_needs_a_subcommand(asp):
    result = asp("cache")
    assert result.returncode != 0
    assert "info" in (result.stdout + result.stderr)
