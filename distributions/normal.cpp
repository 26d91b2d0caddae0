#include <vesta/distributions/normal.hpp>

#include <algorithm>
#include <cmath>

#include <boost/math/constants/constants.hpp>
#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/validation.hpp>

namespace vesta {

namespace {
const Scalar kHalfLog2Pi = Scalar(0.5) * std::log(boost::math::constants::two_pi<double>());

// The broadcast of two shapes (each dimension equal, or 1), or a ShapeError naming both.
std::pair<Index, Index> broadcast_shape(const char* what, const Tensor& a, const Tensor& b) {
  auto dim = [&](Index x, Index y) {
    if (x == y || y == 1) return x;
    if (x == 1) return y;
    throw ShapeError(fmt::format("{}: shapes {} and {} do not broadcast", what, a.shape(), b.shape()));
  };
  return {dim(a.rows(), b.rows()), dim(a.cols(), b.cols())};
}
}  // namespace

Normal::Normal(Tensor loc, Tensor scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
  std::tie(rows_, cols_) = broadcast_shape("Normal(loc, scale)", loc_, scale_);
  if (validation_enabled()) {
    detail::check_finite("Normal", "loc", loc_);
    detail::check_positive("Normal", "scale", scale_);
  }
}

Tensor Normal::rsample(Rng& rng) const {
  return loc_ + scale_ * Tensor(rng.normal(rows_, cols_));
}

Tensor Normal::log_prob(const Tensor& value) const {
  const Tensor z = (value - loc_) / scale_;
  return Scalar(-0.5) * square(z) - log(scale_) - kHalfLog2Pi;
}

DistributionPtr Normal::expand(Index rows, Index cols) const {
  const Tensor zeros = Tensor::zeros(rows, cols);
  broadcast_shape("Normal::expand", Tensor::zeros(rows_, cols_), zeros);
  return std::make_shared<Normal>(loc_ + zeros, scale_ + zeros);
}

Tensor Normal::mean() const { return loc_ + Tensor::zeros(rows_, cols_); }
Tensor Normal::variance() const { return square(scale_) + Tensor::zeros(rows_, cols_); }
Tensor Normal::entropy() const {
  return log(scale_) + (Scalar(0.5) + kHalfLog2Pi) + Tensor::zeros(rows_, cols_);
}

}  // namespace vesta
