#include <vesta/distributions/uniform.hpp>

#include <limits>
#include <string>
#include <tuple>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
/// Entry (i, j) of a broadcast shape, read from a matrix whose rows and columns are each
/// either the full size or 1 (broadcast).
Index source_row(const ConstMatrixMap& m, Index i) { return m.rows() == 1 ? 0 : i; }
Index source_col(const ConstMatrixMap& m, Index j) { return m.cols() == 1 ? 0 : j; }
Scalar at(const ConstMatrixMap& m, Index i, Index j) {
  return m(source_row(m, i), source_col(m, j));
}

/// The index of that entry as params' messages write it: "" for a 1x1, "[k]" (flat) for a
/// vector, "[r, c]" for a matrix.
std::string label(const ConstMatrixMap& m, Index i, Index j) {
  return entry_str(m.rows(), m.cols(), source_row(m, i), source_col(m, j));
}

}  // namespace

Uniform::Uniform(Tensor low, Tensor high) : low_(std::move(low)), high_(std::move(high)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("Uniform", {&low_, &high_});
  const ConstMatrixMap lo = low_.value(), hi = high_.value();
  validate_args([&] {
    detail::check_finite("Uniform", "low", low_);
    detail::check_finite("Uniform", "high", high_);
    for (Index j = 0; j < cols_; ++j) {
      for (Index i = 0; i < rows_; ++i) {
        if (at(lo, i, j) < at(hi, i, j)) continue;
        throw ValueError(
            fmt::format("Uniform: low{} is {}, but must be less than high{}, which is {}",
                        label(lo, i, j), at(lo, i, j), label(hi, i, j), at(hi, i, j)));
      }
    }
  });
  // Empty bounds (a 0-entry batch) have no extremes; any valid interval will do.
  support_low_ = lo.size() > 0 ? lo.minCoeff() : Scalar(0);
  support_high_ = hi.size() > 0 ? hi.maxCoeff() : Scalar(1);
}

ConstraintPtr Uniform::support() const {
  return constraints::interval(support_low_, support_high_);
}

Tensor Uniform::rsample_impl(Rng& rng) const {
  return low_ + (high_ - low_) * detail::standard_uniform(rng, rows_, cols_);
}

Tensor Uniform::log_prob_impl(const Tensor& value) const {
  validate_sample(value);  // against the interval holding all entries' bounds
  const ConstMatrixMap v = value.value(), lo = low_.value(), hi = high_.value();
  auto joint = [](Index a, Index b) { return a == 1 ? b : a; };
  const Index out_rows = joint(v.rows(), rows_), out_cols = joint(v.cols(), cols_);
  auto fits = [](Index n, Index full) { return n == full || n == 1; };
  if (!fits(v.rows(), out_rows) || !fits(v.cols(), out_cols) || !fits(rows_, out_rows) ||
      !fits(cols_, out_cols)) {
    throw ShapeError(
        fmt::format("Uniform: a value of shape {} does not broadcast against the batch shape {}",
                    value.shape(), shape_str(rows_, cols_)));
  }
  // Each value against its own entry's bounds (the support check above only knows the
  // outermost ones).
  Matrix inside(out_rows, out_cols);
  for (Index j = 0; j < out_cols; ++j) {
    for (Index i = 0; i < out_rows; ++i) {
      const Scalar x = at(v, i, j), a = at(lo, i, j), b = at(hi, i, j);
      const bool ok = x >= a && x <= b;
      if (!ok && validation_enabled()) {
        throw ValueError(
            fmt::format("Uniform: value{} is {}, but must be in [low{}, high{}] = [{}, {}]",
                        label(v, i, j), x, label(lo, i, j), label(hi, i, j), a, b));
      }
      inside(i, j) = ok ? 1 : 0;
    }
  }
  return where(Tensor(std::move(inside)), -log(high_ - low_),
               Tensor(-std::numeric_limits<Scalar>::infinity()));
}

DistributionPtr Uniform::expand(Index rows, Index cols) const {
  return std::make_shared<Uniform>(detail::broadcast_to(low_, rows, cols),
                                   detail::broadcast_to(high_, rows, cols));
}

Tensor Uniform::mean_impl() const {
  return detail::broadcast_to(Scalar(0.5) * (low_ + high_), rows_, cols_);
}
Tensor Uniform::variance_impl() const {
  return detail::broadcast_to(square(high_ - low_) / Scalar(12), rows_, cols_);
}
Tensor Uniform::entropy_impl() const {
  return detail::broadcast_to(log(high_ - low_), rows_, cols_);
}

}  // namespace vesta
