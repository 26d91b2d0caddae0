#include <vesta/distributions/poisson.hpp>

#include <cmath>

#include <boost/math/special_functions/gamma.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/gamma_reparam.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

using Policy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

// Uniform on (0, 1) with 53 bits whatever the Scalar, so that float builds draw the same
// discrete distribution.
double uniform_open(Rng& rng) {
  return (static_cast<double>(rng.next_u64() >> 11) + 0.5) * 0x1p-53;
}

// Below this rate, inversion (about rate + 1 steps); above, PTRS (constant expected time).
constexpr double kInversionMaxRate = 10;

// Inversion by sequential search from 0 (Devroye 1986, Non-Uniform Random Variate
// Generation, X.3). The search stops if the pmf underflows, which rounding of the running
// sum can leave a u above (probability about 1e-16).
double poisson_inversion(double rate, Rng& rng) {
  const double u = uniform_open(rng);
  double p = std::exp(-rate);
  double cdf = p;
  double k = 0;
  while (u > cdf) {
    k += 1;
    p *= rate / k;
    if (p == 0) break;
    cdf += p;
  }
  return k;
}

// PTRS, the transformed rejection method with squeeze of Hoermann (1993), "The transformed
// rejection method for generating Poisson random variables", Insurance: Mathematics and
// Economics 12, 39-45, for rate >= 10: a hat built from the inverse of a transformed
// Cauchy-like density, accepted at once in a central box (about 90% of draws), otherwise by
// comparing with the exact log pmf.
class Ptrs {
 public:
  explicit Ptrs(double rate)
      : rate_(rate),
        log_rate_(std::log(rate)),
        b_(0.931 + 2.53 * std::sqrt(rate)),
        a_(-0.059 + 0.02483 * b_),
        log_inv_alpha_(std::log(1.1239 + 1.1328 / (b_ - 3.4))),
        v_r_(0.9277 - 3.6224 / (b_ - 2)) {}

  double operator()(Rng& rng) const {
    for (;;) {
      const double u = uniform_open(rng) - 0.5;
      const double v = uniform_open(rng);
      const double us = 0.5 - std::abs(u);
      const double k = std::floor((2 * a_ / us + b_) * u + rate_ + 0.43);
      if (us >= 0.07 && v <= v_r_) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      const double log_pmf = -rate_ + k * log_rate_ - boost::math::lgamma(k + 1, Policy());
      if (std::log(v) + log_inv_alpha_ - std::log(a_ / (us * us) + b_) <= log_pmf) return k;
    }
  }

 private:
  double rate_, log_rate_, b_, a_, log_inv_alpha_, v_r_;
};

}  // namespace

Poisson::Poisson(Tensor rate) : rate_(std::move(rate)) {
  validate_args([&] {
    detail::check_each("Poisson", "rate", rate_, "nonnegative",
                       [](Scalar v) { return v >= 0 && std::isfinite(v); });
  });
}

Tensor Poisson::sample_impl(Rng& rng) const {
  const ConstMatrixMap rate = rate_.value();
  Matrix out(rate.rows(), rate.cols());
  // The PTRS constants are set up once per run of equal rates (an expanded batch is one run).
  double ptrs_rate = -1;
  Ptrs ptrs(kInversionMaxRate);
  for (Index k = 0; k < out.size(); ++k) {
    const double r = static_cast<double>(rate.data()[k]);
    double x;
    if (r < kInversionMaxRate) {
      x = poisson_inversion(r, rng);
    } else {
      if (r != ptrs_rate) ptrs = Ptrs(ptrs_rate = r);
      x = ptrs(rng);
    }
    out.data()[k] = static_cast<Scalar>(x);
  }
  return Tensor(std::move(out));
}

Tensor Poisson::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  return detail::xlogy(value, rate_) - rate_ - lgamma(value + Scalar(1));
}

DistributionPtr Poisson::expand(Index rows, Index cols) const {
  return std::make_shared<Poisson>(detail::broadcast_to(rate_, rows, cols));
}

}  // namespace vesta
