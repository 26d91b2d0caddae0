// Shared checkers for distribution families, so each family's tests are rows of cases:
// log_prob against a reference density, samplers against a reference CDF (Kolmogorov-Smirnov)
// or pmf (chi-square), moments within standard errors, KL and entropy against Monte Carlo,
// and the gradients of log_prob and rsample against finite differences.
// Every statistical check uses a fixed seed and a tolerance derived from its sample size.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/math/distributions/chi_squared.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/gradcheck.hpp"

namespace vesta::testing {

/// A column vector, a row vector, and matrices written row by row, for test tables.
inline Matrix col(std::initializer_list<double> v) {
  Matrix m(static_cast<Index>(v.size()), 1);
  Index i = 0;
  for (double x : v) m(i++, 0) = static_cast<Scalar>(x);
  return m;
}
inline Matrix row(std::initializer_list<double> v) { return col(v).transpose(); }
inline Matrix rows_of(std::initializer_list<std::initializer_list<double>> rows) {
  Matrix m(static_cast<Index>(rows.size()), static_cast<Index>(rows.begin()->size()));
  Index i = 0;
  for (const auto& r : rows) {
    Index j = 0;
    for (double x : r) m(i, j++) = static_cast<Scalar>(x);
    ++i;
  }
  return m;
}
inline Matrix mat(Index rows, Index cols, std::initializer_list<double> v) {
  REQUIRE(static_cast<Index>(v.size()) == rows * cols);
  Matrix m(rows, cols);
  auto it = v.begin();
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = static_cast<Scalar>(*it++);
  return m;
}

/// Relative tolerance for comparing a log-density with a reference in this build.
inline double log_prob_tolerance() { return sizeof(Scalar) == 4 ? 2e-5 : 1e-10; }

/// log_prob of `d` at each entry of `values` (broadcast against d's batch shape) equals
/// ref(i, j, x): the reference log-density of the batch element (i, j) at x.
inline void check_log_prob(const Distribution& d, const Matrix& values,
                           const std::function<double(Index, Index, double)>& ref) {
  INFO(d.describe());
  const Matrix lp = d.log_prob(Tensor(values)).matrix();
  REQUIRE(lp.rows() == values.rows());
  REQUIRE(lp.cols() == values.cols());
  for (Index j = 0; j < values.cols(); ++j) {
    for (Index i = 0; i < values.rows(); ++i) {
      const double expected = ref(i, j, static_cast<double>(values(i, j)));
      INFO(fmt::format("entry ({}, {}) at x = {}", i, j, values(i, j)));
      CHECK(static_cast<double>(lp(i, j)) ==
            Approx(expected).epsilon(log_prob_tolerance()).margin(log_prob_tolerance()));
    }
  }
}

/// Draws `n` values from a distribution with one batch entry (1x1), as a column.
inline std::vector<double> draw(const Distribution& d, Index n, std::uint64_t seed) {
  REQUIRE(d.rows() * d.cols() == 1);
  const DistributionPtr many = d.expand(n, 1);
  Rng rng(seed);
  const Matrix v = many->sample(rng).matrix();
  return std::vector<double>(v.data(), v.data() + v.size());
}

/// Kolmogorov-Smirnov: the empirical CDF of n draws is within the 0.001-level critical
/// distance 1.95 / sqrt(n) of `cdf` everywhere.
inline void check_ks(const Distribution& d, const std::function<double(double)>& cdf,
                     Index n = 20000, std::uint64_t seed = 1) {
  INFO(d.describe() << ": Kolmogorov-Smirnov on " << n << " draws");
  std::vector<double> x = draw(d, n, seed);
  std::sort(x.begin(), x.end());
  double D = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double F = cdf(x[k]);
    D = std::max({D, F - double(k) / n, double(k + 1) / n - F});
  }
  CHECK(D < 1.95 / std::sqrt(double(n)));
}

/// Chi-square goodness of fit of n draws of a distribution over 0, 1, 2, ... against `pmf`,
/// merging the tail so each bin expects at least 5; passes unless p < 0.001.
inline void check_chi_square(const Distribution& d, const std::function<double(long)>& pmf,
                             Index n = 20000, std::uint64_t seed = 2) {
  INFO(d.describe() << ": chi-square on " << n << " draws");
  const std::vector<double> x = draw(d, n, seed);
  // Bins 0..K-1 each expecting >= 5; the last bin takes everything from K on.
  std::vector<double> expected;
  double mass = 0;
  for (long k = 0; mass < 1 - 1e-12 && k < 100000; ++k) {
    const double p = pmf(k);
    if (n * (1 - mass - p) < 5 && !expected.empty()) break;
    expected.push_back(n * p);
    mass += p;
  }
  expected.push_back(n * std::max(0.0, 1 - mass));
  // Merge small bins into their neighbours.
  std::vector<double> observed(expected.size(), 0);
  for (double v : x) {
    REQUIRE(v == std::floor(v));
    REQUIRE(v >= 0);
    observed[std::min<std::size_t>(static_cast<std::size_t>(v), expected.size() - 1)] += 1;
  }
  std::vector<double> e, o;
  double acc_e = 0, acc_o = 0;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    acc_e += expected[k];
    acc_o += observed[k];
    if (acc_e >= 5) {
      e.push_back(acc_e);
      o.push_back(acc_o);
      acc_e = acc_o = 0;
    }
  }
  if (acc_e > 0 && !e.empty()) {
    e.back() += acc_e;
    o.back() += acc_o;
  }
  double chi2 = 0;
  for (std::size_t k = 0; k < e.size(); ++k) chi2 += (o[k] - e[k]) * (o[k] - e[k]) / e[k];
  const double dof = double(e.size()) - 1;
  REQUIRE(dof >= 1);
  const double critical = boost::math::quantile(boost::math::chi_squared(dof), 0.999);
  INFO("chi2 " << chi2 << " on " << dof << " degrees of freedom, critical " << critical);
  CHECK(chi2 < critical);
}

/// Sample mean and variance of n draws (per batch entry, over a batch of any shape) are
/// within 5 standard errors of d.mean() and d.variance().
inline void check_moments(const Distribution& d, int n = 20000, std::uint64_t seed = 3) {
  INFO(d.describe() << ": moments of " << n << " draws");
  Rng rng(seed);
  const Index size = d.rows() * d.cols();
  Eigen::ArrayXd s1 = Eigen::ArrayXd::Zero(size), s2 = s1, s3 = s1, s4 = s1;
  const Matrix mu = d.mean().matrix();
  for (int k = 0; k < n; ++k) {
    const Matrix v = d.sample(rng).matrix();
    for (Index e = 0; e < size; ++e) {
      const double c = v.data()[e] - mu.data()[e];  // centred at the claimed mean
      s1[e] += c;
      s2[e] += c * c;
      s3[e] += c * c * c;
      s4[e] += c * c * c * c;
    }
  }
  const Matrix var = d.variance().matrix();
  for (Index e = 0; e < size; ++e) {
    const double m1 = s1[e] / n, m2 = s2[e] / n, m4 = s4[e] / n;
    const double v = var.data()[e];
    INFO(fmt::format("entry {}: mean {} (claimed {}), variance {} (claimed {})", e,
                     mu.data()[e] + m1, mu.data()[e], m2 - m1 * m1, v));
    CHECK(std::abs(m1) < 5 * std::sqrt(v / n) + 1e-12);
    CHECK(std::abs(m2 - v) < 5 * std::sqrt(std::max(m4 - m2 * m2, 0.0) / n) + 1e-12);
  }
}

/// The Monte Carlo estimate E_p[log p(x) - log q(x)] over n draws of p agrees with
/// kl_divergence(p, q) within 5 standard errors.
inline void check_kl_monte_carlo(const Distribution& p, const Distribution& q, double kl,
                                 int n = 20000, std::uint64_t seed = 4) {
  INFO("KL(" << p.describe() << " || " << q.describe() << ")");
  Rng rng(seed);
  double s1 = 0, s2 = 0;
  for (int k = 0; k < n; ++k) {
    const Tensor x = p.sample(rng);
    const double term = sum(p.log_prob(x) - q.log_prob(x)).item();
    s1 += term;
    s2 += term * term;
  }
  const double m = s1 / n;
  const double se = std::sqrt(std::max(s2 / n - m * m, 0.0) / n);
  INFO("Monte Carlo " << m << " +- " << se << ", closed form " << kl);
  CHECK(std::abs(m - kl) < 5 * se + 1e-9);
}

/// The Monte Carlo estimate -E[log p(x)] agrees with the summed entropy within 5 standard
/// errors.
inline void check_entropy_monte_carlo(const Distribution& d, int n = 20000,
                                      std::uint64_t seed = 5) {
  INFO(d.describe() << ": entropy");
  const double H = sum(d.entropy()).item();
  Rng rng(seed);
  double s1 = 0, s2 = 0;
  for (int k = 0; k < n; ++k) {
    const double term = -sum(d.log_prob(d.sample(rng))).item();
    s1 += term;
    s2 += term * term;
  }
  const double m = s1 / n;
  const double se = std::sqrt(std::max(s2 / n - m * m, 0.0) / n);
  INFO("Monte Carlo " << m << " +- " << se << ", closed form " << H);
  CHECK(std::abs(m - H) < 5 * se + 1e-9);
}

/// A family built from parameter Tensors, for gradient checks.
using Factory = std::function<DistributionPtr(const std::vector<Tensor>&)>;

/// d log_prob(values) / d parameters against finite differences.
inline void check_log_prob_gradients(const std::string& name, const Factory& make,
                                     const std::vector<Matrix>& params, const Matrix& values) {
  check_gradients(
      name + " log_prob",
      [&](const std::vector<Tensor>& ps) { return make(ps)->log_prob(Tensor(values)); }, params);
}

/// d rsample / d parameters against finite differences, with the noise held fixed (the
/// same seed in every evaluation). For samplers that are smooth in their parameters.
inline void check_rsample_gradients(const std::string& name, const Factory& make,
                                    const std::vector<Matrix>& params, std::uint64_t seed = 6) {
  check_gradients(
      name + " rsample",
      [&](const std::vector<Tensor>& ps) {
        Rng rng(seed);
        return make(ps)->rsample(rng);
      },
      params);
}

}  // namespace vesta::testing
