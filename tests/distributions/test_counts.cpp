// Poisson and Binomial: log_prob against Boost.Math, the exact samplers (chi-square over
// both of each family's algorithms, moments), gradients of log_prob, and validation of
// parameters and values.
#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/poisson.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/distcheck.hpp"

using namespace vesta;
using namespace vesta::testing;
using Catch::Matchers::Contains;

namespace {
Matrix range_col(long lo, long hi) {
  Matrix m(hi - lo + 1, 1);
  for (long k = lo; k <= hi; ++k) m(k - lo, 0) = static_cast<Scalar>(k);
  return m;
}
}  // namespace

TEST_CASE("Poisson log_prob matches Boost.Math's pmf", "[distributions][counts]") {
  // In float, log_prob's terms of size lgamma(k + 1) ~ 1e3 cancel to a few units, leaving
  // absolute errors ~1e-4, above the float tolerance: large counts are checked in double
  // (here and for Binomial below).
  for (const double rate : {0.5, 4.0, 30.0, 200.0}) {
    if (VESTA_SCALAR_IS_FLOAT && rate > 100) continue;
    const long hi = static_cast<long>(rate + 8 * std::sqrt(rate) + 5);
    check_log_prob(Poisson(rate), range_col(0, hi), [&](Index, Index, double k) {
      return std::log(boost::math::pdf(boost::math::poisson_distribution<double>(rate), k));
    });
  }
  // A batch of rates against one value; a rate of 0 puts all mass on 0.
  const Matrix rates = col({0.1, 2, 9});
  check_log_prob(Poisson(Tensor(rates)), Matrix::Constant(3, 1, 3), [&](Index i, Index, double k) {
    return std::log(boost::math::pdf(boost::math::poisson_distribution<double>(rates(i, 0)), k));
  });
  CHECK(Poisson(0).log_prob(0).item() == 0);
  CHECK(Poisson(0).log_prob(2).item() == -std::numeric_limits<Scalar>::infinity());
}

TEST_CASE("Binomial log_prob matches Boost.Math's pmf", "[distributions][counts]") {
  struct Case {
    double n, p;
  };
  for (const Case& c : {Case{10, 0.3}, Case{1, 0.5}, Case{40, 0.95}, Case{300, 0.02}}) {
    if (VESTA_SCALAR_IS_FLOAT && c.n > 100) continue;
    // Up to where Boost's pmf, computed as a number, loses precision to underflow.
    const double sd = std::sqrt(c.n * c.p * (1 - c.p));
    const long hi = std::min(static_cast<long>(c.n), static_cast<long>(c.n * c.p + 12 * sd + 20));
    check_log_prob(Binomial(c.n, c.p), range_col(0, hi), [&](Index, Index, double k) {
      return std::log(boost::math::pdf(boost::math::binomial_distribution<double>(c.n, c.p), k));
    });
  }
  // total_count and probs broadcast across a batch.
  const Matrix n = col({3, 8, 20});
  check_log_prob(Binomial(Tensor(n), 0.4), col({1, 8, 11}), [&](Index i, Index, double k) {
    return std::log(boost::math::pdf(boost::math::binomial_distribution<double>(n(i, 0), 0.4), k));
  });
  // probs 0 and 1 are certain of 0 and n.
  CHECK(Binomial(6, 0).log_prob(0).item() == 0);
  CHECK(Binomial(6, 1).log_prob(6).item() == 0);
  CHECK(Binomial(6, 0).log_prob(1).item() == -std::numeric_limits<Scalar>::infinity());
}

TEST_CASE("Poisson draws follow its pmf", "[distributions][counts]") {
  // Rates below 10 are drawn by inversion, the others by PTRS.
  for (const double rate : {0.5, 4.0, 9.99, 10.0, 30.0, 200.0, 5e4}) {
    check_chi_square(Poisson(rate), [rate](long k) {
      return boost::math::pdf(boost::math::poisson_distribution<double>(rate), double(k));
    });
  }
  Rng rng(3);
  CHECK(Poisson(0).expand(100, 1)->sample(rng).matrix().isZero());
}

TEST_CASE("Binomial draws follow its pmf", "[distributions][counts]") {
  // Means n min(p, 1-p) below 10 are drawn by inversion, the others by BTRS; p > 1/2 by
  // reflection.
  struct Case {
    double n, p;
  };
  for (const Case& c : {Case{10, 0.3}, Case{5, 0.9}, Case{1, 0.5}, Case{2000, 0.002},
                        Case{100, 0.4}, Case{1000, 0.93}, Case{1e6, 0.03}}) {
    check_chi_square(Binomial(c.n, c.p), [c](long k) {
      return boost::math::pdf(boost::math::binomial_distribution<double>(c.n, c.p), double(k));
    });
  }
  Rng rng(4);
  CHECK(Binomial(7, 0).expand(50, 1)->sample(rng).matrix().isZero());
  CHECK((Binomial(7, 1).expand(50, 1)->sample(rng).value().array() == 7).all());
  CHECK(Binomial(0, 0.4).expand(50, 1)->sample(rng).matrix().isZero());
}

TEST_CASE("Poisson and Binomial moments match Monte Carlo", "[distributions][counts]") {
  check_moments(Poisson(Tensor(col({0.3, 6, 45}))));
  Matrix n(2, 2), p(2, 2);
  n << 4, 50, 1000, 12;
  p << 0.5, 0.1, 0.7, 0.99;
  check_moments(Binomial(Tensor(n), Tensor(p)));
  CHECK(Binomial(Tensor(n), Tensor(p)).mean().matrix().isApprox(Matrix(n.array() * p.array())));
  CHECK_THROWS_WITH(Poisson(1).entropy(), Contains("Poisson"));
}

TEST_CASE("Poisson and Binomial are not reparameterisable and expand", "[distributions][counts]") {
  Rng rng(5);
  CHECK_FALSE(Poisson(2).has_rsample());
  CHECK_FALSE(Binomial(3, 0.5).has_rsample());
  CHECK_THROWS_WITH(Poisson(2).rsample(rng), Contains("Poisson has no reparameterised sampler"));
  const DistributionPtr b = Binomial(Tensor(col({2, 9})), 0.3).expand(2, 4);
  CHECK(b->rows() == 2);
  CHECK(b->cols() == 4);
  const Matrix x = b->sample(rng).matrix();
  CHECK((x.row(0).array() <= 2).all());
  CHECK(Poisson(3).expand(4, 2)->sample(rng).rows() == 4);
}

#if !VESTA_SCALAR_IS_FLOAT
TEST_CASE("Poisson and Binomial log_prob gradients match finite differences",
          "[distributions][counts][gradients]") {
  const Factory poisson = [](const std::vector<Tensor>& p) {
    return std::make_shared<Poisson>(p[0]);
  };
  check_log_prob_gradients("Poisson", poisson, {col({0.4, 3, 25})}, col({0, 2, 31}));
  const Matrix n = col({5, 12, 40});
  const Factory binomial = [n](const std::vector<Tensor>& p) {
    return std::make_shared<Binomial>(Tensor(n), p[0]);
  };
  check_log_prob_gradients("Binomial", binomial, {col({0.3, 0.75, 0.05})}, col({0, 9, 3}));
}
#endif

TEST_CASE("Poisson and Binomial reject bad parameters and values", "[distributions][counts]") {
  CHECK_THROWS_WITH(Poisson(-1), Contains("Poisson: rate is -1, but must be nonnegative"));
  CHECK_THROWS_WITH(Poisson(Tensor(col({1, std::numeric_limits<double>::infinity()}))),
                    Contains("Poisson: rate[1] is inf, but must be nonnegative"));
  CHECK_THROWS_WITH(
      Poisson(3).log_prob(1.5),
      Contains("Poisson: value is 1.5, but must be in the support nonnegative_integer"));
  CHECK_THROWS_WITH(Poisson(3).log_prob(Tensor(col({1, -1}))), Contains("Poisson: value[1] is -1"));

  CHECK_THROWS_WITH(Binomial(2.5, 0.3),
                    Contains("Binomial: total_count is 2.5, but must be a nonnegative integer"));
  CHECK_THROWS_WITH(Binomial(Tensor(col({3, -1})), 0.3),
                    Contains("Binomial: total_count[1] is -1, but must be a nonnegative integer"));
  CHECK_THROWS_WITH(Binomial(4, 1.2), Contains("Binomial: probs is 1.2, but must be in [0, 1]"));
  CHECK_THROWS_AS(Binomial(Tensor(col({1, 2})), Tensor(col({0.1, 0.2, 0.3}))), ShapeError);
  CHECK_THROWS_WITH(
      Binomial(5, 0.5).log_prob(6),
      Contains("Binomial: value is 6, but must be in the support integer_interval(0, 5)"));
  CHECK_THROWS_WITH(Binomial(5, 0.5).log_prob(2.5), Contains("Binomial: value is 2.5"));
  // A Tensor of total_counts: each value against its own.
  CHECK_THROWS_WITH(
      Binomial(Tensor(col({3, 5})), 0.5).log_prob(Tensor(col({2, 7}))),
      Contains("Binomial: value[1] is 7, but must be at most total_count[1], which is 5"));
  CHECK_THROWS_WITH(
      Binomial(Tensor(col({3, 5})), 0.5).log_prob(4),
      Contains("Binomial: value is 4, but must be at most total_count[0], which is 3"));
  CHECK_NOTHROW(Binomial(Tensor(col({3, 5})), 0.5).log_prob(Tensor(col({3, 5}))));

  set_validation(false);
  CHECK_NOTHROW(Poisson(-1));
  CHECK_NOTHROW(Binomial(2.5, 2));
  set_validation(true);
}
