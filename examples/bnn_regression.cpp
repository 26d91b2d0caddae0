// A Bayesian neural network for 1-D regression, with Pyro's HiddenLayer, trained by SVI.
//
// Data: y = x sin(x) + N(0, 0.3^2) at inputs drawn from [-4, -1] and [1, 4]: nothing is
// seen between -1 and 1. The network is 1(+bias)-50-50-1, a neural-linear model (Snoek et
// al. 2015; Riquelme et al. 2018; Ober & Rasmussen 2019, "Benchmarking the neural linear
// model for regression"): two HiddenLayers of 50 ReLU units learn the features, and the
// output layer's 51 weights w ~ N(0, I) get a full-covariance Gaussian posterior
// N(w_loc, L L^T), a Bayesian linear regression on the features.
//
// Why not a HiddenLayer for the output too: a mean-field posterior over every weight keeps
// the band narrow between two clusters of data (Foong et al. 2019, "In-between uncertainty
// in Bayesian neural networks"); here it came out about 2.5 times narrower in the gap than
// beside the data, with the noise over-estimated (0.40). The full covariance of w is what
// lets the band widen where the features are not pinned down by data.
//
// How it trains in a few seconds:
// - The output layer is sampled by local reparameterisation (Kingma, Salimans & Welling
//   2015), as HiddenLayer does for its own weights: given the features h of an input, f = h w
//   is Normal with mean h w_loc and variance |h L|^2, so f is drawn per input from that, at a
//   site whose log_prob is -KL(q(w) || p(w)) in closed form (LocalReparameterizedNormal, a
//   global term like a HiddenLayer's). Sampling w itself (a MultivariateNormal site in model
//   and guide) gives the same ELBO, but its gradient is so noisy that the fit stalls (noise
//   sd 0.45-0.5 after 6000 to 20000 steps).
// - The hidden layers' KL is weighted by 1e-3 (KL_factor), i.e. their weights stay close to
//   point estimates with a weak Gaussian prior, as the neural-linear model's features are
//   (Ober & Rasmussen fit them by the marginal likelihood, which the ELBO below becomes at
//   its optimum over q(w)). With KL_factor 1 the 2,600 hidden weights overwhelm 200 data
//   points: most units are pruned back to the prior (Trippe & Turner 2018) and the fit is
//   poor.
// The guide is empty: every variational parameter is a param of the model. The noise scale
// is a plain param, fitted by maximising the same ELBO.
//
// Afterwards Predictive draws the posterior predictive on a grid and on held-out points: the
// 90% interval should cover about 90% of held-out data, the fitted noise sd should be near
// 0.3, and the function's own (epistemic) band should be about twice as wide in the gap as
// beside the data. Caveat: that widening depends on the features, so it varies with the seed
// (about 1.7 to 2.8 times) and shrinks if training runs much longer, as feature learning by
// marginal likelihood tends to fit the data's uncertainty away (Ober, Rasmussen & van der
// Wilk 2021). With gnuplot installed (scripts/setup.sh installs gnuplot-nox) the example
// writes bnn_regression.png: data, predictive mean, the 90% bands of y and of the function.
//
// Run with no arguments; the last line printed is one JSON object of the results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/checkpoint.hpp"
#include "support/command_line.hpp"
#include "support/plot.hpp"

using namespace vesta;

namespace {

const Scalar kNoise = 0.3;
const Index kHidden = 50;

Matrix truth(const Matrix& x) { return (x.array() * x.array().sin()).matrix(); }

// n inputs from [-4, -1] and [1, 4] (a gap in between), as a column, and their targets.
std::pair<Matrix, Matrix> make_data(Index n, Rng& rng) {
  const Matrix u = rng.uniform(n, 1);
  Matrix x(n, 1);
  for (Index i = 0; i < n; ++i)
    x(i, 0) = u(i, 0) < 0.5 ? -4 + 6 * u(i, 0) : 1 + 6 * (u(i, 0) - 0.5);
  return {x, truth(x) + kNoise * rng.normal(n, 1)};
}

Matrix with_ones(const Matrix& x) {
  Matrix X(x.rows(), 2);
  X << x, Matrix::Ones(x.rows(), 1);
  return X;
}

// The hidden layers' KL weight (see the header).
const Scalar kKLFactor = 1e-3;

// Weight means start small and random (scaled by 1/sqrt(fan_in)), weight scales at 0.01.
Tensor weight_mean(const std::string& name, Index rows, Index cols, std::uint64_t seed) {
  return param(name,
               [=] { return Matrix(Rng(seed).normal(rows, cols) / std::sqrt(Scalar(rows))); });
}
Tensor weight_scale(const std::string& name, Index rows, Index cols) {
  return param(name, Matrix::Constant(rows, cols, 0.01), constraints::positive());
}

// X: inputs with a ones column (n x 2); y: targets, or none to predict.
void model(const Matrix& X, const std::optional<Matrix>& y) {
  const Tensor h1 =
      sample("h1", HiddenLayer(X, weight_mean("a1_mean", 2, kHidden, 1),
                               weight_scale("a1_scale", 2, kHidden), {.KL_factor = kKLFactor}));
  const Tensor h2 = sample(
      "h2", HiddenLayer(h1, weight_mean("a2_mean", kHidden + 1, kHidden, 2),
                        weight_scale("a2_scale", kHidden + 1, kHidden), {.KL_factor = kKLFactor}));

  // The output layer: prior w ~ N(0, I), posterior N(w_loc, L L^T), L lower-triangular.
  const Index d = kHidden + 1;
  const Tensor w_loc =
      param("w_loc", [=] { return Matrix(Rng(3).normal(1, d) / std::sqrt(Scalar(d))); });
  const Tensor L = param(
      "w_scale_tril", [=] { return Matrix(0.05 * Matrix::Identity(d, d)); },
      constraints::lower_cholesky());
  const auto posterior = MultivariateNormal::from_scale_tril(w_loc, L);
  const auto prior =
      MultivariateNormal::from_scale_tril(Matrix::Zero(1, d), Matrix::Identity(d, d));
  // f = h2 w for w ~ posterior, drawn per input from its Normal marginal (local
  // reparameterisation, with the site's generator); the site adds -KL(q(w) || p(w)), once.
  const Tensor f = sample("f", LocalReparameterizedNormal(matmul(h2, transpose(w_loc)),
                                                          rowwise_sum(square(matmul(h2, L))),
                                                          -kl_divergence(posterior, prior)));

  const Tensor sigma = param("sigma", 1.0, constraints::positive());
  auto data = plate("data", X.rows());
  sample("y", Normal(f, sigma), y ? std::optional<Tensor>(Tensor(*y)) : std::nullopt);
}

void guide(const Matrix&, const std::optional<Matrix>&) {}

// Per column of `draws`: mean and the 5% and 95% quantiles.
struct Band {
  Matrix mean, lo, hi;
};
Band band(const Matrix& draws) {
  Band b{draws.colwise().mean(), Matrix(1, draws.cols()), Matrix(1, draws.cols())};
  std::vector<Scalar> column(static_cast<std::size_t>(draws.rows()));
  for (Index j = 0; j < draws.cols(); ++j) {
    for (Index i = 0; i < draws.rows(); ++i) column[static_cast<std::size_t>(i)] = draws(i, j);
    std::sort(column.begin(), column.end());
    const auto at = [&](double q) {
      return column[static_cast<std::size_t>(q * double(column.size() - 1))];
    };
    b.lo(0, j) = at(0.05);
    b.hi(0, j) = at(0.95);
  }
  return b;
}

// Writes the plot with gnuplot; returns the PNG's path, or "" (saying why) without gnuplot.
std::string plot(const Matrix& x_train, const Matrix& y_train, const Matrix& grid, const Band& b,
                 const Band& fn) {
  const std::string png = "bnn_regression.png";
  Matrix data(x_train.rows(), 2), band(grid.rows(), 7);
  data << x_train.col(0), y_train.col(0);
  for (Index j = 0; j < grid.rows(); ++j) {
    band.row(j) << grid(j, 0), b.mean(0, j), b.lo(0, j), b.hi(0, j), truth(grid.row(j))(0, 0),
        fn.lo(0, j), fn.hi(0, j);
  }
  const bool written = examples::write_plot(
      png,
      "set title 'Neural-linear BNN (HiddenLayers, SVI): posterior predictive with a gap in the "
      "data'\n"
      "set xlabel 'x'; set ylabel 'y'; set key bottom center; set grid\n"
      "set object 1 rectangle from -1, graph 0 to 1, graph 1 fillcolor rgb '#f2f2f2' behind\n"
      "plot $band using 1:3:4 with filledcurves fillcolor rgb '#c6dbff' title '90% predictive "
      "interval', \\\n"
      "     $band using 1:6:7 with filledcurves fillcolor rgb '#7fa8e8' title '90% interval of "
      "the function', \\\n"
      "     $band using 1:2 with lines lw 2 lc rgb '#1f4e9c' title 'predictive mean', \\\n"
      "     $band using 1:5 with lines dt 2 lc rgb '#444444' title 'x sin x', \\\n"
      "     $data using 1:2 with points pt 7 ps 0.5 lc rgb '#d62728' title 'training data'",
      {{"band", band}, {"data", data}}, 900, 540);
  return written ? png : "";
}

int run(int argc, char** argv) {
  vesta::examples::CommandLine args(
      argc, argv,
      "A Bayesian neural network (HiddenLayers, neural-linear) fitted by SVI to 1-D data with a "
      "gap; reports the held-out fit and the band in the gap, and writes bnn_regression.png.");
  const long steps = args.integer("--steps", 6000, "SVI steps");
  const std::string checkpoint_path = args.text(
      "--checkpoint", "", "training checkpoint: written as it trains, resumed from if it exists");
  const long every = args.integer("--checkpoint-every", 500, "steps between checkpoints");
  if (args.finish()) return 0;
  const vesta::examples::TrainingCheckpoint checkpoint(checkpoint_path, every);

  set_rng_seed(2026);
  Rng data_rng(7);
  const auto [x_train, y_train] = make_data(200, data_rng);
  const auto [x_test, y_test] = make_data(500, data_rng);
  const Matrix X_train = with_ones(x_train), X_test = with_ones(x_test);

  Adam adam(0.01);
  SVI svi(model, guide, adam);
  // A checkpoint brings back the params, Adam's state and the generator: the run goes on as
  // if it had never stopped.
  const long resumed_steps = checkpoint.resume(adam);
  fmt::print(
      "training a 1-{}-{}-1 neural-linear BNN (HiddenLayers, full-covariance output layer) by SVI "
      "on {} points"
      " ({} steps)\n",
      kHidden, kHidden, x_train.rows(), steps);
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> losses;
  ProgressMeter meter(steps - resumed_steps);
  const ProgressCallback line = progress_line();
  for (long step = resumed_steps; step < steps; ++step) {
    losses.push_back(svi.step(X_train, std::optional<Matrix>(y_train)));
    line(meter.update(losses.back()));
    if (checkpoint.due(step + 1)) {
      checkpoint.save(step + 1, adam);
      fmt::print("checkpoint at step {}\n", step + 1);
      std::fflush(stdout);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (long step : {1L, 1000L, 2000L, 4000L, steps}) {
    if (step > resumed_steps && step <= steps)
      fmt::print("step {:5d}  loss {:9.2f}\n", step, losses[std::size_t(step - resumed_steps - 1)]);
  }

  // Held-out data: rmse of the predictive mean and coverage of the 90% interval.
  const Index draws = 1000;
  const Band test =
      band(Predictive(model, guide, draws, {"y"})(X_test, std::optional<Matrix>()).flat("y"));
  Index covered = 0;
  for (Index i = 0; i < x_test.rows(); ++i)
    covered += (y_test(i, 0) >= test.lo(0, i) && y_test(i, 0) <= test.hi(0, i));
  const double coverage = double(covered) / double(x_test.rows());
  const double rmse =
      std::sqrt((test.mean.transpose() - y_test).squaredNorm() / double(x_test.rows()));

  // The band on a grid, and its width in the gap against outside it.
  const Matrix grid = Vector::LinSpaced(241, -5, 5);
  const SiteSamples grid_draws =
      Predictive(model, guide, draws, {"y", "f"})(with_ones(grid), std::optional<Matrix>());
  const Band g = band(grid_draws.flat("y"));
  const Band gf = band(grid_draws.flat("f"));
  // Mean width of a band in the gap and where there is data.
  auto widths = [&](const Band& b) {
    double gap = 0, data = 0;
    Index n_gap = 0, n_data = 0;
    for (Index j = 0; j < grid.rows(); ++j) {
      const double w = b.hi(0, j) - b.lo(0, j), x = std::abs(grid(j, 0));
      if (x < 0.9) {
        gap += w;
        ++n_gap;
      } else if (x > 1.1 && x < 3.9) {
        data += w;
        ++n_data;
      }
    }
    return std::pair(gap / double(n_gap), data / double(n_data));
  };
  const auto [width_gap, width_data] = widths(g);
  const auto [f_width_gap, f_width_data] = widths(gf);
  const double sigma = param_store().get("sigma").item();
  tape().reset();
  fmt::print("held-out rmse {:.3f} (noise sd {}), 90% interval covers {:.1f}% of held-out points\n",
             rmse, kNoise, 100 * coverage);
  fmt::print(
      "fitted noise sd {:.3f}; mean 90% interval width {:.2f} in the gap vs {:.2f} where there is "
      "data\n",
      sigma, width_gap, width_data);
  fmt::print(
      "the function's own (epistemic) 90% band: {:.3f} in the gap vs {:.3f} where there is data\n",
      f_width_gap, f_width_data);
  const std::string png = plot(x_train, y_train, grid, g, gf);
  if (!png.empty()) fmt::print("plot written to {}\n", png);
  const double per_step_us = seconds / double(std::max(1L, steps - resumed_steps)) * 1e6;
  fmt::print("{:.2f} s of training, {:.1f} us per step\n", seconds, per_step_us);
  fmt::print(
      R"({{"example": "bnn_regression", "rmse": {:.4f}, "coverage_90": {:.3f}, "noise_sd": {:.4f}, )"
      R"("width_gap": {:.3f}, "width_data": {:.3f}, "f_width_gap": {:.3f}, "f_width_data": {:.3f}, "plot": {}, "steps": {}, "seconds": {:.2f}, "us_per_step": {:.1f}}})"
      "\n",
      rmse, coverage, sigma, width_gap, width_data, f_width_gap, f_width_data,
      png.empty() ? "null" : "\"" + png + "\"", steps, seconds, per_step_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return vesta::examples::run_example("bnn_regression", [&] { return run(argc, argv); });
}
