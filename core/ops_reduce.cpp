// Reductions: sums and means over everything, each row or each column, and the stable
// log-sum-exp family (shifted by the maximum so that exp never overflows).
#include <cmath>
#include <limits>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

namespace {

using Column = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

// A reduction y = f(x) of shape rows x cols whose backward adds df(g, x, y) to x, where g
// and y are the result's adjoint and value and x the input's values, all as arrays.
template <class F, class DF>
Tensor reduction(const Tensor& x, Index rows, Index cols, F f, DF df) {
  const Operand X = Operand::of(x);
  auto fill = [&](Scalar* out) { ArrayMap(out, rows, cols) = f(X.array()); };
  if (!X.requires_grad()) return constant_result(rows, cols, fill);
  return recorded_result(rows, cols, fill, [xn = X.node, df](Node& y) {
    const ConstArrayMap g(y.adj, y.rows, y.cols);
    xn->accumulate(df(g, xn->value_array(), y.value_array()));
  });
}

// max, or 0 when the max is not finite (all entries -inf): the shift for log-sum-exp.
template <class V>
Scalar lse_shift(const V& v) {
  if (v.size() == 0) return 0;
  const Scalar m = v.maxCoeff();
  return std::isfinite(m) ? m : Scalar(0);
}

// exp(x - lse) with the convention that a row whose lse is -inf (all -inf) has weight 0.
template <class X, class L>
auto softmax_weights(const X& x, const L& lse) {
  return (lse == -std::numeric_limits<Scalar>::infinity()).select(Scalar(0), (x - lse).exp());
}

// Each row's shift m (its maximum, or 0 when that is not finite) and log(sum(exp(x - m))):
// logsumexp is their sum. Kept apart so log_softmax can subtract them one after the other,
// which loses no precision to the magnitude of m.
struct RowLse {
  Column shift;
  Column log_sum;
};

template <class V>
RowLse row_lse_parts(const V& v) {
  Column m = v.rowwise().maxCoeff();
  m = m.isFinite().select(m, Scalar(0));
  Column l = (v.colwise() - m).exp().rowwise().sum().log();
  return {std::move(m), std::move(l)};
}

}  // namespace

Tensor sum(const Tensor& x) {
  return reduction(
      x, 1, 1, [](const auto& v) { return Array::Constant(1, 1, v.sum()); },
      [](const auto& g, const auto& v, const auto&) {
        return Array::Constant(v.rows(), v.cols(), g(0, 0));
      });
}

Tensor sum_of(std::span<const Tensor> terms) {
  return weighted_sum(
      terms.size(), [&](std::size_t k) -> const Tensor& { return terms[k]; }, nullptr);
}

Tensor sum_of(std::span<const Tensor> terms, std::span<const Scalar> weights) {
  if (weights.size() != terms.size()) {
    throw ShapeError(fmt::format("sum_of: {} terms but {} weights", terms.size(), weights.size()));
  }
  return weighted_sum(
      terms.size(), [&](std::size_t k) -> const Tensor& { return terms[k]; },
      [&](std::size_t k) { return weights[k]; });
}

Tensor mean(const Tensor& x) {
  if (x.size() == 0) throw ShapeError("mean: the Tensor is empty (0 elements)");
  return reduction(
      x, 1, 1, [](const auto& v) { return Array::Constant(1, 1, v.mean()); },
      [](const auto& g, const auto& v, const auto&) {
        return Array::Constant(v.rows(), v.cols(), g(0, 0) / Scalar(v.size()));
      });
}

Tensor rowwise_sum(const Tensor& x) {
  const Operand X = Operand::of(x);
  auto fill = [&](Scalar* out) { ArrayMap(out, X.rows, 1) = X.array().rowwise().sum(); };
  if (!X.requires_grad()) return constant_result(X.rows, 1, fill);
  // Every column of x receives the result's adjoint. Written column by column: each is one
  // vectorised copy, where Eigen's replicate of a runtime-sized array indexes entry by entry.
  return recorded_result(X.rows, 1, fill, [xn = X.node](Node& y) {
    const Eigen::Map<const Column> g(y.adj, y.rows);
    const bool add = xn->touched;
    for (Index j = 0; j < xn->cols; ++j) {
      Eigen::Map<Column> column(xn->adj + j * y.rows, y.rows);
      if (add) {
        column += g;
      } else {
        column = g;
      }
    }
    xn->touched = true;
  });
}

Tensor rowwise_mean(const Tensor& x) {
  if (x.cols() == 0) throw ShapeError(fmt::format("rowwise_mean: the Tensor is {}", x.shape()));
  return reduction(
      x, x.rows(), 1, [](const auto& v) { return v.rowwise().mean(); },
      [](const auto& g, const auto& v, const auto&) {
        return g.replicate(1, v.cols()) / Scalar(v.cols());
      });
}

Tensor colwise_sum(const Tensor& x) {
  return reduction(
      x, 1, x.cols(), [](const auto& v) { return v.colwise().sum(); },
      [](const auto& g, const auto& v, const auto&) { return g.replicate(v.rows(), 1); });
}

Tensor colwise_mean(const Tensor& x) {
  if (x.rows() == 0) throw ShapeError(fmt::format("colwise_mean: the Tensor is {}", x.shape()));
  return reduction(
      x, 1, x.cols(), [](const auto& v) { return v.colwise().mean(); },
      [](const auto& g, const auto& v, const auto&) {
        return g.replicate(v.rows(), 1) / Scalar(v.rows());
      });
}

Tensor logsumexp(const Tensor& x) {
  return reduction(
      x, 1, 1,
      [](const auto& v) {
        const Scalar m = lse_shift(v);
        return Array::Constant(1, 1, m + std::log((v - m).exp().sum()));
      },
      [](const auto& g, const auto& v, const auto& y) {
        return g(0, 0) * softmax_weights(v, Array::Constant(v.rows(), v.cols(), y(0, 0)));
      });
}

Tensor rowwise_logsumexp(const Tensor& x) {
  return reduction(
      x, x.rows(), 1,
      [](const auto& v) -> Array {
        const RowLse p = row_lse_parts(v);
        return p.shift + p.log_sum;
      },
      [](const auto& g, const auto& v, const auto& y) {
        return g.replicate(1, v.cols()) * softmax_weights(v, y.replicate(1, v.cols()));
      });
}

Tensor rowwise_log_softmax(const Tensor& x) {
  // y = x - logsumexp(row); dy/dx applied to g: g - softmax * rowsum(g), softmax = exp(y).
  return reduction(
      x, x.rows(), x.cols(),
      [](const auto& v) -> Array {
        const RowLse p = row_lse_parts(v);
        return (v.colwise() - p.shift).colwise() - p.log_sum;
      },
      [](const auto& g, const auto&, const auto& y) {
        return g - y.exp() * g.rowwise().sum().replicate(1, g.cols());
      });
}

}  // namespace vesta
