#!/usr/bin/env bash
# Builds vesta and runs its whole test suite (slow statistical tests included).
# Usage: scripts/test.sh [build-dir] [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
bash scripts/setup.sh
# Tests are built only when asked: this turns them on (a plain configure leaves them off).
cmake -S . -B "$dir" -DVESTA_BUILD_TESTS=ON "$@" > /dev/null
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"
