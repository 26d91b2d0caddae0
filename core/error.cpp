#include <vesta/core/error.hpp>

#include <fmt/format.h>

namespace vesta {

std::string shape_str(Index rows, Index cols) { return fmt::format("{}x{}", rows, cols); }

}  // namespace vesta
