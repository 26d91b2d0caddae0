// Predictive: through a guide, the draws of an unobserved site follow the posterior
// predictive; from posterior samples, the model is run at each draw; from the prior, the
// prior predictive. Draws come back in each site's shape; site selection, log_likelihood,
// and misuse named.
#include <cmath>
#include <optional>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

using Fresh = vesta::testing::FreshParams;

// z ~ N(0, 1); three x_i ~ N(z, 1), observed when given.
void model(std::optional<Matrix> x) {
  const Tensor z = sample("z", Normal(0, 1));
  auto p = plate("data", 3);
  sample("x", Normal(z, 1), x ? std::optional<Tensor>(Tensor(*x)) : std::nullopt);
  deterministic("z2", z * 2);
}

// q(z) = N(0.8, 0.3), fixed.
void guide(std::optional<Matrix>) { sample("z", Normal(0.8, 0.3)); }

// Posterior samples of a 1x1 site, one draw per entry of the column z.
SiteSamples scalar_draws(const std::string& name, const Matrix& z) {
  SiteSamples s;
  for (Index i = 0; i < z.rows(); ++i) s.add(name, z.row(i));
  return s;
}

// Mean and standard error of each column.
std::pair<Matrix, Matrix> column_stats(const Matrix& m) {
  const Matrix mean = m.colwise().mean();
  const Matrix centred = m.rowwise() - mean.row(0);
  const Matrix sd =
      (centred.cwiseProduct(centred).colwise().sum() / double(m.rows() - 1)).cwiseSqrt();
  return {mean, sd / std::sqrt(double(m.rows()))};
}

}  // namespace

TEST_CASE("Predictive through a guide draws the posterior predictive", "[inference][predictive]") {
  Fresh fresh;
  set_rng_seed(31);
  const Index n = 20000;
  Predictive predictive(model, guide, n);
  const SiteSamples s = predictive(std::optional<Matrix>());
  // Every sample and deterministic site, each draw in its site's shape; flat() puts the
  // plate's column of 3 in a row.
  CHECK(s.sites() == std::vector<std::string>{"x", "z", "z2"});
  REQUIRE(s.num_samples() == n);
  REQUIRE(s.rows("x") == 3);
  REQUIRE(s.cols("x") == 1);
  REQUIRE(s.flat("x").cols() == 3);
  CHECK(s.flat("z2").isApprox(2 * s.flat("z")));
  // x_i = z + eps: mean 0.8 and variance 0.3^2 + 1 for each i.
  const auto [mean, se] = column_stats(s.flat("x"));
  for (Index i = 0; i < 3; ++i) CHECK(std::abs(mean(0, i) - 0.8) < 5 * se(0, i));
  for (Index i = 0; i < 3; ++i) CHECK(s.mean("x")(i, 0) == Approx(mean(0, i)));
  const Matrix centred = s.flat("x").array() - 0.8;
  const double var = centred.cwiseProduct(centred).mean();
  // The variance estimate's standard error is about sqrt(2 / (3n)) * variance.
  CHECK(std::abs(var - 1.09) < 5 * std::sqrt(2.0 / (3 * n)) * 1.09);
  // The guide's z: N(0.8, 0.3).
  const auto [zm, zse] = column_stats(s.flat("z"));
  CHECK(std::abs(zm(0, 0) - 0.8) < 5 * zse(0, 0));
  // The 5% quantile of N(0.8, 0.3) is 0.8 - 1.645 * 0.3; its standard error for n draws is
  // sqrt(q (1 - q) / n) / density at the quantile.
  const double q05 = 0.8 - 1.6448536 * 0.3;
  const double density = std::exp(-0.5 * 1.6448536 * 1.6448536) / (0.3 * std::sqrt(2 * M_PI));
  CHECK(std::abs(s.quantile("z", 0.05)(0, 0) - q05) < 5 * std::sqrt(0.05 * 0.95 / n) / density);
}

TEST_CASE("Predictive returns the chosen sites, each draw in its shape",
          "[inference][predictive]") {
  Fresh fresh;
  auto shaped = [] {
    Matrix m(2, 3);
    m << 1, 2, 3, 4, 5, 6;
    deterministic("m", Tensor(m));
    sample("z", Normal(0, 1));
  };
  const SiteSamples s = Predictive(shaped, 4, {"m"})();
  CHECK(s.sites() == std::vector<std::string>{"m"});
  REQUIRE(s.num_samples() == 4);
  Matrix m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  for (Index k = 0; k < 4; ++k) CHECK(s.draw("m", k) == m);
  Matrix expected(1, 6);
  expected << 1, 2, 3, 4, 5, 6;  // flat: row 0, then row 1
  REQUIRE(s.flat("m").rows() == 4);
  for (Index i = 0; i < 4; ++i) CHECK(s.flat("m").row(i) == expected);
}

TEST_CASE("Predictive from posterior samples runs the model at each draw",
          "[inference][predictive]") {
  Fresh fresh;
  set_rng_seed(32);
  const Index n = 5000;
  Matrix z(n, 1);
  for (Index i = 0; i < n; ++i) z(i, 0) = double(i % 7) - 3;
  const SiteSamples s =
      Predictive(model, scalar_draws("z", z), {"x", "z"})(std::optional<Matrix>());
  CHECK(s.flat("z") == z);
  // x - z is standard Normal.
  const Matrix eps = s.flat("x").colwise() - z.col(0);
  const auto [mean, se] = column_stats(eps);
  for (Index i = 0; i < 3; ++i) CHECK(std::abs(mean(0, i)) < 5 * se(0, i));
  // Observed data stay what they are.
  Matrix x(3, 1);
  x << 0.1, 0.2, 0.3;
  const SiteSamples o = Predictive(model, scalar_draws("z", z), {"x"})(std::optional<Matrix>(x));
  CHECK(o.draw("x", 17) == x);
}

TEST_CASE("Predictive without a guide draws the prior predictive", "[inference][predictive]") {
  Fresh fresh;
  set_rng_seed(33);
  const Index n = 20000;
  const SiteSamples s = Predictive(model, n)(std::optional<Matrix>());
  const auto [mean, se] = column_stats(s.flat("z"));
  CHECK(std::abs(mean(0, 0)) < 5 * se(0, 0));
  const Matrix x = s.flat("x");
  const double var = x.cwiseProduct(x).mean();
  CHECK(std::abs(var - 2) < 5 * std::sqrt(2.0 / (3 * n)) * 2);  // z + eps: variance 2
}

TEST_CASE("Predictive with a fitted autoguide predicts new data", "[inference][predictive]") {
  Fresh fresh;
  set_rng_seed(34);
  Matrix x(3, 1);
  x << 1.2, 0.7, 1.5;
  AutoNormal auto_guide(model);
  Adam adam(0.02);
  SVI svi(model, auto_guide, adam);
  for (int t = 0; t < 3000; ++t) svi.step(std::optional<Matrix>(x));
  const SiteSamples s = Predictive(model, auto_guide, 4000, {"z"})(std::optional<Matrix>());
  // The posterior of z: mean sum(x) / 4, sd 1 / 2; the draws follow the fitted guide.
  const auto [mean, se] = column_stats(s.flat("z"));
  const double loc = auto_guide.median()["z"](0, 0);
  CHECK(std::abs(mean(0, 0) - loc) < 5 * se(0, 0));
  CHECK(std::abs(loc - x.sum() / 4) < 0.05);
}

TEST_CASE("Predictive names what is wrong", "[inference][predictive]") {
  Fresh fresh;
  CHECK_THROWS_WITH(Predictive(model, guide, 0), Contains("num_samples") && Contains("0"));
  CHECK_THROWS_WITH(Predictive(model, guide, 3, {"nope"})(std::optional<Matrix>()),
                    Contains("'nope'"));
  CHECK_THROWS_WITH(Predictive(model, guide, 3, {"data"})(std::optional<Matrix>()),
                    Contains("'data'") && Contains("plate"));
  CHECK_THROWS_WITH(
      Predictive(model, scalar_draws("w", Matrix::Zero(3, 1)))(std::optional<Matrix>()),
      Contains("'w'"));
  SiteSamples wide;
  for (int k = 0; k < 3; ++k) wide.add("z", Matrix::Zero(1, 2));
  CHECK_THROWS_WITH(Predictive(model, wide)(std::optional<Matrix>()),
                    Contains("'z'") && Contains("1x1") && Contains("1x2"));
  SiteSamples uneven = scalar_draws("z", Matrix::Zero(3, 1));
  for (int k = 0; k < 4; ++k) uneven.add("z2", Matrix::Zero(1, 1));
  CHECK_THROWS_WITH(Predictive(model, uneven), Contains("'z2'") && Contains("'z'"));
  CHECK_THROWS_WITH(uneven.add("z", Matrix::Zero(2, 1)),
                    Contains("'z'") && Contains("2x1") && Contains("1x1"));
  CHECK(handler_stack().empty());
}

TEST_CASE("log_likelihood scores each observation under each draw", "[inference][predictive]") {
  Fresh fresh;
  Matrix x(3, 1);
  x << 0.1, -0.4, 1.3;
  Matrix z(4, 1);
  z << -1, 0, 0.5, 2;
  const auto ll = log_likelihood(model, scalar_draws("z", z), std::optional<Matrix>(x));
  REQUIRE(ll.size() == 1);
  const Matrix& m = ll.at("x");
  REQUIRE(m.rows() == 4);
  REQUIRE(m.cols() == 3);
  const double half_log_2pi = 0.5 * std::log(2 * M_PI);
  double lppd = 0;
  for (Index i = 0; i < 3; ++i) {
    double mean_density = 0;
    for (Index k = 0; k < 4; ++k) {
      const double expected = -0.5 * std::pow(x(i, 0) - z(k, 0), 2) - half_log_2pi;
      CHECK(m(k, i) == Approx(expected));
      mean_density += std::exp(expected) / 4;
    }
    lppd += std::log(mean_density);
  }
  CHECK(log_pointwise_predictive_density(m) == Approx(lppd));
}
