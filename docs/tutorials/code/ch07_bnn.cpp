// Chapter 7: Bayesian neural networks with HiddenLayer: Pyro's class, where Pyro's version
// breaks and why vesta's does not, the folded KL, the global-term rule and the UCI-style
// recipe.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/plot.hpp"
#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::Output;
using vesta::tutorial::report;

namespace {

const Index H = 32;    // hidden units
Scalar kl_factor = 1;  // vesta's rule: 1, wherever the layers sit

// [snippet model]
// A 1-32-1 network of two HiddenLayers. X has a column of ones (the first layer's bias
// input); the first layer appends one to its output (the second layer's). The layers sit in
// the model with their params; the plate sees the minibatch `rows`.
void model(const Matrix& X, const std::optional<Matrix>& y, const std::vector<Index>& rows) {
  auto data = plate("data", X.rows(), rows);
  const Tensor Xb = gather_rows(Tensor(X), data.indices());
  const Tensor a1_mean = param("a1_mean", [] { return Matrix(thread_rng().normal(2, H)); });
  const Tensor a1_scale = param("a1_scale", Matrix::Constant(2, H, 0.05), constraints::positive());
  const Tensor h = sample("h", HiddenLayer(Xb, a1_mean, a1_scale, {.KL_factor = kl_factor}));
  const Tensor a2_mean =
      param("a2_mean", [] { return Matrix(thread_rng().normal(H + 1, 1) / std::sqrt(H + 1.0)); });
  const Tensor a2_scale =
      param("a2_scale", Matrix::Constant(H + 1, 1, 0.05), constraints::positive());
  const Tensor f = sample(
      "f", HiddenLayer(
               h, a2_mean, a2_scale,
               {.KL_factor = kl_factor, .include_hidden_bias = false, .non_linearity = identity}));
  const Tensor sigma = param("sigma", 0.5, constraints::positive());
  sample("y", Normal(f, sigma),
         y ? std::optional<Tensor>(gather_rows(Tensor(*y), data.indices())) : std::nullopt);
}

void guide(const Matrix&, const std::optional<Matrix>&, const std::vector<Index>&) {}
// [end]

// A guide that also holds the two layers (the form Pyro cannot run with validation on): same
// params, so the guide's draws are replayed into the model.
void guide_with_layers(const Matrix& X, const std::optional<Matrix>&,
                       const std::vector<Index>& rows) {
  auto data = plate("data", X.rows(), rows);
  const Tensor h = sample("h", HiddenLayer(gather_rows(Tensor(X), data.indices()), param("a1_mean"),
                                           param("a1_scale")));
  sample("f", HiddenLayer(h, param("a2_mean"), param("a2_scale"),
                          {.include_hidden_bias = false, .non_linearity = identity}));
}

std::vector<Index> all_rows(Index n) {
  std::vector<Index> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), Index(0));
  return rows;
}

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}
double se_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1) / double(v.size()));
}

// y = x sin x + 0.3 noise, x uniform on [-3, 3]; X = [x, 1].
void make_data(Index n, Rng& rng, Matrix& X, Matrix& y) {
  const Matrix u = rng.uniform(n, 1), e = rng.normal(n, 1);
  X.resize(n, 2);
  y.resize(n, 1);
  for (Index i = 0; i < n; ++i) {
    const double x = -3 + 6 * u(i, 0);
    X.row(i) << x, 1;
    y(i, 0) = x * std::sin(x) + 0.3 * e(i, 0);
  }
}

}  // namespace

int main() {
  const Index N = 200, B = 50;
  Rng data_rng(4);
  Matrix X, y, X_test, y_test;
  make_data(N, data_rng, X, y);
  make_data(1000, data_rng, X_test, y_test);
  const std::optional<Matrix> observed(y);
  set_rng_seed(1);

  // [snippet folded]
  // A HiddenLayer's log_prob is minus its weight KL, whatever value it is asked to score.
  Matrix m = Matrix::Constant(2, 3, 0.5), s = Matrix::Constant(2, 3, 0.2);
  const HiddenLayer layer(X.topRows(4), m, s, {.KL_factor = 0.5});
  const double kl = layer.kl().item();
  const double log_prob = layer.log_prob(layer.rsample(thread_rng())).item();
  fmt::print("KL {:.4f}; log_prob of a draw {:.4f} = -0.5 x KL\n", kl, log_prob);
  // [end]
  report("layer_kl", kl);
  report("layer_log_prob", log_prob);
  // KL(N(0.5, 0.2) || N(0, 1)) per weight, six weights.
  report("layer_kl_by_hand", 6 * (std::log(1 / 0.2) + (0.2 * 0.2 + 0.25) / 2 - 0.5));
  tape().reset();

  // [snippet trace]
  std::vector<Index> batch;  // a minibatch: 50 of the 200 rows
  for (Index i = 0; i < N; i += 4) batch.push_back(i);
  const Trace t = trace(seed(model, 5)).get_trace(X, observed, batch);
  fmt::print("{}", t.format());
  // [end]
  {
    Output out("trace");
    fmt::print("{}", t.format());
  }
  report("batch_size", static_cast<double>(batch.size()));
  tape().reset();

  // [snippet unbiased]
  // At the initial params: the loss on all 200 rows, and on random minibatches of 50 with
  // KL_factor = 1 (vesta's rule) and with KL_factor = B / N (Pyro's recipe), 4000 each; the
  // two minibatch losses see the same rows and the same draws.
  Trace_ELBO elbo;
  std::vector<double> full, minibatch, pyro_style;
  Rng pick(9);
  auto random_batch = [&] {
    std::vector<Index> order = all_rows(N);
    std::shuffle(order.begin(), order.end(), pick);
    return std::vector<Index>(order.begin(), order.begin() + B);
  };
  for (int k = 0; k < 4000; ++k) {
    kl_factor = 1;
    full.push_back(elbo.loss(model, guide, X, observed, all_rows(N)));
    const std::vector<Index> rows = random_batch();
    set_rng_seed(100 + k);  // the same draws for both
    minibatch.push_back(elbo.loss(model, guide, X, observed, rows));
    kl_factor = Scalar(B) / Scalar(N);
    set_rng_seed(100 + k);
    pyro_style.push_back(elbo.loss(model, guide, X, observed, rows));
  }
  kl_factor = 1;
  // [end]
  const Trace at_init = trace(model).get_trace(X, observed, all_rows(N));
  const double total_kl = -(at_init.log_prob("h").item() + at_init.log_prob("f").item());
  tape().reset();
  fmt::print(
      "loss: full {:.1f} +- {:.1f}, minibatch {:.1f} +- {:.1f}, Pyro-style {:.1f} +- {:.1f}\n",
      mean_of(full), se_of(full), mean_of(minibatch), se_of(minibatch), mean_of(pyro_style),
      se_of(pyro_style));
  report("loss_full", mean_of(full));
  report("loss_minibatch", mean_of(minibatch));
  report("loss_minibatch_z",
         (mean_of(minibatch) - mean_of(full)) / std::hypot(se_of(minibatch), se_of(full)));
  report("loss_pyro_style", mean_of(pyro_style));
  report("total_kl", total_kl);
  report("pyro_style_gap", mean_of(minibatch) - mean_of(pyro_style));
  report("pyro_style_gap_expected", total_kl * (1 - double(B) / double(N)));

  // [snippet works]
  // What Pyro's HiddenLayer cannot do. No warning about sites missing from the guide:
  int warnings = 0;
  const WarningHandler previous = set_warning_handler([&](const std::string&) { ++warnings; });
  // TraceMeanField_ELBO, and the layers in the guide as well as the model, give the same
  // loss as Trace_ELBO for the same draws (the KL counts once, from the model):
  set_rng_seed(3);
  const double by_trace = Trace_ELBO().loss(model, guide, X, observed, batch);
  set_rng_seed(3);
  const double by_meanfield = TraceMeanField_ELBO().loss(model, guide, X, observed, batch);
  set_rng_seed(3);
  const double with_layers = Trace_ELBO().loss(model, guide_with_layers, X, observed, batch);
  // Predictive draws the activations like any other site:
  const SiteSamples draws = Predictive(model, guide, 10, {"f"})(X, std::nullopt, all_rows(N));
  set_warning_handler(previous);
  fmt::print("losses {:.4f} {:.4f} {:.4f}; f drawn {} times, shape {}x{}; {} warnings\n", by_trace,
             by_meanfield, with_layers, draws.num_samples(), draws.rows("f"), draws.cols("f"),
             warnings);
  // [end]
  report("by_trace", by_trace);
  report("by_meanfield", by_meanfield);
  report("with_layers", with_layers);
  report("warnings", warnings);
  report("predictive_rows", static_cast<double>(draws.rows("f")));

  // [snippet train]
  // The UCI-style recipe: layers inside the subsampled data plate, KL_factor = 1, each epoch
  // a walk through the shuffled rows in minibatches (the last one may be short).
  param_store().clear();
  set_rng_seed(2026);
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  svi.set_progress(nullptr);
  std::vector<Index> order = all_rows(N);
  Rng shuffle_rng(17);
  for (int epoch = 0; epoch < 2000; ++epoch) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    for (Index first = 0; first < N; first += B) {
      const auto last = order.begin() + std::min(first + B, N);
      svi.step(X, observed, std::vector<Index>(order.begin() + first, last));
    }
  }
  // [end]

  // [snippet evaluate]
  // The posterior predictive on 1000 held-out points: rmse of its mean, 90% coverage.
  const SiteSamples pred =
      Predictive(model, guide, 500, {"y"})(X_test, std::nullopt, all_rows(X_test.rows()));
  const Matrix mean = pred.mean("y"), lo = pred.quantile("y", 0.05), hi = pred.quantile("y", 0.95);
  const double rmse = std::sqrt((mean - y_test).squaredNorm() / double(y_test.rows()));
  const double covered =
      ((y_test.array() >= lo.array()) && (y_test.array() <= hi.array())).cast<double>().mean();
  fmt::print("held-out rmse {:.3f} (noise sd 0.3), 90% interval covers {:.3f}\n", rmse, covered);
  // [end]
  report("rmse", rmse);
  report("coverage_90", covered);
  report("coverage_se", std::sqrt(0.9 * 0.1 / 1000));
  report("sigma", param("sigma").item());
  tape().reset();

  // The figure: the predictive band on a grid.
  Matrix grid(121, 2);
  for (Index i = 0; i < 121; ++i) grid.row(i) << -4 + 8.0 * double(i) / 120, 1;
  const SiteSamples band =
      Predictive(model, guide, 500, {"y", "f"})(grid, std::nullopt, all_rows(grid.rows()));
  const Matrix b_mean = band.mean("f"), b_lo = band.quantile("y", 0.05),
               b_hi = band.quantile("y", 0.95), f_lo = band.quantile("f", 0.05),
               f_hi = band.quantile("f", 0.95);
  Matrix curve(121, 7), points(N, 2);
  for (Index i = 0; i < 121; ++i) {
    const double x = grid(i, 0);
    curve.row(i) << x, b_mean(i, 0), b_lo(i, 0), b_hi(i, 0), f_lo(i, 0), f_hi(i, 0),
        x * std::sin(x);
  }
  points << X.col(0), y;
  examples::write_plot(
      "ch07_bnn.png",
      "set title 'HiddenLayer BNN 1-32-1, minibatches of 50: posterior predictive'\n"
      "set xlabel 'x'; set ylabel 'y'; set grid; set key top center\n"
      "set object 1 rectangle from -4, graph 0 to -3, graph 1 fc rgb '#f2f2f2' behind\n"
      "set object 2 rectangle from 3, graph 0 to 4, graph 1 fc rgb '#f2f2f2' behind\n"
      "plot $c using 1:3:4 with filledcurves fc rgb '#c6dbff' title '90% predictive interval', "
      "$c using 1:5:6 with filledcurves fc rgb '#7fa8e8' title '90% interval of the function', "
      "$c using 1:2 with lines lw 2 lc rgb '#1f4e9c' title 'predictive mean', "
      "$c using 1:7 with lines dt 2 lc rgb '#444444' title 'x sin x', "
      "$p using 1:2 with points pt 7 ps 0.4 lc rgb '#d62728' title 'training data'",
      {{"c", curve}, {"p", points}}, 900, 480);
  tape().reset();
  return 0;
}
