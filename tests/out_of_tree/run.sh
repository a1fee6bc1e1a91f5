#!/usr/bin/env bash
# Proves a third party can build a plugin against the *installed* Asp alone:
# install Asp into a staging prefix, build the README's example plugin as its
# own CMake project that sees only that prefix, then load it with the installed
# `asp` from the README's example configuration, and tests/out_of_tree/device,
# a program built on the device backends' installed headers and library.
# With PYTHON and SITE_PACKAGES (the installed package's place under a prefix),
# also builds tests/out_of_tree/power, a domain plugin whose program runs two
# kernels (one generated, one hand-written) in a host loop, and runs it from the
# installed Python package on openmp, pthreads and opencl against NumPy.
# usage: run.sh BUILD_DIR SOURCE_DIR WORK_DIR [PYTHON SITE_PACKAGES]
set -euo pipefail
build=$1 source=$2 work=$3 python=${4:-} site_packages=${5:-}
rm -rf "$work"
mkdir -p "$work/xdg"
cmake --install "$build" --prefix "$work/stage" >"$work/install.log"
python3 "$source/tests/out_of_tree/extract_examples.py" "$source/README.md" "$work/project"
cmake -S "$work/project" -B "$work/project/build" -DCMAKE_PREFIX_PATH="$work/stage" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" >"$work/configure.log"
cmake --build "$work/project/build"

info=$(cd "$work/project" && env -u ASP_BACKEND XDG_CONFIG_HOME="$work/xdg" ASP_CONFIG=asp.yaml \
  "$work/stage/bin/asp" info)
echo "$info"
fail() { echo "FAILED: $*" >&2; exit 1; }
grep -q "^  hello: available, priority 0, version 1.0.0$" <<<"$info" || fail "the hello backend is not listed as available"
grep -q "hello from an out-of-tree plugin, compiler cc" <<<"$info" || fail "the plugin's probe did not run"
grep -q "$work/project/build/libasp_hello.so" <<<"$info" || fail "the library path is not the one built"
if grep -q "^Problems" <<<"$info"; then fail "asp info reported problems"; fi
# The plugin's log reaches the core's log, filtered by ASP_LOG and labelled with its entry.
log=$(cd "$work/project" && env XDG_CONFIG_HOME="$work/xdg" ASP_CONFIG=asp.yaml ASP_LOG=debug \
  "$work/stage/bin/asp" info 2>&1 >/dev/null)
grep -q "^asp: debug: \[backends.hello\] hello is probing$" <<<"$log" || fail "the plugin's debug log did not appear"
echo "out-of-tree plugin: ok"

# The device backends' shared pieces (Asp::backend_common, <asp/backends/...>) from the same prefix.
cmake -S "$source/tests/out_of_tree/device" -B "$work/device" -DCMAKE_PREFIX_PATH="$work/stage" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" >"$work/device-configure.log"
cmake --build "$work/device"
"$work/device/device_pieces" || fail "the device pieces built against the installed tree do not work"

[ -n "$python" ] || { echo "out-of-tree program plugin: skipped (Asp was built without its Python binding)"; exit 0; }
cmake -S "$source/tests/out_of_tree/power" -B "$work/power" -DCMAKE_PREFIX_PATH="$work/stage" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" >"$work/power-configure.log"
cmake --build "$work/power"
cat >"$work/power.yaml" <<YAML
version: 1
plugins:
  power:
    path: $work/power/libasp_power.so
YAML
for backend in openmp pthreads opencl; do
  (cd "$work" && env XDG_CONFIG_HOME="$work/xdg" ASP_CONFIG="$work/power.yaml" ASP_BACKEND=$backend \
    ASP_CACHE_DIR="$work/cache" PYTHONPATH="$work/stage/$site_packages" "$python" "$source/tests/out_of_tree/power/power_test.py") ||
    fail "the power-iteration program failed on $backend"
done
echo "out-of-tree program plugin: ok"
