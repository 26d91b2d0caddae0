// The convergence diagnostics on draws whose answer is known: independent draws (ESS about
// the number of draws), AR(1) chains (ESS about n (1 - rho) / (1 + rho)), chains from one
// distribution (R-hat about 1) and chains shifted apart (R-hat clearly above 1.01).
#include <cmath>

#include <boost/math/special_functions/erf.hpp>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;

namespace {

Eigen::MatrixXd iid(Eigen::Index n, Eigen::Index chains, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd x(n, chains);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<double>(rng.normal());
  return x;
}

Eigen::MatrixXd ar1(Eigen::Index n, Eigen::Index chains, double rho, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd x(n, chains);
  const double innovation = std::sqrt(1 - rho * rho);
  for (Eigen::Index c = 0; c < chains; ++c) {
    double v = static_cast<double>(rng.normal());  // stationary start
    for (Eigen::Index t = 0; t < n; ++t) {
      x(t, c) = v;
      v = rho * v + innovation * static_cast<double>(rng.normal());
    }
  }
  return x;
}

}  // namespace

TEST_CASE("diagnostics: the ESS of independent draws is about their number", "[mcmc]") {
  // 4 chains x 2000: the ESS estimate's relative spread for independent draws is a few
  // percent (an autocorrelation sum of a few noisy lags, each with sd 1 / sqrt(8000)); 15%
  // leaves room without letting an estimator off by a factor pass.
  const Eigen::MatrixXd x = iid(2000, 4, 11);
  CHECK(effective_sample_size(x) == Approx(8000).epsilon(0.15));
  CHECK(ess_bulk(x) == Approx(8000).epsilon(0.15));
  CHECK(ess_tail(x) == Approx(8000).epsilon(0.2));
}

TEST_CASE("diagnostics: the ESS of AR(1) chains is about n (1 - rho) / (1 + rho)", "[mcmc]") {
  for (double rho : {0.5, 0.9}) {
    INFO("rho " << rho);
    const Eigen::MatrixXd x = ar1(5000, 4, rho, 7);
    const double expected = 20000 * (1 - rho) / (1 + rho);
    // The truncated autocorrelation sum has a relative sd of about sqrt(2 * 2T / n) for a
    // window of T lags (T ~ 10 at 0.5, ~ 50 at 0.9, n = 20000): 3% and 7%; 20% is about three
    // of those at 0.9.
    CHECK(effective_sample_size(x) == Approx(expected).epsilon(0.2));
    CHECK(ess_bulk(x) == Approx(expected).epsilon(0.2));
    // A negatively correlated chain is more efficient than independent draws.
    const Eigen::MatrixXd y = ar1(5000, 4, -0.5, 8);
    CHECK(effective_sample_size(y) > 20000);
  }
}

TEST_CASE("diagnostics: split R-hat near 1 for one distribution, above 1.01 for shifted chains",
          "[mcmc]") {
  const Eigen::MatrixXd x = iid(1000, 4, 3);
  // With 8 split chains of 500, R-hat - 1 is about 1 / (number of draws per chain): ~0.002.
  CHECK(split_rhat(x) < 1.01);
  CHECK(split_rhat(x) > 0.99);
  CHECK(split_rhat_basic(x) < 1.01);
  Eigen::MatrixXd shifted = x;
  shifted.col(0).array() += 0.5;  // one chain half a standard deviation away
  CHECK(split_rhat(shifted) > 1.01);
  CHECK(split_rhat_basic(shifted) > 1.01);
  // A chain that drifts within itself: split R-hat sees its halves disagree.
  Eigen::MatrixXd drift = x;
  drift.col(1) += Eigen::VectorXd::LinSpaced(1000, -1, 1);
  CHECK(split_rhat(drift) > 1.01);
  // Different scales, same location: only the folded (tail) R-hat catches it.
  Eigen::MatrixXd wide = x;
  wide.col(2) *= 3;
  CHECK(split_rhat(wide) > 1.01);
  CHECK(split_rhat_basic(wide) < split_rhat(wide));
}

TEST_CASE("diagnostics: rank normalisation and splitting", "[mcmc]") {
  Eigen::MatrixXd x(5, 2);
  x << 1, 10, 2, 10, 3, 0, 4, 7, 5, 6;
  const Eigen::MatrixXd z = rank_normalise(x);
  // Ties share their average rank; ranks map through Phi^-1((r - 3/8) / (S + 1/4)).
  CHECK(z(0, 1) == z(1, 1));
  CHECK(z(2, 1) < z(0, 0));
  CHECK(z(0, 0) == Approx(std::sqrt(2.0) * boost::math::erf_inv(2 * (2 - 0.375) / 10.25 - 1)));
  const Eigen::MatrixXd s = split_chains(x);
  REQUIRE(s.rows() == 2);
  REQUIRE(s.cols() == 4);
  CHECK(s(0, 1) == 4);  // the odd middle draw (3) is dropped
  CHECK(std::isnan(effective_sample_size(Eigen::MatrixXd::Ones(100, 2))));
  CHECK(std::isnan(split_rhat(Eigen::MatrixXd::Ones(100, 2))));
}
