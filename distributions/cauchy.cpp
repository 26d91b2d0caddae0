#include <vesta/distributions/cauchy.hpp>

#include <cmath>
#include <tuple>

#include <boost/math/constants/constants.hpp>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
const Scalar kLogPi = static_cast<Scalar>(std::log(boost::math::constants::pi<double>()));

/// Standard Cauchy draws by the inverse CDF, tan(pi (u - 1/2)). In double even for float
/// Scalars, and u = 0 (which Rng::uniform can return) gives a huge but finite value, since
/// pi/2 is not exactly representable.
Tensor standard_cauchy(Rng& rng, Index rows, Index cols) {
  return constant_result(rows, cols, [&](Scalar* out) {
    rng.fill_uniform(out, rows * cols);
    for (Index k = 0; k < rows * cols; ++k) {
      const double u = out[k];
      out[k] = static_cast<Scalar>(std::tan(boost::math::constants::pi<double>() * (u - 0.5)));
    }
  });
}

}  // namespace

Cauchy::Cauchy(Tensor loc, Tensor scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("Cauchy", {&loc_, &scale_});
  validate_args([&] {
    detail::check_finite("Cauchy", "loc", loc_);
    detail::check_positive("Cauchy", "scale", scale_);
  });
}

Tensor Cauchy::rsample_impl(Rng& rng) const {
  return detail::location_scale(loc_, scale_, standard_cauchy(rng, rows_, cols_));
}

Tensor Cauchy::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  // p(x) = 1 / (pi s (1 + z^2)), z = (x - loc) / s.
  const Tensor z = (value - loc_) / scale_;
  return -log1p(square(z)) - log(scale_) - kLogPi;
}

DistributionPtr Cauchy::expand(Index rows, Index cols) const {
  return std::make_shared<Cauchy>(detail::broadcast_to(loc_, rows, cols),
                                  detail::broadcast_to(scale_, rows, cols));
}

Tensor Cauchy::entropy_impl() const {
  const Scalar log_4pi = static_cast<Scalar>(std::log(4 * boost::math::constants::pi<double>()));
  return detail::broadcast_to(log(scale_) + log_4pi, rows_, cols_);
}

}  // namespace vesta
