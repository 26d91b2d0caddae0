// A Bayesian neural network for 1-D regression, with Pyro's HiddenLayer, trained by SVI.
//
// Data: y = x sin(x) + N(0, 0.3^2) at inputs drawn from [-4, -1] and [1, 4]: nothing is
// seen between -1 and 1. The network 1(+bias)-50-50-1 has a Normal posterior over every
// weight; each layer is a HiddenLayer site in the model, drawing its activations by local
// reparameterisation, and its log_prob folds minus the layer's KL into the ELBO. The guide
// is empty: the HiddenLayers' params are the variational parameters. The noise scale is a
// plain param, fitted by maximising the same ELBO.
//
// Afterwards Predictive draws the posterior predictive on a grid and on held-out points: the
// 90% interval should cover about 90% of held-out data. The example also measures the
// function's own (epistemic) band in the gap and beside the data: it widens outside the data,
// but a mean-field posterior is known to stay narrow between two clusters of data (Foong et
// al. 2019, "In-between uncertainty in Bayesian neural networks"), and the figures show it.
// With gnuplot installed (scripts/setup.sh installs gnuplot-nox) the example writes
// bnn_regression.png: data, predictive mean, the 90% bands of y and of the function.
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

using namespace vesta;

namespace {

const Scalar kNoise = 0.3;
const Index kHidden = 50;

Matrix truth(const Matrix& x) { return (x.array() * x.array().sin()).matrix(); }

// n inputs from [-4, -1] and [1, 4] (a gap in between), as a column, and their targets.
std::pair<Matrix, Matrix> make_data(Index n, Rng& rng) {
  const Matrix u = rng.uniform(n, 1);
  Matrix x(n, 1);
  for (Index i = 0; i < n; ++i) x(i, 0) = u(i, 0) < 0.5 ? -4 + 6 * u(i, 0) : 1 + 6 * (u(i, 0) - 0.5);
  return {x, truth(x) + kNoise * rng.normal(n, 1)};
}

Matrix with_ones(const Matrix& x) {
  Matrix X(x.rows(), 2);
  X << x, Matrix::Ones(x.rows(), 1);
  return X;
}

// Weight means start small and random (scaled by 1/sqrt(fan_in)), weight scales at 0.05.
Tensor weight_mean(const std::string& name, Index rows, Index cols, std::uint64_t seed) {
  return param(name, [=] { return Matrix(Rng(seed).normal(rows, cols) / std::sqrt(Scalar(rows))); });
}
Tensor weight_scale(const std::string& name, Index rows, Index cols) {
  return param(name, Matrix::Constant(rows, cols, 0.05), constraints::positive());
}

// X: inputs with a ones column (n x 2); y: targets, or none to predict.
void model(const Matrix& X, const std::optional<Matrix>& y) {
  const auto identity = [](const Tensor& t) { return t; };

  const Tensor h1 = sample("h1", HiddenLayer(Tensor(X), weight_mean("a1_mean", 2, kHidden, 1),
                                             weight_scale("a1_scale", 2, kHidden)));
  const Tensor h2 = sample("h2", HiddenLayer(h1, weight_mean("a2_mean", kHidden + 1, kHidden, 2),
                                             weight_scale("a2_scale", kHidden + 1, kHidden)));
  const Tensor f = sample("f", HiddenLayer(h2, weight_mean("a3_mean", kHidden + 1, 1, 3),
                                           weight_scale("a3_scale", kHidden + 1, 1), identity, 1, Scalar(1), false));
  const Tensor sigma = param("sigma", Matrix::Constant(1, 1, 1), constraints::positive());
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
    const auto at = [&](double q) { return column[static_cast<std::size_t>(q * double(column.size() - 1))]; };
    b.lo(0, j) = at(0.05);
    b.hi(0, j) = at(0.95);
  }
  return b;
}

// Writes the plot with gnuplot; returns the PNG's path, or "" (saying why) without gnuplot.
std::string plot(const Matrix& x_train, const Matrix& y_train, const Matrix& grid, const Band& b, const Band& fn) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    fmt::print("gnuplot not found (apt-get install gnuplot-nox): no plot written\n");
    return "";
  }
  const std::string data_file = "bnn_regression_data.tmp", band_file = "bnn_regression_band.tmp",
                    png = "bnn_regression.png";
  {
    std::FILE* f = std::fopen(data_file.c_str(), "w");
    for (Index i = 0; i < x_train.rows(); ++i) fmt::print(f, "{} {}\n", x_train(i, 0), y_train(i, 0));
    std::fclose(f);
    std::FILE* g = std::fopen(band_file.c_str(), "w");
    for (Index j = 0; j < grid.rows(); ++j) {
      fmt::print(g, "{} {} {} {} {} {} {}\n", grid(j, 0), b.mean(0, j), b.lo(0, j), b.hi(0, j), truth(grid.row(j))(0, 0),
                 fn.lo(0, j), fn.hi(0, j));
    }
    std::fclose(g);
  }
  std::FILE* gp = popen("gnuplot", "w");
  if (gp == nullptr) return "";
  fmt::print(gp,
             "set terminal pngcairo size 900,540 font 'sans,11'\n"
             "set output '{png}'\n"
             "set title 'BNN regression (HiddenLayer, SVI): posterior predictive with a gap in the data'\n"
             "set xlabel 'x'; set ylabel 'y'; set key top left; set grid\n"
             "set object 1 rectangle from -1, graph 0 to 1, graph 1 fillcolor rgb '#f2f2f2' behind\n"
             "plot '{band}' using 1:3:4 with filledcurves fillcolor rgb '#c6dbff' title '90% predictive interval', \\\n"
             "     '{band}' using 1:6:7 with filledcurves fillcolor rgb '#7fa8e8' title '90% interval of the function', \\\n"
             "     '{band}' using 1:2 with lines lw 2 lc rgb '#1f4e9c' title 'predictive mean', \\\n"
             "     '{band}' using 1:5 with lines dt 2 lc rgb '#444444' title 'x sin x', \\\n"
             "     '{data}' using 1:2 with points pt 7 ps 0.5 lc rgb '#d62728' title 'training data'\n",
             fmt::arg("png", png), fmt::arg("band", band_file), fmt::arg("data", data_file));
  const int status = pclose(gp);
  std::remove(data_file.c_str());
  std::remove(band_file.c_str());
  if (status != 0) {
    fmt::print("gnuplot failed (status {}): no plot written\n", status);
    return "";
  }
  return png;
}

}  // namespace

int main() {
  set_rng_seed(2026);
  Rng data_rng(7);
  const auto [x_train, y_train] = make_data(200, data_rng);
  const auto [x_test, y_test] = make_data(500, data_rng);
  const Matrix X_train = with_ones(x_train), X_test = with_ones(x_test);

  Adam adam(0.01);
  SVI svi(model, guide, adam);
  const int steps = 6000;
  fmt::print("training a 1-{}-{}-1 BNN of HiddenLayers by SVI on {} points ({} steps)\n", kHidden, kHidden,
             x_train.rows(), steps);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<double> losses = svi.run(steps, X_train, std::optional<Matrix>(y_train));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int step : {1, 1000, 2000, 4000, steps}) fmt::print("step {:5d}  loss {:9.2f}\n", step, losses[std::size_t(step - 1)]);

  // Held-out data: rmse of the predictive mean and coverage of the 90% interval.
  const Index draws = 1000;
  const Band test = band(Predictive(model, guide, draws, {"y"})(X_test, std::optional<Matrix>()).at("y"));
  Index covered = 0;
  for (Index i = 0; i < x_test.rows(); ++i) covered += (y_test(i, 0) >= test.lo(0, i) && y_test(i, 0) <= test.hi(0, i));
  const double coverage = double(covered) / double(x_test.rows());
  const double rmse = std::sqrt((test.mean.transpose() - y_test).squaredNorm() / double(x_test.rows()));

  // The band on a grid, and its width in the gap against outside it.
  const Matrix grid = Vector::LinSpaced(241, -5, 5);
  const SiteSamples grid_draws = Predictive(model, guide, draws, {"y", "f"})(with_ones(grid), std::optional<Matrix>());
  const Band g = band(grid_draws.at("y"));
  const Band gf = band(grid_draws.at("f"));
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
  fmt::print("held-out rmse {:.3f} (noise sd {}), 90% interval covers {:.1f}% of held-out points\n", rmse, kNoise,
             100 * coverage);
  fmt::print("fitted noise sd {:.3f}; mean 90% interval width {:.2f} in the gap vs {:.2f} where there is data\n",
             sigma, width_gap, width_data);
  fmt::print("the function's own (epistemic) 90% band: {:.3f} in the gap vs {:.3f} where there is data\n",
             f_width_gap, f_width_data);
  const std::string png = plot(x_train, y_train, grid, g, gf);
  if (!png.empty()) fmt::print("plot written to {}\n", png);
  fmt::print("{:.2f} s of training, {:.1f} us per step\n", seconds, seconds / steps * 1e6);
  fmt::print(R"({{"example": "bnn_regression", "rmse": {:.4f}, "coverage_90": {:.3f}, "noise_sd": {:.4f}, )"
             R"("width_gap": {:.3f}, "width_data": {:.3f}, "f_width_gap": {:.3f}, "f_width_data": {:.3f}, "plot": {}, "steps": {}, "seconds": {:.2f}, "us_per_step": {:.1f}}})"
             "\n",
             rmse, coverage, sigma, width_gap, width_data, f_width_gap, f_width_data, png.empty() ? "null" : "\"" + png + "\"", steps, seconds,
             seconds / steps * 1e6);
}
