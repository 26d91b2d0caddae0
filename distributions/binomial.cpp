#include <vesta/distributions/binomial.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <boost/math/special_functions/gamma.hpp>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/gamma_reparam.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

using Policy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;

double lgamma_d(double x) { return boost::math::lgamma(x, Policy()); }

// Uniform on (0, 1) with 53 bits whatever the Scalar, so that float builds draw the same
// discrete distribution.
double uniform_open(Rng& rng) {
  return (static_cast<double>(rng.next_u64() >> 11) + 0.5) * 0x1p-53;
}

// Below this mean n min(p, 1-p), inversion (about mean + 1 steps); above, BTRS.
constexpr double kInversionMaxMean = 10;

// Draws Binomial(n, p) for p <= 1/2 (the caller reflects larger p).
class BinomialSampler {
 public:
  BinomialSampler(double n, double p) : n_(n), p_(p) {
    const double q = 1 - p;
    if (n * p < kInversionMaxMean) {
      // BINV, inversion by sequential search (Kachitvichyanukul & Schmeiser 1988, "Binomial
      // random variate generation", CACM 31, 216-222), with the pmf recurrence
      // f(x) = f(x-1) ((n+1) s / x - s), s = p / q, from f(0) = q^n.
      inversion_ = true;
      s_ = p / q;
      a_ = (n + 1) * s_;
      f0_ = std::exp(n * std::log1p(-p));
      return;
    }
    // BTRS, transformed rejection with squeeze (Hoermann 1993, "The generation of binomial
    // random variates", J. Statist. Comput. Simul. 46, 101-110), for n p >= 10.
    const double spq = std::sqrt(n * p * q);
    b_ = 1.15 + 2.53 * spq;
    a_ = -0.0873 + 0.0248 * b_ + 0.01 * p;
    c_ = n * p + 0.5;
    log_alpha_ = std::log((2.83 + 5.1 / b_) * spq);
    v_r_ = 0.92 - 4.2 / b_;
    m_ = std::floor((n + 1) * p);
    h_ = lgamma_d(m_ + 1) + lgamma_d(n - m_ + 1);
    log_odds_ = std::log(p / q);
  }

  double operator()(Rng& rng) const {
    if (p_ == 0 || n_ == 0) return 0;
    return inversion_ ? invert(rng) : reject(rng);
  }

 private:
  double invert(Rng& rng) const {
    for (;;) {
      double u = uniform_open(rng);
      double f = f0_;
      for (double x = 0; x <= n_; x += 1) {
        if (u <= f) return x;
        u -= f;
        f *= a_ / (x + 1) - s_;
        if (f == 0) break;
      }
      // Rounding left u above the mass before the pmf underflowed: start again (probability
      // about 1e-16).
    }
  }

  double reject(Rng& rng) const {
    for (;;) {
      const double u = uniform_open(rng) - 0.5;
      const double v = uniform_open(rng);
      const double us = 0.5 - std::abs(u);
      const double k = std::floor((2 * a_ / us + b_) * u + c_);
      if (k < 0 || k > n_) continue;
      if (us >= 0.07 && v <= v_r_) return k;
      const double log_v = std::log(v) + log_alpha_ - std::log(a_ / (us * us) + b_);
      if (log_v <= h_ - lgamma_d(k + 1) - lgamma_d(n_ - k + 1) + (k - m_) * log_odds_) return k;
    }
  }

  double n_, p_;
  bool inversion_ = false;
  double s_ = 0, a_ = 0, f0_ = 0;                                                  // inversion
  double b_ = 0, c_ = 0, log_alpha_ = 0, v_r_ = 0, m_ = 0, h_ = 0, log_odds_ = 0;  // BTRS
};

// Entry (i, j) of `m` broadcast to a larger shape.
Scalar at(const ConstMatrixMap& m, Index i, Index j) {
  return m(m.rows() == 1 ? 0 : i, m.cols() == 1 ? 0 : j);
}

}  // namespace

Binomial::Binomial(Tensor total_count, Tensor probs)
    : total_count_(std::move(total_count)), probs_(std::move(probs)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("Binomial", {&total_count_, &probs_});
  validate_args([&] {
    detail::check_each("Binomial", "total_count", total_count_, "a nonnegative integer",
                       [](Scalar v) { return v >= 0 && std::isfinite(v) && v == std::floor(v); });
    detail::check_probability("Binomial", "probs", probs_);
  });
}

ConstraintPtr Binomial::support() const {
  if (total_count_.size() == 1) return constraints::integer_interval(0, total_count_.value()(0, 0));
  return constraints::nonnegative_integer();
}

Tensor Binomial::sample_impl(Rng& rng) const {
  const ConstMatrixMap n = total_count_.value();
  const ConstMatrixMap p = probs_.value();
  Matrix out(rows_, cols_);
  // The sampler's constants are set up once per run of equal parameters (an expanded batch
  // is one run).
  double last_n = -1, last_p = -1;
  BinomialSampler sampler(0, 0);
  for (Index j = 0; j < cols_; ++j) {
    for (Index i = 0; i < rows_; ++i) {
      const double nij = static_cast<double>(at(n, i, j));
      const double pij = static_cast<double>(at(p, i, j));
      // Reflect so the sampler sees p <= 1/2: Binomial(n, p) = n - Binomial(n, 1 - p).
      const bool reflect = pij > 0.5;
      const double q = reflect ? 1 - pij : pij;
      if (nij != last_n || q != last_p) sampler = BinomialSampler(last_n = nij, last_p = q);
      const double k = sampler(rng);
      out(i, j) = static_cast<Scalar>(reflect ? nij - k : k);
    }
  }
  return Tensor(std::move(out));
}

Tensor Binomial::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  if (validation_enabled() && total_count_.size() > 1) {
    // Each value against its own total_count (support() can name only one bound).
    const ConstMatrixMap v = value.value();
    const ConstMatrixMap n = total_count_.value();
    const Index rows = std::max(v.rows(), n.rows());
    const Index cols = std::max(v.cols(), n.cols());
    if ((v.rows() == rows || v.rows() == 1) && (v.cols() == cols || v.cols() == 1) &&
        (n.rows() == rows || n.rows() == 1) && (n.cols() == cols || n.cols() == 1)) {
      for (Index j = 0; j < cols; ++j) {
        for (Index i = 0; i < rows; ++i) {
          if (at(v, i, j) <= at(n, i, j)) continue;
          const Index vi = v.rows() == 1 ? 0 : i, vj = v.cols() == 1 ? 0 : j;
          const Index ni = n.rows() == 1 ? 0 : i, nj = n.cols() == 1 ? 0 : j;
          throw ValueError(
              fmt::format("Binomial: value{} is {}, but must be at most total_count{}, which is {}",
                          entry_str(v.rows(), v.cols(), vi, vj), v(vi, vj),
                          entry_str(n.rows(), n.cols(), ni, nj), n(ni, nj)));
        }
      }
    }
  }
  const Tensor& n = total_count_;
  const Tensor& p = probs_;
  const Tensor failures = n - value;
  // x log y forms: p = 0 (or 1) gives probability 1 to k = 0 (or n).
  return lgamma(n + Scalar(1)) - lgamma(value + Scalar(1)) - lgamma(failures + Scalar(1)) +
         detail::xlogy(value, p) + detail::xlog1py(failures, -p);
}

DistributionPtr Binomial::expand(Index rows, Index cols) const {
  return std::make_shared<Binomial>(detail::broadcast_to(total_count_, rows, cols),
                                    detail::broadcast_to(probs_, rows, cols));
}

Tensor Binomial::mean_impl() const {
  return detail::broadcast_to(total_count_ * probs_, rows_, cols_);
}

Tensor Binomial::variance_impl() const {
  return detail::broadcast_to(total_count_ * probs_ * (Scalar(1) - probs_), rows_, cols_);
}

}  // namespace vesta
