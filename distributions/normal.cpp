#include <vesta/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <boost/math/constants/constants.hpp>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
const Scalar kHalfLog2Pi = Scalar(0.5) * std::log(boost::math::constants::two_pi<double>());

// The density as one fused op: log N(x | loc, scale) = -z^2 / 2 - log scale - log(2 pi) / 2
// with z = (x - loc) / scale, its three operands broadcast together. Composed of elementwise
// ops it would record six nodes and pass over the data six times forward and again backward;
// fused, a scalar site costs one node and a plate of data one pass each way.
//
// Each operand is read as entry (i, j) = p[i * row_step + j * col_step] (a step is 0 along a
// dimension of size 1), and each column is computed by a loop instantiated for whether each
// operand varies along the rows, so that the common cases (a column of data against a scalar
// loc and scale, or all three of one shape) run as plain vectorised loops.
struct Strided {
  const Scalar* p;
  Index row_step;
  Index col_step;
  Strided(const Scalar* values, Index rows, Index cols)
      : p(values), row_step(rows == 1 ? 0 : 1), col_step(cols == 1 ? 0 : rows) {}
  const Scalar* column(Index j) const { return p + j * col_step; }
};

// Calls f(std::true_type) or f(std::false_type): a runtime flag as a compile-time one.
template <class F>
void with_flag(bool flag, F&& f) {
  if (flag) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

// Calls body.template operator()<X, L, S>(j) for each column j, X / L / S saying whether the
// value / loc / scale varies along the rows.
template <class Body>
void for_each_column(Index cols, const Strided& x, const Strided& l, const Strided& s,
                     Body&& body) {
  with_flag(x.row_step != 0, [&](auto vx) {
    with_flag(l.row_step != 0, [&](auto vl) {
      with_flag(s.row_step != 0, [&](auto vs) {
        for (Index j = 0; j < cols; ++j) body.template operator()<vx(), vl(), vs()>(j);
      });
    });
  });
}

// Adds `d` (the gradient at output entry (i, j)) into an operand's adjoint through its
// broadcast: entry by entry along a dimension it spans, summed along one it was broadcast on.
struct GradTarget {
  Node* node;
  Index row_step;
  Index col_step;
  GradTarget(Node* n, Index rows, Index cols)
      : node(n), row_step(rows == 1 ? 0 : 1), col_step(cols == 1 ? 0 : rows) {
    if (node != nullptr) node->touch();
  }
};

// The density of one number (a scalar site's), with the three values kept in the backward
// step itself. Its arithmetic is the general loops' below, step for step (each operand's
// contribution summed from zero, then added), so that its values and gradients are bit for
// bit those of an entry of a larger batch.
Tensor scalar_normal_log_prob(const Operand& X, const Operand& L, const Operand& S) {
  const Scalar x = *X.value, l = *L.value, s = *S.value;
  const Scalar z = (x - l) / s;
  const Scalar log_s = std::log(s);
  const Scalar y = Scalar(-0.5) * z * z - log_s - kHalfLog2Pi;
  if (!X.requires_grad() && !L.requires_grad() && !S.requires_grad()) return Tensor(y);
  Node* node = tape().record(1, 1, [x, l, s, xn = X.node, ln = L.node, sn = S.node](Node& out) {
    const Scalar g = out.adj[0];
    const Scalar inv_s = 1 / s;
    const Scalar zs = (x - l) * inv_s;
    const Scalar dl = g * zs * inv_s;
    const Scalar ds = g * (zs * zs - 1) * inv_s;
    Scalar sum_x = 0, sum_l = 0, sum_s = 0;
    sum_x -= dl;
    sum_l += dl;
    sum_s += ds;
    // Into each operand's one entry as the general step adds into a touched adjoint.
    auto add = [](Node* n, Scalar sum) {
      if (n == nullptr) return;
      if (!n->touched) {
        n->adj[0] = 0;
        n->touched = true;
      }
      n->adj[0] += sum;
    };
    add(xn, sum_x);
    add(ln, sum_l);
    add(sn, sum_s);
  });
  node->value[0] = y;
  return Tensor::from_node(node);
}

// The density for operands that are not all one number (kept out of line: a scalar site's call
// then sets up none of its frame).
[[gnu::noinline]] Tensor batch_normal_log_prob(const Tensor& value, const Tensor& loc,
                                               const Tensor& scale) {
  const auto [rows, cols] = detail::broadcast_shape("Normal", {&value, &loc, &scale});
  const Operand X = Operand::of(value), L = Operand::of(loc), S = Operand::of(scale);
  if (rows == 1 && cols == 1) return scalar_normal_log_prob(X, L, S);
  const Strided xs(X.value, X.rows, X.cols), ls(L.value, L.rows, L.cols),
      ss(S.value, S.rows, S.cols);
  // Structured bindings are captured by copy explicitly: clang before 16 cannot capture them.
  auto fill = [&, rows = rows, cols = cols](Scalar* out) {
    for_each_column(cols, xs, ls, ss, [&]<bool VX, bool VL, bool VS>(Index j) {
      const Scalar *x = xs.column(j), *l = ls.column(j), *s = ss.column(j);
      Scalar* y = out + j * rows;
      // log(scale) once per column where the scale is one number along it.
      const Scalar column_log_s = VS ? Scalar(0) : std::log(s[0]);
      for (Index i = 0; i < rows; ++i) {
        const Scalar z = (x[VX ? i : 0] - l[VL ? i : 0]) / s[VS ? i : 0];
        y[i] = Scalar(-0.5) * z * z - (VS ? std::log(s[i]) : column_log_s) - kHalfLog2Pi;
      }
    });
  };
  if (!X.requires_grad() && !L.requires_grad() && !S.requires_grad()) {
    return constant_result(rows, cols, fill);
  }
  // The backward step reads the three operands as they are now.
  const Scalar *xv = X.stable(), *lv = L.stable(), *sv = S.stable();
  const Index xr = X.rows, xc = X.cols, lr = L.rows, lc = L.cols, sr = S.rows, sc = S.cols;
  return recorded_result(
      rows, cols, fill,
      [xv, lv, sv, xr, xc, lr, lc, sr, sc, xn = X.node, ln = L.node, sn = S.node](Node& y) {
        const Strided xs(xv, xr, xc), ls(lv, lr, lc), ss(sv, sr, sc);
        const GradTarget gx(xn, xr, xc), gl(ln, lr, lc), gs(sn, sr, sc);
        const Index rows = y.rows;
        // d/dx = -z / scale, d/dloc = z / scale, d/dscale = (z^2 - 1) / scale.
        for_each_column(y.cols, xs, ls, ss, [&]<bool VX, bool VL, bool VS>(Index j) {
          const Scalar *x = xs.column(j), *l = ls.column(j), *s = ss.column(j);
          const Scalar* g = y.adj + j * rows;
          Scalar* ax = gx.node != nullptr ? gx.node->adj + j * gx.col_step : nullptr;
          Scalar* al = gl.node != nullptr ? gl.node->adj + j * gl.col_step : nullptr;
          Scalar* as = gs.node != nullptr ? gs.node->adj + j * gs.col_step : nullptr;
          Scalar sum_x = 0, sum_l = 0, sum_s = 0;  // for operands broadcast along the rows
          for (Index i = 0; i < rows; ++i) {
            const Scalar inv_s = 1 / s[VS ? i : 0];
            const Scalar z = (x[VX ? i : 0] - l[VL ? i : 0]) * inv_s;
            const Scalar dl = g[i] * z * inv_s;
            const Scalar ds = g[i] * (z * z - 1) * inv_s;
            if constexpr (VX) {
              if (ax != nullptr) ax[i] -= dl;
            } else {
              sum_x -= dl;
            }
            if constexpr (VL) {
              if (al != nullptr) al[i] += dl;
            } else {
              sum_l += dl;
            }
            if constexpr (VS) {
              if (as != nullptr) as[i] += ds;
            } else {
              sum_s += ds;
            }
          }
          if (!VX && ax != nullptr) *ax += sum_x;
          if (!VL && al != nullptr) *al += sum_l;
          if (!VS && as != nullptr) *as += sum_s;
        });
      });
}

Tensor normal_log_prob(const Tensor& value, const Tensor& loc, const Tensor& scale) {
  if (value.size() == 1 && loc.size() == 1 && scale.size() == 1) {
    const Operand X = Operand::of(value), L = Operand::of(loc), S = Operand::of(scale);
    return scalar_normal_log_prob(X, L, S);
  }
  return batch_normal_log_prob(value, loc, scale);
}

}  // namespace

Normal::Normal(Tensor loc, Tensor scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("Normal", {&loc_, &scale_});
  validate_args([&] {
    detail::check_finite("Normal", "loc", loc_);
    detail::check_positive("Normal", "scale", scale_);
  });
}

Tensor Normal::rsample_impl(Rng& rng) const {
  return detail::location_scale(loc_, scale_, detail::standard_normal(rng, rows_, cols_));
}

Tensor Normal::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  return normal_log_prob(value, loc_, scale_);
}

DistributionPtr Normal::expand(Index rows, Index cols) const {
  if (rows_ != rows && rows_ != 1) return Distribution::expand(rows, cols);  // throws
  if (cols_ != cols && cols_ != 1) return Distribution::expand(rows, cols);
  // A copy keeps the checks' outcome; loc and scale stay as they are and broadcast against
  // the new batch shape where they are used (so no copies, and the log of a shared scale is
  // taken once, not per entry).
  auto out = std::make_shared<Normal>(*this);
  out->rows_ = rows;
  out->cols_ = cols;
  return out;
}

Tensor Normal::mean_impl() const { return detail::broadcast_to(loc_, rows_, cols_); }
Tensor Normal::variance_impl() const { return detail::broadcast_to(square(scale_), rows_, cols_); }
Tensor Normal::entropy_impl() const {
  return detail::broadcast_to(log(scale_) + (Scalar(0.5) + kHalfLog2Pi), rows_, cols_);
}

}  // namespace vesta
