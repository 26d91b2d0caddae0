#include <vesta/distributions/categorical.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

// How far a row of probabilities may sum from 1: a few roundings per entry, but no less
// than the simplex constraint's tolerance.
Scalar sum_tolerance(Index k) {
  const Scalar eps = std::numeric_limits<Scalar>::epsilon();
  return std::max(Scalar(sizeof(Scalar) == 4 ? 1e-5 : 1e-10), Scalar(4 * k) * eps);
}

// y[r] = x(r, idx[r]): one entry per row, with x's single row or idx's single entry
// broadcast against the other. The gradient goes to the picked entries only. (A one-hot
// mask with rowwise_sum would do the same with an R x K constant, and would turn a -inf
// log-probability in an unpicked column into NaN.)
Tensor pick_columns(const Tensor& x, const std::vector<Index>& idx) {
  const Operand X = Operand::of(x);
  const Index m = static_cast<Index>(idx.size());
  const Index n = std::max(X.rows, m);
  const bool one_row = X.rows == 1;
  const bool one_index = m == 1;
  auto fill = [&](Scalar* out) {
    const ConstMatrixMap v = X.matrix();
    for (Index r = 0; r < n; ++r) {
      out[r] = v(one_row ? 0 : r, idx[static_cast<std::size_t>(one_index ? 0 : r)]);
    }
  };
  if (!X.requires_grad()) return constant_result(n, 1, fill);
  Index* ix = tape().allocate<Index>(idx.size());
  std::copy(idx.begin(), idx.end(), ix);
  return recorded_result(n, 1, fill, [xn = X.node, ix, one_row, one_index](Node& y) {
    xn->touch();
    MatrixMap dx = xn->adj_matrix();
    for (Index r = 0; r < y.rows; ++r) dx(one_row ? 0 : r, ix[one_index ? 0 : r]) += y.adj[r];
  });
}

// A constant 0/1 mask of the entries of `t` that satisfy `pred`, as a `where` condition.
template <class Pred>
Tensor mask(const Tensor& t, Pred pred) {
  return Tensor(Matrix(t.value().unaryExpr([&](Scalar v) { return Scalar(pred(v) ? 1 : 0); })));
}

}  // namespace

Categorical::Categorical(Tensor param, bool is_logits, const char* family)
    : param_(std::move(param)), is_logits_(is_logits) {
  const char* arg = is_logits_ ? "logits" : "probs";
  if (param_.cols() == 0) {
    throw ShapeError(
        fmt::format("{}: {} is {}, but needs a column for each category (at least one)", family,
                    arg, param_.shape()));
  }
  validate_args([&] {
    const ConstMatrixMap v = param_.value();
    if (is_logits_) {
      detail::check_each(family, arg, param_, "finite or -inf", [](Scalar x) {
        return !std::isnan(x) && x != std::numeric_limits<Scalar>::infinity();
      });
      for (Index r = 0; r < v.rows(); ++r) {
        if (v.row(r).maxCoeff() == -std::numeric_limits<Scalar>::infinity()) {
          throw ValueError(
              fmt::format("{}: logits row {} is all -inf, but must give some category a "
                          "positive probability",
                          family, r));
        }
      }
    } else {
      detail::check_probability(family, arg, param_);
      const Scalar tol = sum_tolerance(v.cols());
      for (Index r = 0; r < v.rows(); ++r) {
        const Scalar s = v.row(r).sum();
        if (!(std::abs(s - 1) <= tol)) {
          throw ValueError(
              fmt::format("{}: probs row {} sums to {}, but must sum to 1", family, r, s));
        }
      }
    }
  });
}

Categorical Categorical::from_probs(Tensor probs) { return Categorical(std::move(probs), false); }
Categorical Categorical::from_logits(Tensor logits) { return Categorical(std::move(logits), true); }

ConstraintPtr Categorical::support() const {
  return constraints::integer_interval(0, Scalar(num_categories() - 1));
}

Tensor Categorical::probs() const { return is_logits_ ? exp(rowwise_log_softmax(param_)) : param_; }

Tensor Categorical::logits() const {
  return is_logits_ ? rowwise_log_softmax(param_) : log(param_);
}

std::vector<Index> Categorical::draw_indices(Rng& rng) const {
  const ConstMatrixMap t = param_.value();
  const Index R = t.rows();
  const Index K = t.cols();
  std::vector<Index> out(static_cast<std::size_t>(R));
  Eigen::Array<Scalar, 1, Eigen::Dynamic> w(K);
  const Matrix u = rng.uniform(R, 1);
  for (Index r = 0; r < R; ++r) {
    // Unnormalised weights: probabilities, or exp(logits - max) (which cannot overflow).
    if (is_logits_) {
      w = (t.row(r).array() - t.row(r).maxCoeff()).exp();
    } else {
      w = t.row(r).array();
    }
    // Inverse CDF: the first category whose cumulative weight exceeds u * total. A zero
    // weight never adds to the sum, so its category cannot be chosen. Rounding can leave
    // u * total at or past the last cumulative sum: then the last positive category wins.
    const Scalar target = u(r, 0) * w.sum();
    Scalar cumulative = 0;
    Index chosen = -1;
    Index last_positive = 0;
    for (Index k = 0; k < K; ++k) {
      if (w(k) > 0) last_positive = k;
      cumulative += w(k);
      if (target < cumulative) {
        chosen = k;
        break;
      }
    }
    out[static_cast<std::size_t>(r)] = chosen >= 0 ? chosen : last_positive;
  }
  return out;
}

Tensor Categorical::sample_impl(Rng& rng) const {
  const std::vector<Index> idx = draw_indices(rng);
  Matrix x(rows(), 1);
  for (Index r = 0; r < x.rows(); ++r) x(r, 0) = Scalar(idx[static_cast<std::size_t>(r)]);
  return Tensor(std::move(x));
}

Tensor Categorical::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  const Index R = rows();
  if (value.cols() != 1 || (value.rows() != R && value.rows() != 1 && R != 1)) {
    throw ShapeError(
        fmt::format("Categorical: value is {}, but must be a column of category indices "
                    "that broadcasts against the batch shape {}",
                    value.shape(), shape_str(R, 1)));
  }
  // Checked even without validation: the index addresses memory.
  const ConstMatrixMap v = value.value();
  const Index K = num_categories();
  std::vector<Index> idx(static_cast<std::size_t>(v.rows()));
  for (Index r = 0; r < v.rows(); ++r) {
    if (!(v(r, 0) >= 0 && v(r, 0) < Scalar(K))) {
      throw ValueError(fmt::format("Categorical: value[{}] is {}, but must be a category in 0..{}",
                                   r, v(r, 0), K - 1));
    }
    idx[static_cast<std::size_t>(r)] = static_cast<Index>(v(r, 0));
  }
  // From probs, the log of the picked probability only: log of an unpicked 0 would make the
  // gradient NaN.
  if (!is_logits_) return log(pick_columns(param_, idx));
  return pick_columns(rowwise_log_softmax(param_), idx);
}

Tensor Categorical::enumerate_log_prob_impl() const {
  if (broadcast_row_.empty()) return logits();
  return is_logits_ ? rowwise_log_softmax(broadcast_row_) : log(broadcast_row_);
}

Tensor Categorical::enumerate_support() const {
  Matrix values(1, num_categories());
  for (Index k = 0; k < values.cols(); ++k) values(0, k) = Scalar(k);
  return Tensor(std::move(values));
}

DistributionPtr Categorical::expand(Index rows, Index cols) const {
  if (cols != 1 || (rows != param_.rows() && param_.rows() != 1)) {
    return Distribution::expand(rows, cols);  // throws ShapeError naming both shapes
  }
  // A copy keeps the checks' outcome (the rows are copies of checked ones), and the row
  // that was broadcast, from which enumeration scores every value once rather than per row.
  auto out = std::make_shared<Categorical>(*this);
  out->param_ = detail::broadcast_to(param_, rows, num_categories());
  if (param_.rows() == 1 && rows > 1) out->broadcast_row_ = param_;
  return out;
}

Tensor Categorical::entropy_impl() const {
  // -sum_k p_k log p_k with 0 log 0 = 0: the log-probability of a category with p_k = 0 is
  // replaced by 0 before the product (from logits) or its log sees 1 (from probs), so
  // neither the value nor the gradient becomes NaN.
  if (is_logits_) {
    const Tensor lp = rowwise_log_softmax(param_);
    const Tensor possible =
        mask(lp, [](Scalar x) { return x > -std::numeric_limits<Scalar>::infinity(); });
    return -rowwise_sum(exp(lp) * where(possible, lp, 0));
  }
  const Tensor positive = mask(param_, [](Scalar x) { return x > 0; });
  return -rowwise_sum(param_ * log(where(positive, param_, 1)));
}

}  // namespace vesta
