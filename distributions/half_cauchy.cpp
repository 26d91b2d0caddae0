#include <vesta/distributions/half_cauchy.hpp>

#include <cmath>

#include <boost/math/constants/constants.hpp>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
/// |standard Cauchy| draws, |tan(pi (u - 1/2))|, in double even for float Scalars; u = 0
/// (which Rng::uniform can return) gives a huge but finite value.
Tensor standard_half_cauchy(Rng& rng, Index rows, Index cols) {
  return constant_result(rows, cols, [&](Scalar* out) {
    rng.fill_uniform(out, rows * cols);
    for (Index k = 0; k < rows * cols; ++k) {
      const double u = out[k];
      out[k] =
          static_cast<Scalar>(std::abs(std::tan(boost::math::constants::pi<double>() * (u - 0.5))));
    }
  });
}

}  // namespace

HalfCauchy::HalfCauchy(Tensor scale) : scale_(std::move(scale)) {
  validate_args([&] { detail::check_positive("HalfCauchy", "scale", scale_); });
}

Tensor HalfCauchy::rsample_impl(Rng& rng) const {
  return scale_ * standard_half_cauchy(rng, rows(), cols());
}

Tensor HalfCauchy::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  // Twice the Cauchy density on x >= 0: p(x) = 2 / (pi s (1 + (x / s)^2)).
  const Scalar log_2_over_pi =
      static_cast<Scalar>(std::log(2 / boost::math::constants::pi<double>()));
  return log_2_over_pi - log(scale_) - log1p(square(value / scale_));
}

DistributionPtr HalfCauchy::expand(Index rows, Index cols) const {
  return std::make_shared<HalfCauchy>(detail::broadcast_to(scale_, rows, cols));
}

// The Cauchy's entropy log(4 pi s) minus log 2, as for any distribution folded at its centre.
Tensor HalfCauchy::entropy_impl() const {
  return log(scale_) + static_cast<Scalar>(std::log(2 * boost::math::constants::pi<double>()));
}

}  // namespace vesta
