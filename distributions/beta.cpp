#include <vesta/distributions/beta.hpp>

#include <cmath>
#include <limits>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/gamma_reparam.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
Tensor draw(const Tensor& c1, const Tensor& c0, Index rows, Index cols, Rng& rng) {
  // G1 / (G1 + G0) with independent G ~ Gamma(c, 1): the gradients reach c1 and c0 through
  // the Gammas' implicit reparameterisation (Figurnov et al. 2018). The ratio is kept inside
  // the open interval, as in Pyro, so that log_prob is finite at every draw: it rounds to 1
  // when G0 is below G1 times the precision.
  const Tensor g1 = detail::standard_gamma(detail::broadcast_to(c1, rows, cols), rng);
  const Tensor g0 = detail::standard_gamma(detail::broadcast_to(c0, rows, cols), rng);
  return clamp(g1 / (g1 + g0), std::numeric_limits<Scalar>::min(),
               std::nextafter(Scalar(1), Scalar(0)));
}
}  // namespace

Beta::Beta(Tensor concentration1, Tensor concentration0)
    : concentration1_(std::move(concentration1)), concentration0_(std::move(concentration0)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("Beta", {&concentration1_, &concentration0_});
  validate_args([&] {
    detail::check_positive("Beta", "concentration1", concentration1_);
    detail::check_positive("Beta", "concentration0", concentration0_);
  });
}

Tensor Beta::rsample_impl(Rng& rng) const {
  return draw(concentration1_, concentration0_, rows_, cols_, rng);
}

Tensor Beta::sample_impl(Rng& rng) const {
  return draw(concentration1_.detach(), concentration0_.detach(), rows_, cols_, rng);
}

Tensor Beta::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  const Tensor& a = concentration1_;
  const Tensor& b = concentration0_;
  // x log y forms: a density with a = 1 (or b = 1) is finite at x = 0 (or 1).
  return detail::xlogy(a - Scalar(1), value) + detail::xlog1py(b - Scalar(1), -value) -
         (lgamma(a) + lgamma(b) - lgamma(a + b));
}

DistributionPtr Beta::expand(Index rows, Index cols) const {
  return std::make_shared<Beta>(detail::broadcast_to(concentration1_, rows, cols),
                                detail::broadcast_to(concentration0_, rows, cols));
}

Tensor Beta::mean_impl() const {
  return detail::broadcast_to(concentration1_ / (concentration1_ + concentration0_), rows_, cols_);
}

Tensor Beta::variance_impl() const {
  const Tensor total = concentration1_ + concentration0_;
  return detail::broadcast_to(
      concentration1_ * concentration0_ / (square(total) * (total + Scalar(1))), rows_, cols_);
}

Tensor Beta::entropy_impl() const {
  const Tensor& a = concentration1_;
  const Tensor& b = concentration0_;
  const Tensor total = a + b;
  return detail::broadcast_to(lgamma(a) + lgamma(b) - lgamma(total) - (a - Scalar(1)) * digamma(a) -
                                  (b - Scalar(1)) * digamma(b) +
                                  (total - Scalar(2)) * digamma(total),
                              rows_, cols_);
}

}  // namespace vesta
