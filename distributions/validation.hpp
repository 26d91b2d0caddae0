// Argument checks shared by the distribution families: one message format for every check
// ("Normal: scale[2] is -1, but must be positive"), and the switch that turns validation off
// for speed (on by default, as in Pyro).
#pragma once

#include <string>

#include <vesta/core/tensor.hpp>

namespace vesta {

/// Whether distributions check their parameters and observed values (default: true).
bool validation_enabled();
void set_validation(bool enabled);

namespace detail {
/// Throws ValueError "<dist>: <arg>[i] is <v>, but must be <requirement>" for the first
/// entry of `t` that `ok` rejects ([i] is a flat column-major index, or [r, c] for matrices).
template <class Ok>
void check_each(const char* dist, const char* arg, const Tensor& t, const char* requirement, Ok ok);

void check_positive(const char* dist, const char* arg, const Tensor& t);
void check_finite(const char* dist, const char* arg, const Tensor& t);
[[noreturn]] void throw_invalid(const char* dist, const char* arg, const Tensor& t, Index k,
                                const char* requirement);

template <class Ok>
void check_each(const char* dist, const char* arg, const Tensor& t, const char* requirement, Ok ok) {
  const auto v = t.value();
  for (Index k = 0; k < v.size(); ++k) {
    if (!ok(v.data()[k])) throw_invalid(dist, arg, t, k, requirement);
  }
}
}  // namespace detail

}  // namespace vesta
