// Autoguides against posteriors known in closed form: AutoNormal on a Normal mean and on a
// positive latent (fitted through exp, Jacobian included), AutoDelta at the posterior mode,
// AutoMultivariateNormal and AutoDiagonalNormal on Bayesian linear regression, AutoNormal on
// local latents of a subsampled plate; init strategies; what they refuse, named.
#include <cmath>

#include <Eigen/LU>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/svi.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

using Fresh = vesta::testing::FreshParams;
using vesta::testing::data10;

using vesta::testing::Running;

// Runs `steps` SVI steps and averages `read()` over the last `tail`.
template <class Svi, class Read, class... Args>
Running fit(Svi& svi, int steps, int tail, Read read, const Args&... args) {
  Running r;
  for (int t = 0; t < steps; ++t) {
    svi.step(args...);
    if (t >= steps - tail) r.add(read());
  }
  return r;
}

constexpr auto normal_model = &vesta::testing::normal_mean_model;

// w = log z ~ N(0.5, 1) (z ~ LogNormal(0.5, 1)); log y_i ~ N(w, 0.5).
void positive_model(const Matrix& y) {
  const Tensor z = sample("z", LogNormal(0.5, 1));
  auto p = plate("data", y.rows());
  sample("y", LogNormal(log(z), 0.5), Tensor(y));
}

// The exact posterior of w = log z in positive_model.
std::pair<double, double> positive_posterior(const Matrix& y) {
  const double precision = 1 + double(y.rows()) / 0.25;
  const double mean = (0.5 + y.array().log().sum() / 0.25) / precision;
  return {mean, 1 / std::sqrt(precision)};
}

Matrix data_positive() {
  Matrix y(8, 1);
  y << 2.1, 3.5, 1.2, 2.8, 4.0, 1.9, 2.6, 3.1;
  return y;
}

// AutoNormal's fitted loc (unconstrained) and scale of the latent z, as one row.
Matrix fitted_z() {
  Matrix m(1, 2);
  m << param_store().entry("AutoNormal.locs.z").unconstrained.value()(0, 0),
      param_store().get("AutoNormal.scales.z").item();
  return m;
}

}  // namespace

TEST_CASE("AutoNormal recovers the posterior of a Normal mean", "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(21);
  const Matrix x = data10();
  AutoNormal guide(normal_model);
  Adam adam(0.01);
  SVI svi(normal_model, guide, adam);
  const Running r = fit(svi, 6000, 2000, fitted_z, x);
  const double post_mean = x.sum() / 11, post_sd = 1 / std::sqrt(11.0);
  INFO("loc " << r.mean()(0) << " +- " << r.sd()(0) << " vs " << post_mean << "; scale "
              << r.mean()(1) << " +- " << r.sd()(1) << " vs " << post_sd);
  CHECK(std::abs(r.mean()(0) - post_mean) < 4 * r.sd()(0) + 0.01);
  CHECK(std::abs(r.mean()(1) - post_sd) < 4 * r.sd()(1) + 0.01);
  // median() and quantiles() read the fitted params: here the Normal's own.
  const double loc = guide.median()["z"](0, 0);
  CHECK(loc == Approx(param_store().entry("AutoNormal.locs.z").unconstrained.value()(0, 0)));
  const double scale = param_store().get("AutoNormal.scales.z").item();
  CHECK(guide.quantiles(0.975)["z"](0, 0) == Approx(loc + 1.959964 * scale).epsilon(1e-5));
  CHECK(guide.quantiles(0.5)["z"](0, 0) == Approx(loc));
  CHECK_THROWS_WITH(guide.quantiles(1.5), Contains("1.5"));
  REQUIRE(guide.latents().size() == 1);
  CHECK(guide.latents()[0].name == "z");
}

TEST_CASE("AutoNormal fits a positive latent through exp, with its Jacobian",
          "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(22);
  const Matrix y = data_positive();
  AutoNormal guide(positive_model);
  Adam adam(0.01);
  SVI svi(positive_model, guide, adam);
  // The posterior of log z is Normal, so the guide's family holds it exactly; leaving out the
  // log-Jacobian of exp would shift the fitted loc by about scale^2 and bias the scale.
  const Running r = fit(svi, 6000, 2000, fitted_z, y);
  const auto [mu, sd] = positive_posterior(y);
  INFO("loc " << r.mean()(0) << " +- " << r.sd()(0) << " vs " << mu << "; scale " << r.mean()(1)
              << " +- " << r.sd()(1) << " vs " << sd);
  CHECK(std::abs(r.mean()(0) - mu) < 4 * r.sd()(0) + 0.005);
  CHECK(std::abs(r.mean()(1) - sd) < 4 * r.sd()(1) + 0.005);
  // Constrained summaries: the median is exp(loc), the quantiles exp(loc + z_q scale).
  const double loc = param_store().entry("AutoNormal.locs.z").unconstrained.value()(0, 0);
  const double scale = param_store().get("AutoNormal.scales.z").item();
  CHECK(guide.median()["z"](0, 0) == Approx(std::exp(loc)));
  CHECK(guide.quantiles(0.05)["z"](0, 0) == Approx(std::exp(loc - 1.644854 * scale)).epsilon(1e-5));
}

TEST_CASE("at the exact posterior the AutoNormal ELBO gradient of a positive latent vanishes",
          "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(29);
  const Matrix y = data_positive();
  const auto [mu, sd] = positive_posterior(y);
  AutoNormal guide(positive_model);
  guide(y);  // creates the params
  param_store().set("AutoNormal.locs.z", Matrix::Constant(1, 1, mu));
  param_store().set("AutoNormal.scales.z", Matrix::Constant(1, 1, sd));
  // The mean gradient over many draws is zero within its standard error. Without the
  // log-Jacobian of exp in the guide's density, d loss / d loc would be off by 1.
  const Tensor loc = param_store().entry("AutoNormal.locs.z").unconstrained;
  const Tensor log_scale = param_store().entry("AutoNormal.scales.z").unconstrained;
  Trace_ELBO elbo;
  const int n = 20000;
  Running g;
  for (int k = 0; k < n; ++k) {
    elbo.differentiable_loss(positive_model, guide, y).backward();
    Matrix m(1, 2);
    m << loc.grad()(0, 0), log_scale.grad()(0, 0);
    g.add(m);
    loc.zero_grad();
    log_scale.zero_grad();
    tape().reset();
  }
  const Matrix se = g.sd() / std::sqrt(double(n));
  INFO("mean gradient " << g.mean() << " +- " << se);
  CHECK(std::abs(g.mean()(0)) < 4 * se(0));
  CHECK(std::abs(g.mean()(1)) < 4 * se(1));
  CHECK(se(0) < 0.05);  // sharp enough to see an error of 1
}

TEST_CASE("AutoDelta finds the posterior mode in constrained space", "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(23);
  const Matrix y = data_positive();
  AutoDelta guide(positive_model);
  Adam adam(0.02);
  SVI svi(positive_model, guide, adam);
  for (int t = 0; t < 3000; ++t) svi.step(y);
  // z's posterior is LogNormal(mu, sd), whose mode is exp(mu - sd^2). The loss is
  // deterministic (nothing is drawn), so the optimum is reached to optimizer precision.
  const auto [mu, sd] = positive_posterior(y);
  CHECK(guide.median()["z"](0, 0) == Approx(std::exp(mu - sd * sd)).epsilon(1e-3));
  CHECK(guide.quantiles(0.1)["z"](0, 0) == guide.median()["z"](0, 0));
  CHECK(param_store().contains("AutoDelta.z"));
}

namespace {

// Bayesian linear regression with known noise: w ~ N(0, I) (1 x D); y ~ N(X w^T, sigma).
struct Regression {
  Matrix X, y;
  double sigma = 0.5;
  Matrix post_mean, post_cov;  // the closed form
  Regression(Index n, Index d, std::uint64_t seed) {
    Rng rng(seed);
    X = rng.normal(n, d);
    Matrix w(d, 1);
    for (Index j = 0; j < d; ++j) w(j, 0) = 1.0 - 0.7 * double(j);
    y = X * w + sigma * rng.normal(n, 1);
    const Matrix precision = Matrix::Identity(d, d) + X.transpose() * X / (sigma * sigma);
    post_cov = precision.inverse();
    post_mean = (post_cov * X.transpose() * y / (sigma * sigma)).transpose();
  }
  void operator()() const {
    const Index d = X.cols();
    const Tensor w = sample("w", Normal(Tensor(Matrix::Zero(1, d)), 1).to_event(1));
    auto p = plate("data", X.rows());
    sample("y", Normal(matmul(Tensor(X), transpose(w)), sigma), Tensor(y));
  }
};

}  // namespace

TEST_CASE(
    "AutoMultivariateNormal recovers the posterior mean and covariance of Bayesian linear "
    "regression",
    "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(24);
  const Regression model(40, 3, 7);
  AutoMultivariateNormal guide(model);
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  for (int t = 0; t < 4000; ++t) svi.step();
  const Running loc = fit(svi, 3000, 3000, [&] { return guide.state().loc(); });
  Running cov;
  for (int t = 0; t < 3000; ++t) {
    svi.step();
    cov.add(guide.state().covariance());
  }
  INFO("loc " << loc.mean() << "\nexact " << model.post_mean << "\ncov\n"
              << cov.mean() << "\nexact\n"
              << model.post_cov);
  const Matrix loc_err = (loc.mean() - model.post_mean).cwiseAbs();
  CHECK((loc_err.array() < 4 * loc.sd().array() + 0.003).all());
  // The covariance is small (about 0.006 on the diagonal): compare entries relative to the
  // diagonal's scale.
  const Matrix cov_err = (cov.mean() - model.post_cov).cwiseAbs();
  const double scale = model.post_cov.diagonal().maxCoeff();
  CHECK((cov_err.array() < 4 * cov.sd().array() + 0.05 * scale).all());
  CHECK(guide.median().at("w").isApprox(guide.state().loc()));
}

TEST_CASE("AutoDiagonalNormal finds the exact mean and the conditional variances",
          "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(25);
  const Regression model(40, 3, 8);
  AutoDiagonalNormal guide(model);
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  for (int t = 0; t < 4000; ++t) svi.step();
  const Running r = fit(svi, 3000, 3000, [&] {
    Matrix m(2, 3);
    m.row(0) = guide.state().loc();
    m.row(1) = guide.state().marginal_scale();
    return m;
  });
  // For a Gaussian target the mean-field optimum of KL(q || p) has the exact mean and
  // variances 1 / Lambda_ii, Lambda the posterior precision (Bishop, PRML 10.1.2).
  const Matrix precision = model.post_cov.inverse();
  Matrix expected(2, 3);
  expected.row(0) = model.post_mean;
  expected.row(1) = precision.diagonal().cwiseInverse().cwiseSqrt().transpose();
  INFO("fitted\n" << r.mean() << "\nexpected\n" << expected);
  CHECK(((r.mean() - expected).cwiseAbs().array() < 4 * r.sd().array() + 0.003).all());
}

TEST_CASE("AutoNormal fits local latents of a subsampled plate", "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(26);
  const Index N = 20, batch = 5;
  Rng rng(3);
  const Matrix x = 2 * rng.normal(N, 1);
  // z_i ~ N(0, 1), x_i ~ N(z_i, 1): each z_i's posterior is N(x_i / 2, 1 / sqrt(2)).
  auto model = [&] {
    auto p = plate("data", N, batch);
    const Tensor z = sample("z", Normal(0, 1));
    sample("x", Normal(z, 1), Tensor(gather_rows(Tensor(x), p.indices())));
  };
  AutoNormal guide(model);
  Adam adam(0.02);
  SVI svi(model, guide, adam);
  for (int t = 0; t < 4000; ++t) svi.step();
  const Running r = fit(svi, 4000, 4000, [&] {
    Matrix m(N, 2);
    m.col(0) = param_store().entry("AutoNormal.locs.z").unconstrained.value();
    m.col(1) = param_store().get("AutoNormal.scales.z").value();
    return m;
  });
  Matrix expected(N, 2);
  expected.col(0) = x / 2;
  expected.col(1).setConstant(1 / std::sqrt(2.0));
  INFO("fitted\n" << r.mean() << "\nexpected\n" << expected);
  CHECK(((r.mean() - expected).cwiseAbs().array() < 4 * r.sd().array() + 0.02).all());
  // The guide opens the model's plate, so both see the same minibatch.
  Trace_ELBO elbo;
  auto [model_trace, guide_trace] = elbo.traces(model, guide);
  CHECK(guide_trace["data"].extras().indices == model_trace["data"].extras().indices);
  CHECK(term_scale(guide_trace["z"]) == Approx(double(N) / batch));
  CHECK(guide_trace["z"].value.rows() == batch);
}

TEST_CASE("AutoNormal fits a simplex-valued latent", "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(27);
  // p ~ Dirichlet(1, 1, 1); 30 categorical draws with counts 15, 10, 5: the posterior is
  // Dirichlet(16, 11, 6), mean (16, 11, 6) / 33. The logistic-Normal family only approximates
  // it, so the fitted median is compared to the mean with a loose tolerance.
  Matrix counts(30, 1);
  for (Index i = 0; i < 30; ++i) counts(i, 0) = i < 15 ? 0 : (i < 25 ? 1 : 2);
  auto model = [&] {
    const Tensor p = sample("p", Dirichlet(Tensor(Matrix::Ones(1, 3))));
    auto pl = plate("data", 30);
    sample("c", Categorical::from_probs(p), Tensor(counts));
  };
  AutoNormal guide(model);
  Adam adam(0.02);
  SVI svi(model, guide, adam);
  for (int t = 0; t < 3000; ++t) svi.step();
  const Matrix median = guide.median()["p"];
  REQUIRE(median.cols() == 3);
  CHECK(median.sum() == Approx(1));
  Matrix exact(1, 3);
  exact << 16.0 / 33, 11.0 / 33, 6.0 / 33;
  INFO("median " << median << " vs posterior mean " << exact);
  CHECK((median - exact).cwiseAbs().maxCoeff() < 0.05);
}

TEST_CASE("init strategies set where each latent starts", "[inference][autoguide]") {
  Fresh fresh;
  set_rng_seed(28);
  auto model = [] {
    sample("a", Gamma(3.0, 2.0));
    sample("b", Normal(4, 0.5));
    sample("c", Exponential(1.0));
  };
  auto start = [&](InitStrategy init) {
    param_store().clear();
    AutoNormal guide(model, AutoGuideOptions{"", std::move(init), 0.1});
    guide();
    tape().reset();
    return guide.median();
  };
  // to the mean: Gamma(3, rate 2) has mean 1.5; Normal 4; Exponential(1) 1.
  const SiteValues mean = start(init_to_mean());
  CHECK(mean.at("a")(0, 0) == Approx(1.5));
  CHECK(mean.at("b")(0, 0) == Approx(4));
  CHECK(mean.at("c")(0, 0) == Approx(1));
  // to given values, the rest by the fallback.
  const SiteValues given =
      start(init_to_value({{"a", Matrix::Constant(1, 1, 0.25)}}, init_to_mean()));
  CHECK(given.at("a")(0, 0) == Approx(0.25));
  CHECK(given.at("c")(0, 0) == Approx(1));
  // to the median of 15 draws: near the Normal's median 4 (the sample median's sd is about
  // 1.2533 * 0.5 / sqrt(15) = 0.16).
  const SiteValues median = start(init_to_median());
  CHECK(std::abs(median.at("b")(0, 0) - 4) < 5 * 0.16);
  CHECK(median.at("a")(0, 0) > 0);
  // A value outside the support, or of the wrong shape, is named.
  CHECK_THROWS_WITH(start(init_to_value({{"a", Matrix::Constant(1, 1, -1)}})),
                    Contains("'a'") && Contains("-1"));
  CHECK_THROWS_WITH(start(init_to_value({{"b", Matrix::Zero(2, 1)}})),
                    Contains("'b'") && Contains("2x1"));
  CHECK(handler_stack().empty());
}

TEST_CASE("autoguides name what they cannot fit", "[inference][autoguide]") {
  Fresh fresh;
  auto discrete = [] {
    const Tensor k = sample("k", Bernoulli::from_probs(0.3));
    sample("x", Normal(k, 1), Tensor(Scalar(0.5)));
  };
  AutoNormal g1(discrete);
  CHECK_THROWS_WITH(g1(), Contains("'k'") && Contains("discrete"));
  auto local = [] {
    auto p = plate("data", 10, 2);
    sample("z", Normal(0, 1));
  };
  AutoDiagonalNormal g2(local);
  CHECK_THROWS_WITH(g2(), Contains("'z'") && Contains("'data'") && Contains("AutoNormal"));
  AutoNormal g3(normal_model);
  CHECK_THROWS_WITH(g3.median(), Contains("AutoNormal") && Contains("not run"));
  CHECK_THROWS_WITH(AutoNormal(normal_model, AutoGuideOptions{"", init_to_median(), 0}),
                    Contains("init_scale"));
  CHECK(handler_stack().empty());
}

TEST_CASE("the prototype run is hidden from the caller's handlers", "[inference][autoguide]") {
  Fresh fresh;
  AutoNormal guide(normal_model);
  auto tr = trace();
  guide(data10());
  // Only the guide's own site and params: the model's x and its plate stayed inside.
  const Trace& t = tr.get_trace();
  CHECK(t.contains("z"));
  CHECK_FALSE(t.contains("x"));
  CHECK_FALSE(t.contains("data"));
  CHECK(t.contains("AutoNormal.locs.z"));
}
