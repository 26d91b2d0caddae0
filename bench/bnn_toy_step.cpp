// One SVI step of a small Bayesian neural network (ANCHORS.md workload W2): x ~ U(-3, 3),
// y = x sin x + 0.3 eps, N = 200; HiddenLayers 1(+bias)-50-50-1 with ReLU; Normal likelihood
// (scale 0.3); empty guide; Trace_ELBO; Adam lr 0.01; 5000 full-batch steps. Prints the
// median time per step and the train RMSE of the predictive mean (100 draws) after training.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"
#include "toy_bnn.hpp"

using namespace vesta;

int main() {
  const int steps = 5000;
  const bench::ToyBnn model;
  const Index n = model.n, hidden = model.hidden;
  const Matrix& y = model.y;
  auto guide = [](const std::optional<Tensor>&) {};
  set_rng_seed(2);
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  const std::optional<Tensor> observed(model.y_t);
  // 50 batches of 100 steps: the whole run, timed in pieces; the median piece per step.
  const double seconds =
      bench::median_seconds_per_call([&] { svi.step(observed); }, 100, steps / 100 - 1);
  const Matrix f = Predictive(model, guide, 100, {"f"})(std::optional<Tensor>()).flat("f");
  const double rmse = std::sqrt((f.colwise().mean().transpose() - y).squaredNorm() / double(n));
  fmt::print(
      R"({{"bench": "bnn_toy_step", "scalar": "{}", "n": {}, "hidden": {}, "steps": {}, "us_per_step": {:.1f}, )"
      R"("train_rmse": {:.4f}}})"
      "\n",
      bench::scalar_name(), n, hidden, steps, seconds * 1e6, rmse);
}
