#include <vesta/core/error.hpp>

#include <fmt/format.h>

namespace vesta {

std::string shape_str(Index rows, Index cols) { return fmt::format("{}x{}", rows, cols); }

std::string entry_str(Index rows, Index cols, Index i, Index j) {
  if (rows * cols == 1) return "";
  if (rows == 1 || cols == 1) return fmt::format("[{}]", i + j * rows);
  return fmt::format("[{}, {}]", i, j);
}

void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const ShapeError& e) {
    throw ShapeError(context + ": " + e.what());
  } catch (const StaleTensorError& e) {
    throw StaleTensorError(context + ": " + e.what());
  } catch (const ValueError& e) {
    throw ValueError(context + ": " + e.what());
  } catch (const Error& e) {
    throw Error(context + ": " + e.what());
  }
}

}  // namespace vesta
