// Bayesian linear regression with an autoguide, after Pyro's Bayesian regression tutorial.
//
// Synthetic data in the spirit of the tutorial's terrain data: an outcome that falls with a
// terrain index x1, is lower inside a region (x2 = 1), and where the slope differs inside
// the region (the interaction x1 * x2). The model:
//
//   a ~ Normal(0, 10),  b ~ Normal(0, 1) (three coefficients),  sigma ~ Uniform(0, 10)
//   y_i ~ Normal(a + b . (x1, x2, x1 x2)_i, sigma)
//
// AutoNormal fits a Normal per latent in unconstrained space (sigma through a sigmoid onto
// (0, 10)); Predictive then draws from the posterior for summaries and credible intervals,
// and from the posterior predictive of held-out data, whose 90% intervals should cover about
// 90% of it. AutoNormal is mean-field: it ignores how the region's offset and the interaction
// trade off against each other, so its posterior sds are narrower than the exact posterior's
// (AutoMultivariateNormal keeps those correlations).
//
// Run with no arguments; the last line printed is one JSON object of the results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"

using namespace vesta;

namespace {

const Scalar kTrueA = 9.2, kTrueSigma = 0.9;
const Scalar kTrueB[3] = {-0.2, -1.9, 0.35};
const char* const kNames[4] = {"a", "b_terrain", "b_region", "b_interaction"};

// n points: columns x1, x2, x1 * x2; and y drawn from the true model.
std::pair<Matrix, Matrix> make_data(Index n, Rng& rng) {
  Matrix X(n, 3), y(n, 1);
  const Matrix u = rng.uniform(n, 2);
  const Matrix eps = rng.normal(n, 1);
  for (Index i = 0; i < n; ++i) {
    X(i, 0) = 6 * u(i, 0);
    X(i, 1) = u(i, 1) < 0.3 ? 1 : 0;
    X(i, 2) = X(i, 0) * X(i, 1);
    y(i, 0) = kTrueA + kTrueB[0] * X(i, 0) + kTrueB[1] * X(i, 1) + kTrueB[2] * X(i, 2) +
              kTrueSigma * eps(i, 0);
  }
  return {X, y};
}

void model(const Matrix& X, const std::optional<Matrix>& y) {
  const Tensor a = sample("a", Normal(0, 10));
  const Tensor b = sample("b", Normal(Tensor(Matrix::Zero(1, 3)), 1).to_event(1));
  const Tensor sigma = sample("sigma", Uniform(0, 10));
  auto data = plate("data", X.rows());
  const Tensor mu = deterministic("mu", a + matmul(Tensor(X), transpose(b)));
  sample("obs", Normal(mu, sigma), y ? std::optional<Tensor>(Tensor(*y)) : std::nullopt);
}

// The q-quantile of each column of `draws`.
Matrix column_quantile(const Matrix& draws, double q) {
  Matrix out(1, draws.cols());
  std::vector<Scalar> column(static_cast<std::size_t>(draws.rows()));
  for (Index j = 0; j < draws.cols(); ++j) {
    for (Index i = 0; i < draws.rows(); ++i) column[static_cast<std::size_t>(i)] = draws(i, j);
    const auto k = static_cast<std::ptrdiff_t>(q * double(column.size() - 1));
    std::nth_element(column.begin(), column.begin() + k, column.end());
    out(0, j) = column[static_cast<std::size_t>(k)];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(
          argc, argv, "Bayesian linear regression with an autoguide, after Pyro's tutorial.");
      status >= 0)
    return status;
  set_rng_seed(2026);
  Rng data_rng(7);
  const auto [X, y] = make_data(400, data_rng);
  const auto [X_test, y_test] = make_data(500, data_rng);

  AutoNormal guide(model);
  Adam adam(0.03);
  // The learning rate decays tenfold over the run, so the final params settle.
  adam.set_schedule(schedules::exponential_decay(0.03, std::pow(0.1, 1.0 / 5000)));
  SVI svi(model, guide, adam);
  const int steps = 5000;
  fmt::print("fitting a Bayesian linear regression to {} points with AutoNormal, {} steps\n",
             X.rows(), steps);
  const auto start = std::chrono::steady_clock::now();
  const std::optional<Matrix> observed(y);
  const std::vector<double> losses =
      svi.run(steps, X, observed);  // a progress line if it takes a while
  for (int step = 1; step <= steps; ++step) {
    if (step == 1 || step % 1000 == 0)
      fmt::print("step {:5d}  loss {:9.2f}\n", step, losses[std::size_t(step - 1)]);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Posterior summaries from 2000 draws of the guide.
  const Index draws = 2000;
  const SiteSamples post =
      Predictive(model, guide, draws, {"a", "b", "sigma"})(X, std::optional<Matrix>());
  Matrix params(draws, 5);
  params << post.flat("a"), post.flat("b"), post.flat("sigma");
  const Matrix mean = params.colwise().mean();
  const Matrix centred = params.rowwise() - mean.row(0);
  const Matrix sd = (centred.cwiseProduct(centred).colwise().sum() / double(draws - 1)).cwiseSqrt();
  const Matrix q05 = column_quantile(params, 0.05), q50 = column_quantile(params, 0.5),
               q95 = column_quantile(params, 0.95);
  const Scalar truth[5] = {kTrueA, kTrueB[0], kTrueB[1], kTrueB[2], kTrueSigma};
  fmt::print("\n{:<14} {:>8} {:>7} {:>8} {:>8} {:>8} {:>7}\n", "site", "mean", "sd", "5%", "50%",
             "95%", "true");
  for (Index j = 0; j < 5; ++j) {
    fmt::print("{:<14} {:8.3f} {:7.3f} {:8.3f} {:8.3f} {:8.3f} {:7.2f}\n",
               j < 4 ? kNames[j] : "sigma", mean(0, j), sd(0, j), q05(0, j), q50(0, j), q95(0, j),
               truth[j]);
  }

  // The posterior predictive of held-out data: its 90% intervals and its mean.
  const SiteSamples pred =
      Predictive(model, guide, draws, {"obs", "mu"})(X_test, std::optional<Matrix>());
  const Matrix lo = column_quantile(pred.flat("obs"), 0.05),
               hi = column_quantile(pred.flat("obs"), 0.95);
  const Matrix mu_mean = pred.flat("mu").colwise().mean();
  Index covered = 0;
  for (Index i = 0; i < X_test.rows(); ++i)
    covered += (y_test(i, 0) >= lo(0, i) && y_test(i, 0) <= hi(0, i)) ? 1 : 0;
  const double coverage = double(covered) / double(X_test.rows());
  const double rmse =
      std::sqrt((mu_mean.transpose() - y_test).squaredNorm() / double(X_test.rows()));
  fmt::print(
      "\nheld-out: {:.1f}% inside the 90% predictive interval; rmse of the predictive mean {:.3f} "
      "(noise sd {})\n",
      100 * coverage, rmse, kTrueSigma);
  fmt::print("{:.2f} s, {:.1f} us per step\n", seconds, seconds / steps * 1e6);
  fmt::print(
      R"({{"example": "bayesian_regression", "a": {:.4f}, "b": [{:.4f}, {:.4f}, {:.4f}], "sigma": {:.4f}, )"
      R"("true_a": {}, "true_b": [{}, {}, {}], "true_sigma": {}, "coverage_90": {:.3f}, "rmse": {:.4f}, )"
      R"("steps": {}, "us_per_step": {:.1f}}})"
      "\n",
      mean(0, 0), mean(0, 1), mean(0, 2), mean(0, 3), mean(0, 4), kTrueA, kTrueB[0], kTrueB[1],
      kTrueB[2], kTrueSigma, coverage, rmse, steps, seconds / steps * 1e6);
}
