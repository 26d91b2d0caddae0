// The three estimators of a Bayesian dense layer side by side: how noisy the ELBO gradient
// is, and what a step costs.
//
// Workload: a regression network 8 -> 32 (relu) -> 1 of two Bayesian dense layers (Normal(0, 1)
// prior, so the KL is exact and all the noise comes from the likelihood), y ~ N(net(x), 0.1),
// a batch of 128. At one fixed posterior (the initial locations, every scale 0.1) it draws
// d(-ELBO) / d fc1.kernel_loc (8 x 32) many times and reports the variance of each entry
// over the draws, averaged over the 256 entries. Then it times SVI steps (Trace_ELBO, Adam,
// forward + backward + update) and reports the median.
//
// Plain reparameterisation shares one weight sample across the batch, so the noise of all
// 128 residuals adds up coherently; local reparameterisation and Flipout give each example
// its own noise, and the sum averages it out.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

using namespace vesta;

namespace {

struct Row {
  std::string estimator;
  double grad_variance;
  double us_per_step;
};

}  // namespace

int main() {
  const Index batch = 128, in = 8, hidden = 32;
  const Scalar noise_sd = 0.1, posterior_scale = 0.1;
  const int draws = 4000;

  Rng data_rng(3);
  const Matrix x = data_rng.normal(batch, in);
  const Matrix direction = data_rng.normal(in, 1) / std::sqrt(Scalar(in));
  const Matrix y = (x * direction).array().sin().matrix() + noise_sd * data_rng.normal(batch, 1);

  // The fixed posterior: the initial locations, every scale posterior_scale.
  set_rng_seed(1);
  param_store().clear();
  {
    const DenseReparameterization fc1("fc1", in, hidden), fc2("fc2", hidden, 1);
    fc1.kernel_loc();  // creates the parameters
    fc2.kernel_loc();
  }
  const Matrix rho_value = Matrix::Constant(1, 1, posterior_scale).array().expm1().log().matrix();
  std::vector<std::pair<std::string, Matrix>> fixed;
  for (const std::string& name : param_store().names()) {
    Matrix value = param_store().entry(name).unconstrained.matrix();
    if (name.ends_with("_rho")) value.setConstant(rho_value(0, 0));
    fixed.emplace_back(name, std::move(value));
  }

  std::vector<Row> rows;
  double sink = 0;
  for (const DenseEstimator e :
       {DenseEstimator::reparameterization, DenseEstimator::local_reparameterization,
        DenseEstimator::flipout}) {
    for (const auto& [name, value] : fixed) param_store().set(name, value);
    const auto fc1 = make_dense_variational(e, "fc1", in, hidden, {.activation = relu});
    const auto fc2 = make_dense_variational(e, "fc2", hidden, 1, {});
    auto model = [&](const Matrix& xs, const Matrix& ys) {
      const Tensor mu = (*fc2)((*fc1)(Tensor(xs)));
      auto p = plate("data", xs.rows());
      sample("y", Normal(mu, noise_sd), Tensor(ys));
    };
    auto guide = [](const Matrix&, const Matrix&) {};

    // The gradient's variance at the fixed posterior.
    Trace_ELBO elbo;
    const Tensor loc = param_store().entry("fc1.kernel_loc").unconstrained;
    Matrix sum = Matrix::Zero(in, hidden), sum_sq = sum;
    for (int d = 0; d < draws; ++d) {
      elbo.differentiable_loss(model, guide, x, y).backward();
      const Matrix g = loc.grad();
      sum += g;
      sum_sq += g.cwiseAbs2();
      for (const auto& [name, value] : fixed) param_store().entry(name).unconstrained.zero_grad();
      tape().reset();
    }
    const Matrix mean = sum / Scalar(draws);
    const double variance =
        ((sum_sq / Scalar(draws) - mean.cwiseAbs2()) * (Scalar(draws) / (draws - 1))).mean();

    // The cost of an SVI step, from the same starting point.
    Adam adam(1e-3);
    SVI svi(model, guide, adam);
    svi.set_progress(nullptr);
    const double seconds = bench::median_seconds_per_call([&] { sink += svi.step(x, y); }, 200, 15);
    rows.push_back({to_string(e), variance, seconds * 1e6});
  }

  fmt::print("Bayesian MLP {}-{}-1 (relu), batch {}, Normal(0, 1) prior, all posterior scales {}\n",
             in, hidden, batch, posterior_scale);
  fmt::print(
      "variance of d(-ELBO)/d fc1.kernel_loc over {} draws, mean over its {} entries; SVI step: "
      "Trace_ELBO + Adam, median\n\n",
      draws, in * hidden);
  fmt::print("{:<26} {:>14} {:>10} {:>14}\n", "estimator", "grad variance", "relative",
             "us per step");
  for (const Row& r : rows) {
    fmt::print("{:<26} {:>14.4g} {:>10.3f} {:>14.1f}\n", r.estimator, r.grad_variance,
               r.grad_variance / rows[0].grad_variance, r.us_per_step);
  }
  std::string json;
  for (const Row& r : rows) {
    json +=
        fmt::format(R"({}{{"estimator": "{}", "grad_variance": {:.6g}, "us_per_step": {:.2f}}})",
                    json.empty() ? "" : ", ", r.estimator, r.grad_variance, r.us_per_step);
  }
  fmt::print("\n");
  fmt::print(
      R"({{"bench": "gradient_variance", "scalar": "{}", "batch": {}, "draws": {}, "rows": [{}], "checksum": {:.6g}}})"
      "\n",
      bench::scalar_name(), batch, draws, json, sink);
}
