// SVI on Bayesian linear regression (ANCHORS.md workload W1): N = 1000 points, D = 10
// features; w ~ N(0, 1) (1 x D), b ~ N(0, 10), sigma ~ HalfNormal(1); y ~ N(X w^T + b, sigma)
// in a plate; AutoNormal guide; Trace_ELBO; Adam lr 0.01; 3000 steps. Prints the median time
// of one step and how far the fitted posterior means of w are from the true weights.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

int main() {
  const Index n = 1000, d = 10;
  const int steps = 3000;
  Rng data_rng(1);
  const Matrix X = data_rng.normal(n, d);
  const Matrix w_true = data_rng.normal(1, d);
  const Scalar b_true = 0.5, sigma_true = 0.5;
  const Matrix y =
      (X * w_true.transpose()).array() + b_true + (sigma_true * data_rng.normal(n, 1)).array();
  const Tensor X_t(X), y_t(y);

  auto model = [&] {
    const Tensor w = sample("w", Normal(Tensor(Matrix::Zero(1, d)), 1).to_event(1));
    const Tensor b = sample("b", Normal(0, 10));
    const Tensor sigma = sample("sigma", HalfNormal(1));
    auto data = plate("data", n);
    sample("y", Normal(matmul(X_t, transpose(w)) + b, sigma), y_t);
  };
  set_rng_seed(2);
  AutoNormal guide(model);
  Adam adam(0.01);
  SVI svi(model, guide, adam);
  // 30 batches of 100 steps: the whole run, timed in pieces; the median piece per step.
  const double seconds = bench::median_seconds_per_call([&] { svi.step(); }, 100, steps / 100 - 1);
  const Matrix w_fit = guide.median().at("w");
  const double max_err = (w_fit - w_true).cwiseAbs().maxCoeff();
  fmt::print(
      R"({{"bench": "svi_blr", "scalar": "{}", "n": {}, "d": {}, "steps": {}, "us_per_step": {:.2f}, )"
      R"("max_weight_error": {:.4f}, "sigma": {:.4f}, "true_sigma": {}}})"
      "\n",
      bench::scalar_name(), n, d, steps, seconds * 1e6, max_err, guide.median().at("sigma")(0, 0),
      sigma_true);
}
