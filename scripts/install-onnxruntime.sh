#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that fivegram's neural backend loads at run time
# (crate fivegram-neural, `ort` with `load-dynamic`), without a build-time download.
#
# It fetches PyPI's onnxruntime==1.31.1 wheel with pip (no dependencies, no virtual environment), checks the
# wheel's sha256 against the value pinned below, and extracts only onnxruntime/capi/libonnxruntime.so.1.31.1 to
#   ${FIVEGRAM_ORT_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/fivegram/onnxruntime}/libonnxruntime.so.1.31.1
# which is where fivegram looks when ORT_DYLIB_PATH is not set. The file is written under a temporary name in the
# same directory and renamed, so a reader never sees half a library. Running it again is a no-op once the library
# is in place (its sha256 is checked too).
#
# Usage: scripts/install-onnxruntime.sh [--print-path]
#   --print-path  print the installed library's path on stdout (the only stdout output), e.g. for
#                 `export ORT_DYLIB_PATH=$(scripts/install-onnxruntime.sh --print-path)`
set -euo pipefail

version=1.31.1
lib="libonnxruntime.so.$version"
# Wheels for CPython 3.11 (the library inside does not depend on the Python version; any pip can fetch this one).
case "$(uname -m)" in
  x86_64)
    platform=manylinux_2_28_x86_64
    wheel_sha256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
    lib_sha256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
    ;;
  aarch64 | arm64)
    platform=manylinux_2_28_aarch64
    wheel_sha256=da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3
    lib_sha256=8aa3b76b28c778a2b1dd660d34161adb1d508c9ccd04ff9dc80e26eca5df8467
    ;;
  *)
    echo "install-onnxruntime.sh: no pinned onnxruntime $version wheel for $(uname -m) on Linux" >&2
    exit 1
    ;;
esac

print_path=false
for arg in "$@"; do
  case "$arg" in
    --print-path) print_path=true ;;
    -h | --help)
      sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-onnxruntime.sh: unknown argument $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

dest_dir="${FIVEGRAM_ORT_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/fivegram/onnxruntime}"
dest="$dest_dir/$lib"
say() { echo "install-onnxruntime.sh: $*" >&2; }
done_() {
  if $print_path; then echo "$dest"; fi
  exit 0
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest" ] && { [ -z "$lib_sha256" ] || [ "$(sha256_of "$dest")" = "$lib_sha256" ]; }; then
  say "already installed: $dest"
  done_
fi

for tool in python3 sha256sum; do
  command -v "$tool" >/dev/null || { say "needs $tool on PATH"; exit 1; }
done
python3 -m pip --version >/dev/null 2>&1 || { say "needs pip (python3 -m pip)"; exit 1; }

mkdir -p "$dest_dir"
work=$(mktemp -d "$dest_dir/.install.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "downloading onnxruntime==$version ($platform) with pip"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform "$platform" --python-version 3.11 --implementation cp \
  --dest "$work" "onnxruntime==$version" >&2
wheel=$(find "$work" -maxdepth 1 -name "onnxruntime-$version-*.whl" | head -n 1)
if [ -z "$wheel" ]; then
  say "pip did not produce an onnxruntime-$version wheel in $work"
  exit 1
fi
got=$(sha256_of "$wheel")
if [ "$got" != "$wheel_sha256" ]; then
  say "sha256 mismatch for $(basename "$wheel"): expected $wheel_sha256, got $got"
  exit 1
fi

python3 - "$wheel" "onnxruntime/capi/$lib" "$work/$lib" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
if [ -n "$lib_sha256" ] && [ "$(sha256_of "$work/$lib")" != "$lib_sha256" ]; then
  say "sha256 mismatch for $lib extracted from $(basename "$wheel")"
  exit 1
fi
chmod 0755 "$work/$lib"
sync "$work/$lib" 2>/dev/null || true
mv -f "$work/$lib" "$dest"
say "installed $dest"
done_
