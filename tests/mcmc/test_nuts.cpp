// NUTS and HMC on targets whose moments are known: a 100-dimensional standard normal, an
// ill-conditioned Gaussian (condition number 1e4) with the dense metric, a scaled Gaussian
// by static HMC; and MCMC's bookkeeping: reproducibility from the seed, threads or not,
// draws per site in the site's shape, Predictive at posterior samples, named errors.
#include <cmath>
#include <exception>
#include <memory>

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/posteriordb.hpp"

using namespace vesta;
using Catch::Matchers::Contains;

namespace {

MCMCOptions quiet(std::uint64_t seed) {
  MCMCOptions o;
  o.seed = seed;
  o.progress = nullptr;
  return o;
}

// The draws of entry `i` of site `name`: one column per chain.
Eigen::MatrixXd entry_draws(const std::vector<SiteSamples>& chains, const std::string& name,
                            Index i) {
  const auto n = static_cast<Eigen::Index>(chains.front().num_samples());
  Eigen::MatrixXd x(n, static_cast<Eigen::Index>(chains.size()));
  for (std::size_t c = 0; c < chains.size(); ++c) {
    for (Eigen::Index t = 0; t < n; ++t) {
      x(t, static_cast<Eigen::Index>(c)) = static_cast<double>(chains[c].draw(name, t).data()[i]);
    }
  }
  return x;
}

double sd_of(const Eigen::MatrixXd& x) {
  return std::sqrt((x.array() - x.mean()).square().sum() / static_cast<double>(x.size() - 1));
}

// The standard error of the sd of Gaussian draws: sd / sqrt(2 n), n the ESS of the squared
// deviations (NUTS's draws are antithetic for the mean, so the mean's ESS would be too
// optimistic here).
double sd_standard_error(const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd sq = (x.array() - x.mean()).square().matrix();
  return sd_of(x) / std::sqrt(2 * effective_sample_size(sq));
}

}  // namespace

TEST_CASE("NUTS: a 100-dimensional standard normal", "[mcmc]") {
  auto model = [] { sample("z", Normal(0, 1).expand(100, 1)); };
  MCMC mcmc(NUTS{model}, 1000, 1000, 1, quiet(17));
  mcmc.run();
  const ChainResult& chain = mcmc.chains().front();
  CHECK(mcmc.num_divergences() == 0);
  // Adapted: the mean acceptance statistic near its target, a step size of the order the
  // dimension allows (about d^-1/4 for a leapfrog on a standard normal).
  const double accept = Eigen::Map<const Eigen::VectorXd>(chain.accept_stat.data(), 1000).mean();
  CHECK(accept == Approx(0.8).margin(0.1));
  CHECK(chain.step_size > 0.2);
  CHECK(chain.step_size < 1.5);
  for (Index i = 0; i < 100; ++i) {
    const Eigen::MatrixXd x = entry_draws(mcmc.get_samples_by_chain(), "z", i);
    const double ess = effective_sample_size(x);
    INFO("z[" << i << "] ess " << ess);
    // 4.5 standard errors per coordinate: over 100 coordinates a false alarm has probability
    // below 1e-3.
    CHECK(std::abs(x.mean()) < 4.5 / std::sqrt(ess));
    CHECK(std::abs(sd_of(x) - 1) < 4.5 * sd_standard_error(x));
  }
}

TEST_CASE("NUTS: an ill-conditioned Gaussian (condition number 1e4) with the dense metric",
          "[mcmc]") {
  const Index d = 10;
  // Covariance R diag(lambda) R' with eigenvalues log-spaced over 1e-2 .. 1e2 and a fixed
  // random rotation R: the coordinates are strongly correlated and their scales differ.
  Rng rng(4);
  const Eigen::MatrixXd a =
      Eigen::MatrixXd::NullaryExpr(d, d, [&] { return double(rng.normal()); });
  const Eigen::MatrixXd r = Eigen::HouseholderQR<Eigen::MatrixXd>(a).householderQ();
  Eigen::VectorXd lambda(d);
  for (Index i = 0; i < d; ++i) lambda[i] = std::pow(10.0, -2 + 4 * double(i) / double(d - 1));
  const Eigen::MatrixXd cov = r * lambda.asDiagonal() * r.transpose();
  const Eigen::MatrixXd chol = cov.llt().matrixL();
  const Matrix l = chol.cast<Scalar>();
  auto model = [&l, d] {
    sample("x", MultivariateNormal::from_scale_tril(Tensor(Matrix::Zero(1, d)), Tensor(l)));
  };
  NUTSOptions options;
  options.dense_mass = true;
  MCMC mcmc(NUTS{model, options}, 1000, 1000, 1, quiet(23));
  mcmc.run();
  const ChainResult& chain = mcmc.chains().front();
  CHECK(mcmc.num_divergences() == 0);
  // The estimated metric matches the covariance, so the step size is that of a standard
  // normal (order 1), not the 1e-1 the smallest scale would force with a unit metric.
  CHECK(chain.step_size > 0.3);
  const Eigen::MatrixXd est = chain.inverse_metric;
  CHECK((est - cov).norm() / cov.norm() < 0.3);
  // Whitened draws L^-1 x are standard normal.
  const Eigen::MatrixXd w =
      chol.triangularView<Eigen::Lower>().solve(chain.draws.transpose()).transpose();
  for (Index i = 0; i < d; ++i) {
    const Eigen::MatrixXd x = w.col(i);
    const double ess = effective_sample_size(x);
    INFO("whitened coordinate " << i << " ess " << ess);
    CHECK(std::abs(x.mean()) < 4.5 / std::sqrt(ess));
    CHECK(std::abs(sd_of(x) - 1) < 4.5 * sd_standard_error(x));
  }
}

TEST_CASE("HMC: a Gaussian with different scales", "[mcmc]") {
  Matrix scales(5, 1);
  scales << 0.5, 1, 2, 3, 0.2;
  auto model = [&scales] { sample("z", Normal(Tensor(Matrix::Ones(5, 1)), Tensor(scales))); };
  HMCOptions options;
  options.trajectory_length = 2;
  MCMC mcmc(HMC{model, options}, 500, 2000, 1, quiet(31));
  mcmc.run();
  CHECK(mcmc.num_divergences() == 0);
  for (Index i = 0; i < 5; ++i) {
    const Eigen::MatrixXd x = entry_draws(mcmc.get_samples_by_chain(), "z", i);
    const double ess = effective_sample_size(x), s = double(scales(i, 0));
    INFO("z[" << i << "] ess " << ess);
    CHECK(std::abs(x.mean() - 1) < 4.5 * s / std::sqrt(ess));
    CHECK(std::abs(sd_of(x) - s) < 4.5 * sd_standard_error(x));
  }
}

TEST_CASE("MCMC: reproducible from the seed, with or without threads", "[mcmc]") {
  const Matrix y = (Matrix(8, 1) << 28, 8, -3, 7, -1, 1, 18, 12).finished();
  const Matrix sigma = (Matrix(8, 1) << 15, 10, 16, 11, 9, 11, 10, 18).finished();
  const examples::posteriordb::EightSchools model{y, sigma};
  auto run = [&](std::uint64_t seed, bool parallel) {
    MCMCOptions o = quiet(seed);
    o.parallel = parallel;
    MCMC mcmc(NUTS{model}, 100, 50, 2, o);
    mcmc.run();
    return mcmc.get_samples();
  };
  const SiteSamples a = run(1, true), b = run(1, false), c = run(2, true);
  REQUIRE(a.num_samples() == 100);
  for (Index k = 0; k < 100; ++k) {
    CHECK(a.draw("tau", k)(0, 0) == b.draw("tau", k)(0, 0));
  }
  CHECK((a.flat("theta_trans") - c.flat("theta_trans")).norm() > 0);
  // Each site in its own shape and support; the deterministic theta too.
  CHECK(a.rows("theta_trans") == 8);
  CHECK(a.cols("theta_trans") == 1);
  CHECK(a.rows("theta") == 8);
  CHECK(a.quantile("tau", 0.0)(0, 0) > 0);
  const Matrix theta0 =
      (a.draw("tau", 3)(0, 0) * a.draw("theta_trans", 3)).array() + a.draw("mu", 3)(0, 0);
  CHECK((a.draw("theta", 3) - theta0).norm() < 1e-3);
  // Predictive at the posterior draws: y replicated per draw, in y's shape.
  auto unobserved = [&](std::optional<Matrix> obs) {
    const Tensor mu = sample("mu", Normal(0, 5));
    const Tensor tau = sample("tau", HalfCauchy(5));
    auto schools = plate("schools", 8);
    const Tensor theta_trans = sample("theta_trans", Normal(0, 1));
    sample("y", Normal(mu + tau * theta_trans, sigma),
           obs ? std::optional<Tensor>(Tensor(*obs)) : std::nullopt);
  };
  const SiteSamples replicated = Predictive(unobserved,
                                            SiteSamples({{"mu", a.draws("mu")},
                                                         {"tau", a.draws("tau")},
                                                         {"theta_trans", a.draws("theta_trans")}}),
                                            std::vector<std::string>{"y"})(std::optional<Matrix>());
  CHECK(replicated.num_samples() == 100);
  CHECK(replicated.rows("y") == 8);
  // MCMC's samples as they come, deterministic theta included: the model computes theta again.
  const SiteSamples again = Predictive(model, a, std::vector<std::string>{"theta"})();
  CHECK((again.draw("theta", 7) - a.draw("theta", 7)).norm() < 1e-3);
}

namespace {

// Runs the odd chains here and takes the even ones from a finished run, as another process
// would send them.
class OddChainsHere : public ChainExchange {
 public:
  explicit OddChainsHere(std::vector<ChainResult> sent) : sent_(std::move(sent)) {}
  bool runs(int chain, int) const override { return chain % 2 == 1; }
  void exchange(std::vector<ChainResult>& chains, std::exception_ptr error) override {
    if (error) std::rethrow_exception(error);
    for (std::size_t c = 0; c < chains.size(); c += 2) chains[c] = sent_[c];
  }

 private:
  std::vector<ChainResult> sent_;
};

}  // namespace

TEST_CASE("MCMC: the chains an exchange leaves here equal those of a run of all", "[mcmc]") {
  const Matrix y = (Matrix(6, 1) << 1.2, 0.4, 2.1, 1.7, 0.9, 1.5).finished();
  auto model = [&y] {
    const Tensor mu = sample("mu", Normal(0, 2));
    const Tensor sigma = sample("sigma", HalfNormal(1));
    deterministic("mu_twice", mu * 2);
    auto data = plate("data", y.rows());
    sample("y", Normal(mu, sigma), Tensor(y));
  };
  const int num_chains = 5;
  MCMC all(NUTS{model}, 50, 20, num_chains, quiet(3));
  all.run();
  for (bool parallel : {true, false}) {
    INFO("parallel " << parallel);
    MCMCOptions o = quiet(3);
    o.parallel = parallel;
    o.exchange = std::make_shared<OddChainsHere>(all.chains());
    MCMC spread(NUTS{model}, 50, 20, num_chains, o);
    spread.run();
    for (int c = 1; c < num_chains; c += 2) {
      INFO("chain " << c);
      const auto k = static_cast<std::size_t>(c);
      CHECK(spread.chains()[k].draws == all.chains()[k].draws);
      CHECK(spread.get_samples_by_chain()[k].flat("mu_twice") ==
            all.get_samples_by_chain()[k].flat("mu_twice"));
    }
  }
}

TEST_CASE("MCMC: bad sizes, options and models are named errors", "[mcmc]") {
  auto model = [] { sample("z", Normal(0, 1)); };
  CHECK_THROWS_WITH(MCMC(NUTS(model), 10, 0, 1), Contains("num_samples"));
  CHECK_THROWS_WITH(MCMC(NUTS(model), 10, 10, 0), Contains("num_chains"));
  NUTSOptions bad;
  bad.target_accept = 1.5;
  CHECK_THROWS_WITH(NUTS(model, bad), Contains("target_accept"));
  auto discrete = [] {
    const Tensor z = sample("z", Normal(0, 1));
    sample("flip", Bernoulli::from_logits(z));
  };
  MCMC mcmc(NUTS{discrete}, 10, 10, 1, quiet(1));
  CHECK_THROWS_WITH(mcmc.run(), Contains("'flip'") && Contains("discrete"));
  CHECK_THROWS_WITH(mcmc.get_samples(), Contains("run("));
  // An improper posterior: no step size is too large.
  auto flat = [] {
    const Tensor z = sample("z", Normal(0, 1));
    factor("cancel", -Normal(0, 1).log_prob(z));
  };
  MCMC improper(NUTS{flat}, 10, 10, 1, quiet(1));
  CHECK_THROWS_WITH(improper.run(), Contains("improper"));
}

TEST_CASE("MCMC: the summary table", "[mcmc]") {
  auto model = [] { sample("z", Normal(3, 2).expand(2, 1)); };
  MCMC mcmc(NUTS{model}, 300, 500, 2, quiet(5));
  mcmc.run();
  const MCMCSummary s = mcmc.summary();
  REQUIRE(s.rows.size() == 2);
  CHECK(s.rows[1].name == "z[1]");
  const SummaryRow& z0 = s.at("z[0]");
  CHECK(z0.mean == Approx(3).margin(4.5 * 2 / std::sqrt(z0.ess_bulk)));
  CHECK(z0.q05 < z0.q50);
  CHECK(z0.q50 < z0.q95);
  CHECK(z0.rhat < 1.02);
  const std::string table = s.format();
  CHECK_THAT(table, Contains("ess_bulk") && Contains("z[1]") && Contains("divergences"));
  CHECK_THROWS_WITH(s.at("w"), Contains("'w'"));
}

TEST_CASE("MCMC: points the model rejects are redrawn at init and end trajectories", "[mcmc]") {
  // The Cholesky factor of [[1, z], [z, 1]] exists only for |z| < 1: Stan's uniform(-2, 2)
  // init draws outside half the time, and trajectories reach the edge. Its log-determinant,
  // log(1 - z^2), makes the density vanish there.
  auto model = [] {
    const Tensor z = sample("z", Normal(0, 1));
    const Tensor m = hstack({vstack({Tensor(Scalar(1)), z}), vstack({z, Tensor(Scalar(1))})});
    const Tensor l = cholesky(m);
    global_factor("log_det", Scalar(2) * sum(log(gather_rows(gather_cols(l, {1}), {1}))));
  };
  MCMC mcmc(NUTS{model}, 300, 1000, 1, quiet(3));
  mcmc.run();
  const SiteSamples s = mcmc.get_samples();
  // The density is proportional to phi(z) (1 - z^2) on (-1, 1): symmetric about 0.
  const double mean = static_cast<double>(s.mean("z")(0, 0));
  const double ess = mcmc.summary().at("z").ess_bulk;
  CHECK(std::abs(mean) < 4.5 * 0.45 / std::sqrt(ess));
  CHECK(s.quantile("z", 0.0)(0, 0) > -1);
  CHECK(s.quantile("z", 1.0)(0, 0) < 1);
}
