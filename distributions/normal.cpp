#include <vesta/distributions/normal.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <boost/math/constants/constants.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
const Scalar kHalfLog2Pi = Scalar(0.5) * std::log(boost::math::constants::two_pi<double>());

}  // namespace

Normal::Normal(Tensor loc, Tensor scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("Normal", {&loc_, &scale_});
  validate_args([&] {
    detail::check_finite("Normal", "loc", loc_);
    detail::check_positive("Normal", "scale", scale_);
  });
}

Tensor Normal::rsample_impl(Rng& rng) const {
  return loc_ + scale_ * Tensor(rng.normal(rows_, cols_));
}

Tensor Normal::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  const Tensor z = (value - loc_) / scale_;
  return Scalar(-0.5) * square(z) - log(scale_) - kHalfLog2Pi;
}

DistributionPtr Normal::expand(Index rows, Index cols) const {
  return std::make_shared<Normal>(detail::broadcast_to(loc_, rows, cols),
                                  detail::broadcast_to(scale_, rows, cols));
}

Tensor Normal::mean_impl() const { return detail::broadcast_to(loc_, rows_, cols_); }
Tensor Normal::variance_impl() const { return detail::broadcast_to(square(scale_), rows_, cols_); }
Tensor Normal::entropy_impl() const {
  return detail::broadcast_to(log(scale_) + (Scalar(0.5) + kHalfLog2Pi), rows_, cols_);
}

}  // namespace vesta
