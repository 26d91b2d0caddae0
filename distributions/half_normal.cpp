#include <vesta/distributions/half_normal.hpp>

#include <cmath>

#include <boost/math/constants/constants.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
// log of the density's constant sqrt(2 / pi) (twice the Normal's, folded onto x >= 0).
const Scalar kHalfLog2OverPi = Scalar(0.5) * std::log(2.0 / boost::math::constants::pi<double>());
const Scalar kSqrt2OverPi =
    static_cast<Scalar>(std::sqrt(2.0 / boost::math::constants::pi<double>()));

}  // namespace

HalfNormal::HalfNormal(Tensor scale) : scale_(std::move(scale)) {
  validate_args([&] { detail::check_positive("HalfNormal", "scale", scale_); });
}

Tensor HalfNormal::rsample_impl(Rng& rng) const {
  // The noise is folded, not the product, so the gradient in scale is plainly |eps|.
  return scale_ * abs(detail::standard_normal(rng, rows(), cols()));
}

Tensor HalfNormal::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  return Scalar(-0.5) * square(value / scale_) - log(scale_) + kHalfLog2OverPi;
}

DistributionPtr HalfNormal::expand(Index rows, Index cols) const {
  return std::make_shared<HalfNormal>(detail::broadcast_to(scale_, rows, cols));
}

// E|X| = s sqrt(2/pi), E[X^2] = s^2, so Var = s^2 (1 - 2/pi); the entropy is the Normal's
// minus log 2: log(s) + (1 + log(pi / 2)) / 2.
Tensor HalfNormal::mean_impl() const { return scale_ * kSqrt2OverPi; }
Tensor HalfNormal::variance_impl() const {
  return square(scale_) * static_cast<Scalar>(1 - 2 / boost::math::constants::pi<double>());
}
Tensor HalfNormal::entropy_impl() const {
  return log(scale_) +
         static_cast<Scalar>(0.5 * (1 + std::log(boost::math::constants::half_pi<double>())));
}

}  // namespace vesta
