// One SVI step of a 3-component 1-D Gaussian mixture on N = 1000 points with the assignments
// enumerated (TraceEnum_ELBO), weights, locs and scale fitted by an AutoDelta guide: the
// workload of Pyro's mixture tutorial, which takes ~16.6 ms per step in Pyro on this machine
// kind (float64, one thread). Prints the median time of one step.
#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  const Index n = 1000, k = 3;
  const int steps = static_cast<int>(bench::option(argc, argv, "--steps", 3000));
  Rng data_rng(7);
  Matrix x(n, 1);
  const double locs_true[3] = {-4, 0, 5};
  for (Index i = 0; i < n; ++i) x(i, 0) = locs_true[i % 3] + data_rng.normal();
  const Tensor x_t(x);

  auto model = [&] {
    const Tensor weights = sample("weights", Dirichlet(Tensor(Matrix::Constant(1, k, 0.5))));
    const Tensor scale = sample("scale", LogNormal(0, 2));
    Tensor locs;
    {
      auto components = plate("components", k);
      locs = sample("locs", Normal(0, 10));
    }
    auto data = plate("data", n);
    const Tensor z = sample("assignment", Categorical::from_probs(weights));
    sample("obs", Normal(take(locs, z), scale), x_t);
  };
  auto enumerated = config_enumerate(model);
  set_rng_seed(1);
  AutoDelta guide(enumerated,
                  AutoGuideOptions{"", init_to_value({{"locs", Matrix{{-3.0}, {1.0}, {4.0}}}})});
  Adam adam(0.05);
  SVI svi(enumerated, guide, adam, TraceEnum_ELBO());
  svi.set_progress(nullptr);
  const bench::StepTiming t = bench::time_steps([&] { svi.step(); }, 100, steps / 100 - 1);
  const double loss = svi.evaluate_loss();
  fmt::print(
      R"({{"bench": "gmm_enum", "scalar": "{}", "n": {}, "components": {}, "steps": {}, "us_per_step": {:.2f}, )"
      R"("cpu_us_per_step": {:.2f}, "pyro_us_per_step": 16600, "final_loss": {:.3f}}})"
      "\n",
      bench::scalar_name(), n, k, steps, t.wall * 1e6, t.cpu * 1e6, loss);
}
