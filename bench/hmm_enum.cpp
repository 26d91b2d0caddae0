// One SVI step of a 3-state HMM with Normal emissions on T = 1000 observations, the states
// enumerated in a markov chain (TraceEnum_ELBO: the forward algorithm), the transition
// matrix, locs and scale learned as params. Prints the median time of one step and per time
// step.
#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main(int argc, char** argv) {
  const Index T = bench::option(argc, argv, "--length", 1000), K = 3;
  const int steps = static_cast<int>(bench::option(argc, argv, "--steps", 300));
  Rng data_rng(11);
  Matrix x(T, 1);
  Index s = 0;
  for (Index t = 0; t < T; ++t) {
    if (data_rng.uniform() < 0.1) s = (s + 1 + Index(data_rng.uniform() * 2)) % K;
    x(t, 0) = 2.0 * double(s) + 0.7 * data_rng.normal();
  }
  auto model = [&] {
    const Tensor init = param("init", Matrix::Constant(1, K, 1.0 / K), constraints::simplex());
    const Tensor trans = param("trans", Matrix::Constant(K, K, 0.1) + 0.7 * Matrix::Identity(K, K),
                               constraints::simplex());
    const Tensor locs = param("locs", Matrix{{-1.0}, {1.0}, {3.0}});
    const Tensor scale = param("scale", Matrix::Constant(1, 1, 1.0), constraints::positive());
    Tensor z;
    for (Index t : markov(T, "hmm")) {
      const Tensor probs = t == 0 ? init : take_rows(trans, z);
      z = sample(fmt::format("z_{}", t), Categorical::from_probs(probs), Infer{.enumerate = true});
      sample(fmt::format("x_{}", t), Normal(take(locs, z), scale), Tensor(x(t, 0)));
    }
  };
  auto guide = [] {};
  Adam adam(0.05);
  SVI svi(model, guide, adam, TraceEnum_ELBO());
  svi.set_progress(nullptr);
  const bench::StepTiming t = bench::time_steps([&] { svi.step(); }, 10, steps / 10 - 1);
  const double loss = svi.evaluate_loss();
  fmt::print(
      R"({{"bench": "hmm_enum", "scalar": "{}", "T": {}, "states": {}, "steps": {}, "us_per_step": {:.1f}, )"
      R"("cpu_us_per_step": {:.1f}, "us_per_time_step": {:.3f}, "page_faults_per_step": {:.1f}, "final_loss": {:.3f}}})"
      "\n",
      bench::scalar_name(), T, K, steps, t.wall * 1e6, t.cpu * 1e6, t.wall * 1e6 / double(T),
      t.faults, loss);
}
