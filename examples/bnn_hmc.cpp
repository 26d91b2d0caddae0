// The gold standard beside the approximation: a small Bayesian neural network fitted by NUTS
// and by SVI on the 1-D regression of bnn_regression (y = x sin(x) + N(0, 0.3^2), inputs in
// [-4, -1] and [1, 4], nothing seen in between).
//
// The network is 1-20-1 with tanh units, every weight a latent site with a Normal prior
// (the output layer's scaled by 1 / sqrt(20), Neal 1996), and the noise sd a latent with a
// HalfNormal(1) prior: 62 unconstrained dimensions. NUTS samples the exact posterior (one
// chain; a BNN's posterior has symmetric modes, hidden units permuted and sign-flipped, which
// leave the predictive unchanged). SVI fits AutoNormal, a mean-field Gaussian, to the same
// model. Both give the 90% band of the function f(x) on a grid. NUTS's band follows the data
// closely where they are and widens in the gap between the clusters and outside them, where
// nothing pins f down. The mean-field fit shows the classic failure of mean-field Gaussians on
// BNNs (Trippe & Turner 2018; Foong et al. 2019, "In-between uncertainty in Bayesian neural
// networks"): its KL term prunes most units back to the prior, leaving a nearly constant
// function whose band is wide beside the data and no wider in the gap. The picture,
// bnn_hmc.png, shows both bands, the data and the true curve.
//
// Run with no arguments; the last line printed is one JSON object of the results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"
#include "support/image.hpp"

using namespace vesta;

namespace {

const Index kHidden = 20;

struct Network {
  Tensor x, y;  // n x 1 each
  void operator()() const {
    const Tensor w1 = sample("w1", Normal(0, 1).expand(1, kHidden));
    const Tensor b1 = sample("b1", Normal(0, 1).expand(1, kHidden));
    const Tensor w2 =
        sample("w2", Normal(0, Scalar(1 / std::sqrt(double(kHidden)))).expand(kHidden, 1));
    const Tensor b2 = sample("b2", Normal(0, 1));
    const Tensor sigma = sample("sigma", HalfNormal(1));
    const Tensor f = matmul(tanh(matmul(x, w1) + b1), w2) + b2;
    auto data = plate("data", x.rows());
    sample("y", Normal(f, sigma), y);
  }
};

// f on the grid for every draw of the weights: draws x grid points.
Matrix functions(const SiteSamples& s, const Matrix& grid) {
  const Index n = s.num_samples();
  Matrix out(n, grid.rows());
  for (Index k = 0; k < n; ++k) {
    Matrix h = grid * s.draw("w1", k);
    h.rowwise() += s.draw("b1", k).row(0);
    h = h.array().tanh().matrix();
    out.row(k) = (h * s.draw("w2", k)).transpose().array() + s.draw("b2", k)(0, 0);
  }
  return out;
}

// The q-quantile of each column.
Matrix column_quantile(const Matrix& m, double q) {
  Matrix out(1, m.cols());
  for (Index j = 0; j < m.cols(); ++j) {
    std::vector<Scalar> v(m.col(j).data(), m.col(j).data() + m.rows());
    std::sort(v.begin(), v.end());
    const double pos = q * double(v.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    out(0, j) = Scalar(v[lo] + (pos - double(lo)) * (v[hi] - v[lo]));
  }
  return out;
}

// The mean width of a band over the grid points whose x lies in [a, b].
double mean_width(const Matrix& lo, const Matrix& hi, const Matrix& grid, double a, double b) {
  double total = 0;
  int count = 0;
  for (Index j = 0; j < grid.rows(); ++j) {
    if (grid(j, 0) >= a && grid(j, 0) <= b) {
      total += double(hi(0, j) - lo(0, j));
      ++count;
    }
  }
  return total / count;
}

}  // namespace

int main(int argc, char** argv) {
  return vesta::examples::run_example("bnn_hmc", [&] {
    examples::CommandLine args(argc, argv,
                               "A 1-20-1 Bayesian neural network: NUTS beside mean-field SVI.");
    const long warmup = args.integer("--warmup", 500, "NUTS warm-up iterations");
    const long draws = args.integer("--samples", 500, "NUTS draws");
    const auto steps = static_cast<int>(args.integer("--steps", 10000, "SVI steps"));
    const auto seed = static_cast<std::uint64_t>(args.integer("--seed", 1, "random seed", 0));
    const std::string out = args.text("--png", "bnn_hmc.png", "the picture to write");
    if (args.finish()) return 0;

    Rng rng(seed);
    const Index n = 100;
    Matrix x(n, 1);
    for (Index i = 0; i < n; ++i) {
      const double u = double(rng.uniform());
      x(i, 0) = Scalar(u < 0.5 ? -4 + 6 * u : 1 + 6 * (u - 0.5));
    }
    const Matrix y = (x.array() * x.array().sin()).matrix() + Scalar(0.3) * rng.normal(n, 1);
    const Network model{x, y};
    const Matrix grid = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>::LinSpaced(241, -6, 6);
    set_rng_seed(seed);

    fmt::print("NUTS: {} warm-up + {} draws on a 1-{}-1 network (62 dimensions)\n", warmup, draws,
               kHidden);
    MCMCOptions options;
    options.seed = seed;
    NUTS kernel(model);
    MCMC mcmc(kernel, warmup, draws, 1, options);
    auto start = std::chrono::steady_clock::now();
    mcmc.run();
    const double nuts_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Matrix f_nuts = functions(mcmc.get_samples(), grid);
    const SummaryRow sigma_nuts = mcmc.summary().at("sigma");
    fmt::print("  {:.1f} s, {} divergences, noise sd {:.3f} (true 0.3)\n", nuts_seconds,
               mcmc.num_divergences(), sigma_nuts.mean);

    fmt::print("SVI: AutoNormal, {} steps of Adam(0.01)\n", steps);
    AutoNormal guide(model);
    Adam adam(0.01);
    SVI svi(model, guide, adam);
    start = std::chrono::steady_clock::now();
    svi.run(steps);
    const double svi_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const SiteSamples q = Predictive(model, guide, 500, {"w1", "b1", "w2", "b2", "sigma"})();
    const Matrix f_svi = functions(q, grid);

    const Matrix nuts_lo = column_quantile(f_nuts, 0.05), nuts_hi = column_quantile(f_nuts, 0.95);
    const Matrix svi_lo = column_quantile(f_svi, 0.05), svi_hi = column_quantile(f_svi, 0.95);
    const double nuts_gap = mean_width(nuts_lo, nuts_hi, grid, -0.5, 0.5);
    const double nuts_data = mean_width(nuts_lo, nuts_hi, grid, 1.5, 3.5);
    const double svi_gap = mean_width(svi_lo, svi_hi, grid, -0.5, 0.5);
    const double svi_data = mean_width(svi_lo, svi_hi, grid, 1.5, 3.5);
    fmt::print("90% band of f, mean width:   in the gap [-0.5, 0.5]   beside data [1.5, 3.5]\n");
    fmt::print("  NUTS                       {:>10.3f}               {:>10.3f}\n", nuts_gap,
               nuts_data);
    fmt::print("  SVI AutoNormal             {:>10.3f}               {:>10.3f}\n", svi_gap,
               svi_data);
    fmt::print(
        "the band is {:.1f} times wider in the gap than beside the data by NUTS, {:.1f} by SVI\n",
        nuts_gap / nuts_data, svi_gap / svi_data);

    // The picture: x in [-6, 6] across, f in [-6, 4] up.
    examples::Image img(720, 420);
    auto px = [&](double v) { return int((v + 6) / 12 * 719); };
    auto py = [&](double v) { return int((4 - v) / 10 * 419); };
    const examples::Rgb blue = {40, 90, 200}, orange = {230, 130, 20}, red = {200, 30, 30};
    for (Index j = 0; j < grid.rows(); ++j) {
      for (int c = px(grid(j, 0)) - 1; c <= px(grid(j, 0)) + 1; ++c) {
        for (int r = py(nuts_hi(0, j)); r <= py(nuts_lo(0, j)); ++r) img.blend(c, r, blue, 0.35f);
        for (int r = py(svi_hi(0, j)); r <= py(svi_lo(0, j)); ++r) img.blend(c, r, orange, 0.45f);
      }
    }
    for (int c = 0; c < 720; ++c) {
      const double v = -6 + 12.0 * c / 719;
      img.set(c, py(v * std::sin(v)), examples::kBlack);
    }
    for (Index i = 0; i < n; ++i) img.fill_rect(px(x(i, 0)) - 2, py(y(i, 0)) - 2, 4, 4, red);
    img.draw_text(10, 400, "blue: NUTS 90% band of f   orange: SVI AutoNormal   black: x sin x",
                  examples::kBlack, 1);
    const bool wrote = examples::write_png(img, out);
    fmt::print("{}\n", wrote ? "wrote " + out : std::string("no PNG written (no stb)"));
    fmt::print(
        R"({{"example": "bnn_hmc", "nuts_band_gap": {:.4f}, "nuts_band_data": {:.4f}, "svi_band_gap": {:.4f}, "svi_band_data": {:.4f}, "nuts_sigma": {:.4f}, "nuts_divergences": {}, "nuts_seconds": {:.3f}, "svi_seconds": {:.3f}}})"
        "\n",
        nuts_gap, nuts_data, svi_gap, svi_data, sigma_nuts.mean, mcmc.num_divergences(),
        nuts_seconds, svi_seconds);
    return 0;
  });
}
