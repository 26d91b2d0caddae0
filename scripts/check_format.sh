#!/usr/bin/env bash
# Checks that every C++ file git tracks is formatted as the repo's .clang-format says;
# names the files that are not (fix them with: clang-format -i <file>).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format > /dev/null; then
  echo "check_format: clang-format not found (apt-get install clang-format)" >&2
  exit 1
fi
bad=()
while IFS= read -r f; do
  clang-format --dry-run -Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cpp' '*.hpp')
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: not formatted as .clang-format says (clang-format -i to fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: $(git ls-files '*.cpp' '*.hpp' | wc -l) files formatted"
