// One SVI step of a small Bayesian neural network (ANCHORS.md workload W2): x ~ U(-3, 3),
// y = x sin x + 0.3 eps, N = 200; HiddenLayers 1(+bias)-50-50-1 with ReLU; Normal likelihood
// (scale 0.3); empty guide; Trace_ELBO; Adam lr 0.01; 5000 full-batch steps. Prints the
// median time per step and the train RMSE of the predictive mean (100 draws) after training.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  const Index n = 200, hidden = 50;
  const int steps = 5000;
  Rng data_rng(1);
  Matrix X = Matrix::Ones(n, 2);
  X.col(0) = (data_rng.uniform(n, 1).array() * 6 - 3).matrix();
  const Matrix y =
      (X.col(0).array() * X.col(0).array().sin()).matrix() + 0.3 * data_rng.normal(n, 1);
  const Tensor X_t(X), y_t(y);

  auto mean_param = [](const char* name, Index rows, Index cols, std::uint64_t seed) {
    return param(name,
                 [=] { return Matrix(Rng(seed).normal(rows, cols) / std::sqrt(Scalar(rows))); });
  };
  auto scale_param = [](const char* name, Index rows, Index cols) {
    return param(name, Matrix::Constant(rows, cols, 0.05), constraints::positive());
  };
  auto model = [&](const std::optional<Tensor>& obs) {
    const Tensor h1 = sample("h1", HiddenLayer(X_t, mean_param("a1_mean", 2, hidden, 1),
                                               scale_param("a1_scale", 2, hidden)));
    const Tensor h2 = sample("h2", HiddenLayer(h1, mean_param("a2_mean", hidden + 1, hidden, 2),
                                               scale_param("a2_scale", hidden + 1, hidden)));
    const Tensor f =
        sample("f", HiddenLayer(h2, mean_param("a3_mean", hidden + 1, 1, 3),
                                scale_param("a3_scale", hidden + 1, 1),
                                {.include_hidden_bias = false, .non_linearity = identity}));
    auto data = plate("data", n);
    sample("y", Normal(f, 0.3), obs);
  };
  auto guide = [](const std::optional<Tensor>&) {};
  set_rng_seed(2);
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  const std::optional<Tensor> observed(y_t);
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
