// Chapter 6: Bayesian regression with autoguides and Predictive; checking calibration.
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <Eigen/LU>

#include <vesta/vesta.hpp>

#include "support/plot.hpp"
#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::report;

namespace {

const Scalar kNoise = 0.9;

// [snippet data]
// Terrain-like data: the outcome falls with a terrain index x1, is lower inside a region
// (x2 = 1), and its slope differs there (the interaction x1 x2). Columns: x1, x2, x1 x2.
std::pair<Matrix, Matrix> make_data(Index n, Rng& rng) {
  Matrix X(n, 3), y(n, 1);
  const Matrix u = rng.uniform(n, 2), eps = rng.normal(n, 1);
  for (Index i = 0; i < n; ++i) {
    X(i, 0) = 6 * u(i, 0);
    X(i, 1) = u(i, 1) < 0.3 ? 1 : 0;
    X(i, 2) = X(i, 0) * X(i, 1);
    y(i, 0) = 9.2 - 0.2 * X(i, 0) - 1.9 * X(i, 1) + 0.35 * X(i, 2) + kNoise * eps(i, 0);
  }
  return {X, y};
}
// [end]

// [snippet model]
// The noise sd is known (0.9), so the exact posterior of (a, b) is a Normal we can compute.
void model(const Matrix& X, const std::optional<Matrix>& y) {
  const Tensor a = sample("a", Normal(0, 10));
  const Tensor b = sample("b", Normal(Tensor(Matrix::Zero(1, 3)), 1).to_event(1));
  auto data = plate("data", X.rows());
  const Tensor mu = deterministic("mu", a + matmul(Tensor(X), transpose(b)));
  sample("obs", Normal(mu, kNoise), y ? std::optional<Tensor>(Tensor(*y)) : std::nullopt);
}
// [end]

struct Summary {
  Matrix mean, sd;  // 1 x 4: a, b_terrain, b_region, b_interaction
};

// [snippet fit]
// Fits `guide` by SVI and summarises 4000 draws of the posterior through Predictive.
template <class Guide>
Summary fit(Guide& guide, const Matrix& X, const Matrix& y) {
  Adam adam(0.05);
  adam.set_schedule(schedules::exponential_decay(0.05, std::pow(0.02, 1.0 / 10000)));
  SVI svi(model, guide, adam);
  svi.set_progress(nullptr);
  svi.run(10000, X, std::optional<Matrix>(y));
  const SiteSamples post = Predictive(model, guide, 4000, {"a", "b"})(X, std::optional<Matrix>());
  Matrix draws(4000, 4);
  draws << post.flat("a"), post.flat("b");
  const Matrix mean = draws.colwise().mean();
  const Matrix centred = draws.rowwise() - mean.row(0);
  return {mean, (centred.cwiseAbs2().colwise().sum() / 3999.0).cwiseSqrt()};
}
// [end]

// [snippet coverage]
// For each level, the fraction of held-out points inside the central interval of that level
// of the posterior predictive (2000 draws of obs at each test input).
template <class Guide>
std::vector<double> coverage(Guide& guide, const Matrix& X_test, const Matrix& y_test,
                             const std::vector<double>& levels) {
  const SiteSamples pred = Predictive(model, guide, 2000, {"obs"})(X_test, std::optional<Matrix>());
  std::vector<double> covered;
  for (const double level : levels) {
    const Matrix lo = pred.quantile("obs", (1 - level) / 2);
    const Matrix hi = pred.quantile("obs", (1 + level) / 2);
    covered.push_back(
        ((y_test.array() >= lo.array()) && (y_test.array() <= hi.array())).cast<double>().mean());
  }
  return covered;
}
// [end]

}  // namespace

int main() {
  Rng data_rng(7);
  const auto [X, y] = make_data(100, data_rng);
  const auto [X_test, y_test] = make_data(1000, data_rng);

  // [snippet exact]
  // The exact posterior: precision = prior precision + Z^T Z / sigma^2, Z = [1, X].
  Matrix Z(X.rows(), 4);
  Z << Matrix::Ones(X.rows(), 1), X;
  Matrix precision = Z.transpose() * Z / (kNoise * kNoise);
  precision.diagonal() += Eigen::Vector4d(1.0 / 100, 1, 1, 1).cast<Scalar>();
  const Matrix covariance = precision.inverse();
  const Matrix exact_mean = (covariance * Z.transpose() * y / (kNoise * kNoise)).transpose();
  const Matrix exact_sd = covariance.diagonal().cwiseSqrt().transpose();
  const Matrix meanfield_sd = precision.diagonal().cwiseInverse().cwiseSqrt().transpose();
  // [end]

  // [snippet autoguides]
  set_rng_seed(2026);
  AutoNormal normal_guide(model);
  const Summary by_normal = fit(normal_guide, X, y);
  AutoMultivariateNormal mvn_guide(model);
  const Summary by_mvn = fit(mvn_guide, X, y);
  // [end]

  const char* names[4] = {"a", "b_terrain", "b_region", "b_interaction"};
  fmt::print("{:<14} {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} {:>8}\n", "", "exact", "AutoN",
             "AutoMVN", "exact sd", "mf sd", "AutoN", "AutoMVN");
  for (int j = 0; j < 4; ++j) {
    fmt::print("{:<14} {:8.3f} {:8.3f} {:8.3f} | {:8.3f} {:8.3f} {:8.3f} {:8.3f}\n", names[j],
               exact_mean(0, j), by_normal.mean(0, j), by_mvn.mean(0, j), exact_sd(0, j),
               meanfield_sd(0, j), by_normal.sd(0, j), by_mvn.sd(0, j));
    report(fmt::format("exact_mean_{}", names[j]), exact_mean(0, j));
    report(fmt::format("exact_sd_{}", names[j]), exact_sd(0, j));
    report(fmt::format("meanfield_sd_{}", names[j]), meanfield_sd(0, j));
    report(fmt::format("normal_mean_{}", names[j]), by_normal.mean(0, j));
    report(fmt::format("normal_sd_{}", names[j]), by_normal.sd(0, j));
    report(fmt::format("mvn_mean_{}", names[j]), by_mvn.mean(0, j));
    report(fmt::format("mvn_sd_{}", names[j]), by_mvn.sd(0, j));
  }
  report("correlation_region_interaction",
         covariance(2, 3) / std::sqrt(covariance(2, 2) * covariance(3, 3)));

  const std::vector<double> levels = {0.5, 0.8, 0.9, 0.95};
  Matrix calibration(Index(levels.size()), 3);
  const std::vector<double> by_normal_guide = coverage(normal_guide, X_test, y_test, levels);
  const std::vector<double> by_mvn_guide = coverage(mvn_guide, X_test, y_test, levels);
  for (std::size_t k = 0; k < levels.size(); ++k) {
    const double cn = by_normal_guide[k], cm = by_mvn_guide[k];
    calibration.row(Index(k)) << levels[k], cn, cm;
    const int pct = static_cast<int>(std::lround(100 * levels[k]));
    report(fmt::format("coverage_normal_{}", pct), cn);
    report(fmt::format("coverage_mvn_{}", pct), cm);
    // Binomial standard error of a coverage measured on 1000 held-out points.
    report(fmt::format("coverage_se_{}", pct), std::sqrt(levels[k] * (1 - levels[k]) / 1000));
  }

  // The figure: the posterior predictive band along x1, inside and outside the region, and
  // the calibration of the intervals.
  Matrix grid(80, 3);
  for (Index i = 0; i < 40; ++i) {
    const double x1 = 6.0 * double(i) / 39;
    grid.row(i) << x1, 0, 0;
    grid.row(40 + i) << x1, 1, x1;
  }
  const SiteSamples band =
      Predictive(model, mvn_guide, 2000, {"obs", "mu"})(grid, std::optional<Matrix>());
  const Matrix lo = band.quantile("obs", 0.05), hi = band.quantile("obs", 0.95),
               mu = band.mean("mu");
  Matrix outside(40, 4), inside(40, 4), points_out(0, 2), points_in(0, 2);
  for (Index i = 0; i < 40; ++i) {
    outside.row(i) << grid(i, 0), mu(i, 0), lo(i, 0), hi(i, 0);
    inside.row(i) << grid(40 + i, 0), mu(40 + i, 0), lo(40 + i, 0), hi(40 + i, 0);
  }
  Matrix train(X.rows(), 3);
  train << X.col(0), y, X.col(1);
  examples::write_plot(
      "ch06_regression.png",
      "set multiplot layout 1,2\n"
      "set title 'posterior predictive (AutoMultivariateNormal), 90% band'\n"
      "set xlabel 'terrain index x1'; set ylabel 'outcome'; set grid; set key bottom left\n"
      "plot $out using 1:3:4 with filledcurves fc rgb '#c6dbff' title 'outside the region', "
      "$out using 1:2 with lines lw 2 lc rgb '#1f4e9c' notitle, "
      "$in using 1:3:4 with filledcurves fc rgb '#f4c7c3' fs transparent solid 0.6 "
      "title 'inside the region', "
      "$in using 1:2 with lines lw 2 lc rgb '#d62728' notitle, "
      "$train using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb '#1f4e9c' notitle, "
      "$train using 1:($3 == 1 ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb '#d62728' notitle\n"
      "set title 'calibration on 1000 held-out points'; set key top left\n"
      "set xlabel 'nominal level of the central interval'; set ylabel 'fraction covered'\n"
      "set xrange [0.45:1]; set yrange [0.45:1]\n"
      "plot x with lines dt 2 lc rgb '#444444' title 'perfect', "
      "$cal using 1:2 with linespoints pt 7 lc rgb '#2ca02c' title 'AutoNormal', "
      "$cal using 1:3 with linespoints pt 5 lc rgb '#9467bd' title 'AutoMultivariateNormal'\n"
      "unset multiplot",
      {{"out", outside}, {"in", inside}, {"train", train}, {"cal", calibration}}, 1000, 420);
  tape().reset();
  return 0;
}
