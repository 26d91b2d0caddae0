// A Gaussian mixture with its assignments summed out: Pyro's mixture-model tutorial in vesta.
//
// N = 1000 points from three 1-D Normal components of one shared scale. The model:
//   weights ~ Dirichlet(0.5, 0.5, 0.5), scale ~ LogNormal(0, 2), locs[k] ~ Normal(0, 10);
//   per point, z ~ Categorical(weights) and x ~ Normal(locs[z], scale).
// Each z is marked for enumeration (config_enumerate), so TraceEnum_ELBO sums it out exactly
// per point: every point's likelihood is log sum_k weights[k] N(x; locs[k], scale). The
// weights, locs and scale are fitted by MAP (an AutoDelta guide); infer_discrete then gives
// every point its most probable component. Score-function gradients (Trace_ELBO with z in a
// guide) leave the components on top of each other here; the enumerated ELBO does not.
//
// Run with no arguments; writes gmm.png (a histogram of the data with the fitted densities)
// and prints, as its last line, one JSON object of the results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"
#include "support/image.hpp"

using namespace vesta;

namespace {

constexpr Index K = 3;

void model(const Matrix& x) {
  const Tensor weights = sample("weights", Dirichlet(Tensor(Matrix::Constant(1, K, 0.5))));
  const Tensor scale = sample("scale", LogNormal(0, 2));
  Tensor locs;
  {
    auto components = plate("components", K);
    locs = sample("locs", Normal(0, 10));
  }
  auto data = plate("data", x.rows());
  const Tensor z = sample("assignment", Categorical::from_probs(weights));
  sample("obs", Normal(take(locs, z), scale), Tensor(x));
}

double normal_pdf(double x, double m, double s) {
  return std::exp(-0.5 * (x - m) * (x - m) / (s * s)) / (s * std::sqrt(2 * M_PI));
}

// The histogram of x with the mixture's density and its weighted components over it.
bool plot(const Matrix& x, const Matrix& w, const Matrix& locs, double scale,
          const std::string& path) {
  using examples::Image;
  using examples::Rgb;
  const int width = 900, height = 480, left = 50, right = 20, top = 30, bottom = 40;
  Image img(width, height);
  const double lo = x.minCoeff() - 1, hi = x.maxCoeff() + 1;
  const int bins = 60;
  std::vector<double> count(bins, 0);
  for (Index i = 0; i < x.rows(); ++i) {
    const int b = std::min(bins - 1, int((x(i, 0) - lo) / (hi - lo) * bins));
    count[static_cast<std::size_t>(b)] += 1;
  }
  const double bin_width = (hi - lo) / bins;
  auto density_at = [&](double v, int k) {  // k < 0: the whole mixture
    double d = 0;
    for (int j = 0; j < K; ++j) {
      if (k < 0 || k == j) d += w(0, j) * normal_pdf(v, locs(j, 0), scale);
    }
    return d;
  };
  double top_density = 0;
  for (double c : count) top_density = std::max(top_density, c / (double(x.rows()) * bin_width));
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double v) { return left + int((v - lo) / (hi - lo) * plot_w); };
  auto py = [&](double d) { return top + plot_h - int(d / (1.1 * top_density) * plot_h); };
  for (int b = 0; b < bins; ++b) {
    const double d = count[static_cast<std::size_t>(b)] / (double(x.rows()) * bin_width);
    const int x0 = px(lo + b * bin_width), x1 = px(lo + (b + 1) * bin_width);
    img.fill_rect(x0, py(d), std::max(1, x1 - x0 - 1), top + plot_h - py(d), {200, 200, 200});
  }
  const Rgb colours[K] = {{220, 60, 50}, {40, 120, 200}, {40, 160, 70}};
  for (int k = -1; k < K; ++k) {
    const Rgb c = k < 0 ? examples::kBlack : colours[k];
    for (int p = 0; p < plot_w * 4; ++p) {
      const double v = lo + (hi - lo) * p / (plot_w * 4.0);
      const int y = py(density_at(v, k));
      img.fill_rect(px(v), y, k < 0 ? 2 : 1, k < 0 ? 2 : 1, c);
    }
  }
  img.fill_rect(left, top + plot_h, plot_w, 1, examples::kBlack);
  img.draw_text(left, 8,
                "gmm: histogram of 1000 points, fitted mixture (black) and its weighted components",
                examples::kBlack, 1);
  for (double v = std::ceil(lo); v <= hi; v += 2) {
    img.fill_rect(px(v), top + plot_h, 1, 5, examples::kBlack);
    img.draw_text(px(v) - 4, top + plot_h + 10, fmt::format("{:g}", v), examples::kBlack, 1);
  }
  return examples::write_png(img, path);
}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(
          argc, argv,
          "A 3-component Gaussian mixture on 1000 points, its assignments summed out by "
          "TraceEnum_ELBO, the rest fitted by MAP; then infer_discrete's assignments.");
      status >= 0)
    return status;
  // The truth, and the data drawn from it.
  const Index n = 1000;
  const double true_w[K] = {0.5, 0.3, 0.2}, true_locs[K] = {-4, 0, 5}, true_scale = 1.0;
  Rng data_rng(7);
  Matrix x(n, 1);
  std::vector<Index> truth(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const double u = data_rng.uniform();
    const Index k = u < true_w[0] ? 0 : u < true_w[0] + true_w[1] ? 1 : 2;
    truth[static_cast<std::size_t>(i)] = k;
    x(i, 0) = true_locs[k] + true_scale * data_rng.normal();
  }

  // Start the locs where a few rounds of k-means (Lloyd's algorithm, from the data's 1/6, 1/2
  // and 5/6 quantiles) put them: a mixture's likelihood has poor local optima, and Pyro's
  // tutorial searches over initial values for the same reason.
  std::vector<double> sorted(x.data(), x.data() + n);
  std::sort(sorted.begin(), sorted.end());
  Matrix locs0(K, 1);
  for (Index k = 0; k < K; ++k) locs0(k, 0) = sorted[static_cast<std::size_t>((2 * k + 1) * n / 6)];
  for (int round = 0; round < 20; ++round) {
    Matrix sum = Matrix::Zero(K, 1), count = Matrix::Zero(K, 1);
    for (Index i = 0; i < n; ++i) {
      Index best = 0;
      (locs0.col(0).array() - x(i, 0)).abs().minCoeff(&best);
      sum(best, 0) += x(i, 0);
      count(best, 0) += 1;
    }
    for (Index k = 0; k < K; ++k) {
      if (count(k, 0) > 0) locs0(k, 0) = sum(k, 0) / count(k, 0);
    }
  }
  fmt::print("initial locs (k-means): {:.3f} {:.3f} {:.3f}\n", locs0(0, 0), locs0(1, 0),
             locs0(2, 0));
  auto enumerated = config_enumerate(model);
  // Equal weights and a unit scale to start with (the Dirichlet's median is far from equal).
  AutoDelta guide(enumerated,
                  AutoGuideOptions{"", init_to_value({{"locs", locs0},
                                                      {"weights", Matrix::Constant(1, K, 1.0 / K)},
                                                      {"scale", Matrix::Ones(1, 1)}})});
  set_rng_seed(1);
  Adam adam(0.05);
  SVI svi(enumerated, guide, adam, TraceEnum_ELBO());
  const int steps = 1000;
  fmt::print("fitting weights, locs and scale by MAP, the {} assignments enumerated\n", n);
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> losses;
  for (int block = 0; block < steps / 100; ++block) {
    const std::vector<double> l = svi.run(100, x);
    losses.insert(losses.end(), l.begin(), l.end());
    fmt::print("step {:4d}  loss {:.3f}\n", (block + 1) * 100, l.back());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  auto fitted = guide.median();
  Matrix w = fitted.at("weights"), locs = fitted.at("locs");
  const double scale = fitted.at("scale")(0, 0);
  // The components in order of their locs, as the truth's are (a mixture's labels are
  // arbitrary).
  std::vector<Index> order(K);
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return locs(a, 0) < locs(b, 0); });
  std::vector<Index> rank(K);
  for (Index k = 0; k < K; ++k) rank[static_cast<std::size_t>(order[std::size_t(k)])] = k;
  fmt::print("component   weight (true)     loc (true)\n");
  double max_loc_err = 0, max_w_err = 0;
  for (Index k = 0; k < K; ++k) {
    const Index j = order[static_cast<std::size_t>(k)];
    fmt::print("{:9d}   {:.3f} ({:.3f})   {:6.3f} ({:6.3f})\n", k, w(0, j), true_w[k], locs(j, 0),
               true_locs[k]);
    max_loc_err = std::max(max_loc_err, std::abs(locs(j, 0) - true_locs[k]));
    max_w_err = std::max(max_w_err, std::abs(w(0, j) - true_w[k]));
  }
  fmt::print("scale {:.3f} (true {:.3f})\n", scale, true_scale);

  // Each point's most probable component, given the fitted values.
  Rng rng(3);
  const Trace map = infer_discrete(enumerated, guide, 0, rng, x);
  const Matrix z = map["assignment"].value.matrix();
  tape().reset();
  Index correct = 0;
  for (Index i = 0; i < n; ++i) {
    correct += rank[static_cast<std::size_t>(Index(z(i, 0)))] == truth[static_cast<std::size_t>(i)];
  }
  const double accuracy = double(correct) / double(n);
  fmt::print("assignment accuracy (infer_discrete, MAP): {:.3f}\n", accuracy);
  fmt::print("{} steps in {:.2f} s, {:.1f} us per step\n", steps, seconds, seconds / steps * 1e6);

  const std::string png = "gmm.png";
  const bool wrote = plot(x, w, locs, scale, png);
  if (wrote) {
    fmt::print("plot written to {}\n", png);
  } else {
    fmt::print("no plot written ({} needs libstb-dev)\n", png);
  }
  fmt::print(
      R"({{"example": "gmm", "n": {}, "weights": [{:.4f}, {:.4f}, {:.4f}], "locs": [{:.4f}, {:.4f}, {:.4f}], "scale": {:.4f}, )"
      R"("max_loc_error": {:.4f}, "max_weight_error": {:.4f}, "accuracy": {:.4f}, "final_loss": {:.3f}, "plot": {}, "steps": {}, "us_per_step": {:.2f}}})"
      "\n",
      n, w(0, order[0]), w(0, order[1]), w(0, order[2]), locs(order[0], 0), locs(order[1], 0),
      locs(order[2], 0), scale, max_loc_err, max_w_err, accuracy, losses.back(),
      wrote ? "\"" + png + "\"" : std::string("null"), steps, seconds / steps * 1e6);
}
