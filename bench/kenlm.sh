#!/usr/bin/env bash
# Builds KenLM's lmplz, build_binary, query and kenlm_benchmark (Release) from PyPI's `kenlm` source distribution, for
# side-by-side benchmarks with fivegram. The build lives outside the repository.
#
#   bench/kenlm.sh [BUILD_DIR]        default: ../kenlm-build next to the repository
#
# Environment: JOBS (parallel make jobs, default 1), KENLM_VERSION (default 0.3.0), KENLM_SDIST (download
# directory, default /tmp/kenlm-sdist). Needs cmake, a C++ compiler, Boost (program_options, system, thread),
# zlib, bzip2 and xz headers: installed with apt-get when missing and running as root.
# Afterwards: BUILD_DIR/bin/{lmplz,build_binary,query,kenlm_benchmark}.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$repo/../kenlm-build}")
sdist=${KENLM_SDIST:-/tmp/kenlm-sdist}
version=${KENLM_VERSION:-0.3.0}
jobs=${JOBS:-1}

packages=(cmake g++ make libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev
          zlib1g-dev libbz2-dev liblzma-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (install them, e.g. sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

mkdir -p "$sdist"
tarball=$(ls "$sdist"/kenlm-"$version".tar.gz 2>/dev/null || true)
if [ -z "$tarball" ]; then
  # --no-build-isolation: otherwise pip builds kenlm's build requirements (CMake itself) from source just to
  # read the package's metadata.
  python3 -m pip download "kenlm==$version" --no-deps --no-binary :all: --no-build-isolation -d "$sdist"
  tarball=$(ls "$sdist"/kenlm-"$version".tar.gz)
fi
echo "source: $tarball (sha256 $(sha256sum "$tarball" | cut -d' ' -f1))"

rm -rf "$build/src"
mkdir -p "$build/src" "$build/bin"
tar -xzf "$tarball" -C "$build/src" --strip-components=1
cmake -S "$build/src" -B "$build/cmake" -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER=6 >/dev/null
make -C "$build/cmake" -j"$jobs" lmplz build_binary query kenlm_benchmark
for tool in lmplz build_binary query kenlm_benchmark; do
  cp "$(find "$build/cmake" -type f -name "$tool" -perm -u+x | head -1)" "$build/bin/$tool"
done
echo "built: $build/bin/lmplz $build/bin/build_binary $build/bin/query $build/bin/kenlm_benchmark"
