#include <vesta/distributions/log_normal.hpp>

#include <cmath>
#include <tuple>

#include <boost/math/constants/constants.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
const Scalar kHalfLog2Pi = Scalar(0.5) * std::log(boost::math::constants::two_pi<double>());

}  // namespace

LogNormal::LogNormal(Tensor loc, Tensor scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("LogNormal", {&loc_, &scale_});
  validate_args([&] {
    detail::check_finite("LogNormal", "loc", loc_);
    detail::check_positive("LogNormal", "scale", scale_);
  });
}

Tensor LogNormal::rsample_impl(Rng& rng) const {
  return exp(detail::location_scale(loc_, scale_, detail::standard_normal(rng, rows_, cols_)));
}

Tensor LogNormal::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  // The Normal density of log(x) times the Jacobian 1/x of the log.
  const Tensor log_x = log(value);
  const Tensor z = (log_x - loc_) / scale_;
  return Scalar(-0.5) * square(z) - log(scale_) - log_x - kHalfLog2Pi;
}

DistributionPtr LogNormal::expand(Index rows, Index cols) const {
  return std::make_shared<LogNormal>(detail::broadcast_to(loc_, rows, cols),
                                     detail::broadcast_to(scale_, rows, cols));
}

// Moments: E[X] = exp(mu + s^2/2), Var[X] = (exp(s^2) - 1) exp(2 mu + s^2); expm1 keeps the
// variance accurate for small s.
Tensor LogNormal::mean_impl() const {
  return detail::broadcast_to(exp(loc_ + Scalar(0.5) * square(scale_)), rows_, cols_);
}
Tensor LogNormal::variance_impl() const {
  const Tensor s2 = square(scale_);
  return detail::broadcast_to(expm1(s2) * exp(Scalar(2) * loc_ + s2), rows_, cols_);
}
// The Normal's entropy plus E[log X] = mu (the entropy of exp(Y) is H(Y) + E[Y]).
Tensor LogNormal::entropy_impl() const {
  return detail::broadcast_to(loc_ + log(scale_) + (Scalar(0.5) + kHalfLog2Pi), rows_, cols_);
}

}  // namespace vesta
