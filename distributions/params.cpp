#include <vesta/distributions/params.hpp>

#include <cmath>

#include <fmt/format.h>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

namespace detail {

std::pair<Index, Index> broadcast_shape_general(const char* dist,
                                                std::initializer_list<const Tensor*> ts) {
  Index rows = 1, cols = 1;
  auto fit = [&](Index& acc, Index n) {
    if (n == acc || n == 1) return true;
    if (acc == 1) {
      acc = n;
      return true;
    }
    return false;
  };
  for (const Tensor* t : ts) {
    if (!fit(rows, t->rows()) || !fit(cols, t->cols())) {
      std::string shapes;
      for (const Tensor* u : ts) shapes += (shapes.empty() ? "" : ", ") + u->shape();
      throw ShapeError(fmt::format("{}: parameter shapes {} do not broadcast", dist, shapes));
    }
  }
  return {rows, cols};
}

Tensor broadcast_to(const Tensor& t, Index rows, Index cols) {
  if (t.rows() == rows && t.cols() == cols) return t;
  return t + Tensor::zeros(rows, cols);
}

Tensor location_scale(const Tensor& loc, const Tensor& scale, const Tensor& noise) {
  if (loc.size() != 1 || scale.size() != 1 || noise.size() != 1 || noise.requires_grad()) {
    return loc + scale * noise;
  }
  const Operand L = Operand::of(loc), S = Operand::of(scale);
  const Scalar e = noise.item();
  const Scalar y = *L.value + *S.value * e;
  if (!L.requires_grad() && !S.requires_grad()) return Tensor(y);
  // The sum's step, then the product's, as the two nodes would have taken them.
  Node* node = tape().record(1, 1, [ln = L.node, sn = S.node, e](Node& out) {
    const Scalar g = out.adj[0];
    for (auto [n, d] : {std::pair{ln, g}, std::pair{sn, g * e}}) {
      if (n == nullptr) continue;
      n->touch();
      n->adj[0] += d;
    }
  });
  node->value[0] = y;
  return Tensor::from_node(node);
}

Tensor standard_normal(Rng& rng, Index rows, Index cols) {
  return constant_result(rows, cols, [&](Scalar* out) { rng.fill_normal(out, rows * cols); });
}

Tensor standard_uniform(Rng& rng, Index rows, Index cols) {
  return constant_result(rows, cols, [&](Scalar* out) { rng.fill_uniform(out, rows * cols); });
}

void throw_invalid(const char* dist, const char* arg, const Tensor& t, Index k,
                   const char* requirement) {
  const Scalar value = t.value().data()[k];
  throw ArgumentError(fmt::format("{}: {}{} is {}, but must be {}", dist, arg,
                                  entry_str(t.rows(), t.cols(), k), value, requirement),
                      t);
}

namespace {

// Vectorised screens for the common case, where every entry passes: x - x is 0 for a finite x
// and NaN for a NaN or an infinity, so the sum is 0 exactly when all entries are finite.
// Only a Tensor that fails a screen is searched entry by entry, for the message.
// One number (a scalar site's parameter) skips the reductions' set-up.
bool all_finite(const ConstMatrixMap& v) {
  if (v.size() == 1) return std::isfinite(v(0, 0));
  return (v.array() - v.array()).sum() == 0;
}
Scalar min_entry(const ConstMatrixMap& v) { return v.size() == 1 ? v(0, 0) : v.minCoeff(); }
Scalar max_entry(const ConstMatrixMap& v) { return v.size() == 1 ? v(0, 0) : v.maxCoeff(); }

}  // namespace

void check_positive_entries(const char* dist, const char* arg, const Tensor& t) {
  const auto v = t.value();
  if (v.size() == 0 || (all_finite(v) && min_entry(v) > 0)) return;
  check_each(dist, arg, t, "positive", [](Scalar v) { return v > 0 && std::isfinite(v); });
}

void check_probability(const char* dist, const char* arg, const Tensor& t) {
  const auto v = t.value();
  if (v.size() == 0 || (all_finite(v) && min_entry(v) >= 0 && max_entry(v) <= 1)) return;
  check_each(dist, arg, t, "in [0, 1]", [](Scalar v) { return v >= 0 && v <= 1; });
}

void check_finite_entries(const char* dist, const char* arg, const Tensor& t) {
  if (all_finite(t.value())) return;
  check_each(dist, arg, t, "finite", [](Scalar v) { return std::isfinite(v); });
}

}  // namespace detail

}  // namespace vesta
