#include <vesta/distributions/delta.hpp>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

Delta::Delta(Tensor value, Tensor log_density, int event_dim)
    : value_(std::move(value)), log_density_(std::move(log_density)), event_dim_(event_dim) {
  if (event_dim_ < 0 || event_dim_ > 2) {
    throw ValueError(fmt::format("Delta: event_dim is {}, but must be 0, 1 or 2", event_dim_));
  }
  const Index br = batch_rows();
  const Index bc = batch_cols();
  if ((log_density_.rows() != br && log_density_.rows() != 1) ||
      (log_density_.cols() != bc && log_density_.cols() != 1)) {
    throw ShapeError(
        fmt::format("Delta: log_density is {}, but must broadcast to the batch shape {} "
                    "(value {}, event_dim {})",
                    log_density_.shape(), shape_str(br, bc), value_.shape(), event_dim_));
  }
  validate_args([&] {
    detail::check_each("Delta", "value", value_, "real (not NaN)",
                       [](Scalar v) { return !std::isnan(v); });
    detail::check_each("Delta", "log_density", log_density_, "real (not NaN)",
                       [](Scalar v) { return !std::isnan(v); });
  });
}

Tensor Delta::rsample_impl(Rng&) const { return value_; }

Tensor Delta::log_prob_impl(const Tensor& x) const {
  validate_sample(x);
  const ConstMatrixMap xv = x.value();
  const ConstMatrixMap v = value_.value();
  if ((xv.rows() != v.rows() && xv.rows() != 1 && v.rows() != 1) ||
      (xv.cols() != v.cols() && xv.cols() != 1 && v.cols() != 1)) {
    throw ShapeError(fmt::format("Delta: value {} does not broadcast against the point {}",
                                 x.shape(), value_.shape()));
  }
  // 0 where the entries agree and -inf where they differ; summing over the event (as
  // Independent does) leaves -inf for an event with any differing entry.
  const Index R = std::max(xv.rows(), v.rows());
  const Index C = std::max(xv.cols(), v.cols());
  Matrix lp(R, C);
  for (Index j = 0; j < C; ++j) {
    for (Index i = 0; i < R; ++i) {
      const Scalar a = xv(xv.rows() == 1 ? 0 : i, xv.cols() == 1 ? 0 : j);
      const Scalar b = v(v.rows() == 1 ? 0 : i, v.cols() == 1 ? 0 : j);
      lp(i, j) = a == b ? Scalar(0) : -std::numeric_limits<Scalar>::infinity();
    }
  }
  Tensor per_entry(std::move(lp));
  if (event_dim_ == 1) per_entry = rowwise_sum(per_entry);
  if (event_dim_ == 2) per_entry = sum(per_entry);
  return per_entry + log_density_;
}

DistributionPtr Delta::expand(Index rows, Index cols) const {
  // rows x cols is the new draw shape; log_density broadcasts against the new batch shape.
  if ((value_.rows() != rows && value_.rows() != 1) ||
      (value_.cols() != cols && value_.cols() != 1)) {
    return Distribution::expand(rows, cols);  // throws ShapeError naming both shapes
  }
  return std::make_shared<Delta>(detail::broadcast_to(value_, rows, cols), log_density_,
                                 event_dim_);
}

Tensor Delta::variance_impl() const { return Tensor::zeros(rows(), cols()); }

}  // namespace vesta
