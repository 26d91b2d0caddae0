// What every distribution family does with its parameters: broadcast them to one batch
// shape, and check them with one message format ("Normal: scale[2] is -1, but must be
// positive"). The checks run while validation is on (the default; see set_validation).
#pragma once

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>

#include <vesta/core/distribution.hpp>

namespace vesta {

namespace detail {
/// broadcast_shape() for shapes that are not all 1x1.
std::pair<Index, Index> broadcast_shape_general(const char* dist,
                                                std::initializer_list<const Tensor*> ts);
/// The shape all of `ts` broadcast to (each dimension equal, or 1), or a ShapeError naming
/// the family and the shapes.
inline std::pair<Index, Index> broadcast_shape(const char* dist,
                                               std::initializer_list<const Tensor*> ts) {
  // A scalar site's parameters (and its value) are one number each: nothing to compare.
  bool scalars = true;
  for (const Tensor* t : ts) scalars = scalars && t->rows() == 1 && t->cols() == 1;
  if (scalars) return {1, 1};
  return broadcast_shape_general(dist, ts);
}
/// `t` broadcast to rows x cols (differentiable: the gradient sums back).
Tensor broadcast_to(const Tensor& t, Index rows, Index cols);
/// loc + scale * noise: the reparameterised draw of a location-scale family, `noise` a
/// constant draw of the standard member. When all three are one number (a scalar site) it
/// records one node instead of a product and a sum.
Tensor location_scale(const Tensor& loc, const Tensor& scale, const Tensor& noise);
/// A constant rows x cols draw of N(0, 1), the values Rng::normal(rows, cols) gives, in a
/// pooled buffer (inline for one number): noise drawn every step allocates nothing.
Tensor standard_normal(Rng& rng, Index rows, Index cols);
/// The same for U[0, 1) (Rng::uniform(rows, cols)).
Tensor standard_uniform(Rng& rng, Index rows, Index cols);

/// Throws ArgumentError "<dist>: <arg>[i] is <v>, but must be <requirement>" for the first
/// entry of `t` that `ok` rejects ([i] is a flat column-major index, or [r, c] for matrices).
/// Families run these checks inside Distribution::validate_args.
template <class Ok>
void check_each(const char* dist, const char* arg, const Tensor& t, const char* requirement, Ok ok);

void check_positive_entries(const char* dist, const char* arg, const Tensor& t);
void check_finite_entries(const char* dist, const char* arg, const Tensor& t);
/// Every entry of `t` positive and finite. A scalar site's one number is tested inline: every
/// site's distribution checks its parameters.
inline void check_positive(const char* dist, const char* arg, const Tensor& t) {
  if (t.size() == 1) {
    const Scalar v = *t.value().data();
    if (v > 0 && std::isfinite(v)) return;
  }
  check_positive_entries(dist, arg, t);
}
/// Every entry of `t` finite (one number tested inline, as check_positive's).
inline void check_finite(const char* dist, const char* arg, const Tensor& t) {
  if (t.size() == 1 && std::isfinite(*t.value().data())) return;
  check_finite_entries(dist, arg, t);
}
/// 0 <= t <= 1.
void check_probability(const char* dist, const char* arg, const Tensor& t);
[[noreturn]] void throw_invalid(const char* dist, const char* arg, const Tensor& t, Index k,
                                const char* requirement);

template <class Ok>
void check_each(const char* dist, const char* arg, const Tensor& t, const char* requirement,
                Ok ok) {
  const auto v = t.value();
  for (Index k = 0; k < v.size(); ++k) {
    if (!ok(v.data()[k])) throw_invalid(dist, arg, t, k, requirement);
  }
}
}  // namespace detail

}  // namespace vesta
