#include <vesta/distributions/validation.hpp>

#include <atomic>
#include <cmath>

#include <fmt/format.h>

namespace vesta {

namespace {
std::atomic<bool> g_validation{true};
}

bool validation_enabled() { return g_validation.load(std::memory_order_relaxed); }
void set_validation(bool enabled) { g_validation.store(enabled, std::memory_order_relaxed); }

namespace detail {

void throw_invalid(const char* dist, const char* arg, const Tensor& t, Index k, const char* requirement) {
  const Scalar value = t.value().data()[k];
  const std::string where = (t.rows() == 1 || t.cols() == 1)
                                ? fmt::format("[{}]", k)
                                : fmt::format("[{}, {}]", k % t.rows(), k / t.rows());
  throw ValueError(fmt::format("{}: {}{} is {}, but must be {}", dist, arg,
                               t.size() == 1 ? "" : where, value, requirement));
}

void check_positive(const char* dist, const char* arg, const Tensor& t) {
  check_each(dist, arg, t, "positive", [](Scalar v) { return v > 0 && std::isfinite(v); });
}

void check_finite(const char* dist, const char* arg, const Tensor& t) {
  check_each(dist, arg, t, "finite", [](Scalar v) { return std::isfinite(v); });
}

}  // namespace detail

}  // namespace vesta
