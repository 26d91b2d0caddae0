// The cost of a site: a model written as a loop over K scalar latent sites, z_k ~ N(0, 1) and
// x_k ~ N(z_k, 1) observed, with a guide N(loc_k, scale_k) per site (two params each),
// Trace_ELBO, Adam, double. Nearly all of a step is per-site machinery (sites, traces, params,
// small ops), so the time per site is what one site costs. One JSON line per K.
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  const long only = bench::option(argc, argv, "--k", 0);
  // Steps per timed batch (default: about a tenth of a second per batch); more for profiling.
  const long calls_option = bench::option(argc, argv, "--calls", 0);
  std::vector<Index> sizes = {10, 100, 1000, 10000};
  if (only > 0) sizes = {Index(only)};
  for (const Index K : sizes) {
    param_store().clear();
    std::vector<std::string> z(static_cast<std::size_t>(K)), x(z.size()), loc(z.size()),
        scale(z.size());
    for (Index k = 0; k < K; ++k) {
      const auto i = static_cast<std::size_t>(k);
      z[i] = fmt::format("z_{}", k);
      x[i] = fmt::format("x_{}", k);
      loc[i] = fmt::format("loc_{}", k);
      scale[i] = fmt::format("scale_{}", k);
    }
    Rng rng(3);
    const Matrix data = rng.normal(K, 1);
    auto model = [&] {
      for (Index k = 0; k < K; ++k) {
        const auto i = static_cast<std::size_t>(k);
        const Tensor zk = sample(z[i], Normal(0, 1));
        sample(x[i], Normal(zk, 1), Tensor(data(k, 0)));
      }
    };
    auto guide = [&] {
      for (Index k = 0; k < K; ++k) {
        const auto i = static_cast<std::size_t>(k);
        const Tensor l = param(loc[i], 0.0);
        const Tensor s = param(scale[i], 1.0, constraints::positive());
        sample(z[i], Normal(l, s));
      }
    };
    set_rng_seed(1);
    Adam adam(0.01);
    SVI svi(model, guide, adam);
    svi.set_progress(nullptr);
    double loss = 0;
    // About a tenth of a second per batch at every K.
    const int calls = calls_option > 0 ? static_cast<int>(calls_option)
                                       : static_cast<int>(std::max<Index>(1, 20000 / K));
    const bench::StepTiming t = bench::time_steps([&] { loss = svi.step(); }, calls, 9);
    fmt::print(
        R"({{"bench": "site_overhead", "scalar": "{}", "sites": {}, "us_per_step": {:.2f}, )"
        R"("us_per_site": {:.3f}, "cpu_us_per_site": {:.3f}, "page_faults_per_step": {:.2f}, "loss": {:.6g}}})"
        "\n",
        bench::scalar_name(), K, t.wall * 1e6, t.wall * 1e6 / double(K), t.cpu * 1e6 / double(K),
        t.faults, loss);
  }
}
