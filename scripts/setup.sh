#!/usr/bin/env bash
# Installs what vesta needs to build and test on Debian 12, using Debian packages only.
# Idempotent: when everything is present it only checks and returns (a fraction of a second).
# Run as root to install; otherwise it prints the exact command to run.
#
# VESTA_DOCS=1 adds Doxygen, for the documentation site (cmake --build build --target docs);
# VESTA_DOCS=browser also adds Chromium, for docs/tools/check_site_in_chromium.sh.
# VESTA_FUZZ=1 adds clang and its run-time libraries (libFuzzer, the sanitizers), for the fuzz
# harnesses (tests/fuzz; -DVESTA_FUZZ=ON with CMAKE_CXX_COMPILER=clang++).
# VESTA_MPI=1 adds Open MPI (headers, mpicxx, mpirun), for data-parallel training and chains
# over processes (-DVESTA_MPI=ON; the tests labelled mpi).
set -euo pipefail

# Build and test: compiler, CMake, ccache (the build uses it when present, so rebuilds and CI
# runs on the same machine reuse earlier compilations), Eigen, Boost.Math, fmt, Catch2.
# Examples: zlib (reading the gzipped Fashion-MNIST files), the Fashion-MNIST data set,
# gnuplot (plots as PNG) and stb (writing pixel images as PNG).
packages=(g++ cmake make ccache libeigen3-dev libboost-dev libfmt-dev catch2
          zlib1g-dev dataset-fashion-mnist gnuplot-nox libstb-dev)
case "${VESTA_DOCS:-}" in
  "" | 0) ;;
  browser) packages+=(doxygen chromium) ;;
  *) packages+=(doxygen) ;;
esac
case "${VESTA_FUZZ:-}" in
  "" | 0) ;;
  *) packages+=(clang libclang-rt-14-dev) ;;
esac
case "${VESTA_MPI:-}" in
  "" | 0) ;;
  *) packages+=(libopenmpi-dev openmpi-bin) ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present (${packages[*]})"
  exit 0
fi

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root:  sudo sh -c '$cmd'" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
