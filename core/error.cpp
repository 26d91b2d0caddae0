#include <vesta/core/error.hpp>

#include <fmt/format.h>

namespace vesta {

std::string shape_str(Index rows, Index cols) { return fmt::format("{}x{}", rows, cols); }

std::string entry_str(Index rows, Index cols, Index i, Index j) {
  if (rows * cols == 1) return "";
  if (rows == 1 || cols == 1) return fmt::format("[{}]", i + j * rows);
  return fmt::format("[{}, {}]", i, j);
}

}  // namespace vesta
