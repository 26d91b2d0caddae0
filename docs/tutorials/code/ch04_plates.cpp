// Chapter 4: SVI II. Plates, subsampling and the scale of each term; TraceMeanField_ELBO.
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::Output;
using vesta::tutorial::report;

namespace {

const Index N = 1000;  // data points

// [snippet model]
// N measurements of one quantity mu, each with noise sd 1. The plate sees `batch` of the N
// rows, chosen at random; the data are sliced with the indices it chose.
void model(const Matrix& x, Index batch) {
  const Tensor mu = sample("mu", Normal(0, 10));
  auto data = plate("data", x.rows(), batch);
  sample("x", Normal(mu, 1), gather_rows(Tensor(x), data.indices()));
}

void guide(const Matrix&, Index) {
  const Tensor loc = param("loc", 0.0);
  const Tensor scale = param("scale", 0.5, constraints::positive());
  sample("mu", Normal(loc, scale));
}
// [end]

// [snippet local_model]
// One latent z_i per data point, inside the plate; the guide has a Normal for each, with its
// own loc and scale: rows of two N x 1 params, sliced with the plate's indices.
void local_model(const Matrix& y, Index batch) {
  auto data = plate("data", y.rows(), batch);
  const Tensor z = sample("z", Normal(0, 1));  // broadcast by the plate: batch x 1
  sample("y", Normal(z, 3), gather_rows(Tensor(y), data.indices()));
}

void local_guide(const Matrix& y, Index batch) {
  const Tensor loc = param("z_loc", Matrix::Zero(y.rows(), 1));
  const Tensor scale =
      param("z_scale", Matrix::Constant(y.rows(), 1, 0.3), constraints::positive());
  auto data = plate("data", y.rows(), batch);  // the model replays the indices drawn here
  sample("z", Normal(gather_rows(loc, data.indices()), gather_rows(scale, data.indices())));
}
// [end]

double sample_sd(const std::vector<double>& v, double& mean) {
  mean = 0;
  for (double x : v) mean += x / double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / double(v.size() - 1));
}

}  // namespace

int main() {
  Rng data_rng(11);
  const Matrix x = (3.0 + data_rng.normal(N, 1).array()).matrix();

  // [snippet trace]
  set_rng_seed(1);
  const Trace t = trace(condition(model, {{"mu", Tensor(3.0)}})).get_trace(x, Index(50));
  fmt::print("{}", t.format());
  // [end]
  {
    Output out("subsampled_trace");
    fmt::print("{}", t.format());
  }

  // [snippet unbiased]
  // The full log-likelihood at mu = 3, and 2000 minibatch estimates of it.
  auto at_3 = condition(model, {{"mu", Tensor(3.0)}});
  const double full = sum(trace(at_3).get_trace(x, N).log_prob("x")).item();
  std::vector<double> estimates;
  for (int k = 0; k < 2000; ++k) {
    const Trace tk = trace(at_3).get_trace(x, Index(50));
    estimates.push_back(tk.scaled_log_prob_sum(tk["x"]).item());  // scale 20 applied
  }
  // [end]
  double est_mean = 0;
  const double est_sd = sample_sd(estimates, est_mean);
  fmt::print("full {:.2f}, minibatch mean {:.2f} (sd of one estimate {:.2f})\n", full, est_mean,
             est_sd);
  report("full_loglik", full);
  report("minibatch_mean", est_mean);
  report("minibatch_se", est_sd / std::sqrt(2000.0));
  report("minibatch_z", (est_mean - full) / (est_sd / std::sqrt(2000.0)));
  tape().reset();

  // [snippet svi]
  set_rng_seed(2026);
  param_store().clear();
  Adam adam(0.02);
  adam.set_schedule(schedules::exponential_decay(0.02, std::pow(0.01, 1.0 / 20000)));  // to 2e-4
  SVI svi(model, guide, adam);
  svi.set_progress(nullptr);
  double loc = 0, scale = 0;
  for (int step = 1; step <= 20000; ++step) {
    svi.step(x, Index(50));  // every step sees 50 of the 1000 points
    if (step > 15000) {      // average over the last 5000 steps
      loc += param("loc").item() / 5000;
      scale += param("scale").item() / 5000;
    }
  }
  // The exact posterior: Normal prior, Normal likelihood with known noise.
  const double precision = 1.0 / 100 + double(N);
  const double exact_mean = x.sum() / precision, exact_sd = 1 / std::sqrt(precision);
  fmt::print("mu: {:.4f} +- {:.4f} (SVI on minibatches), {:.4f} +- {:.4f} (exact)\n", loc, scale,
             exact_mean, exact_sd);
  // [end]
  report("svi_loc", loc);
  report("svi_scale", scale);
  report("exact_mean", exact_mean);
  report("exact_sd", exact_sd);
  tape().reset();

  // [snippet local_data]
  // Part two: a latent per data point. y_i = z_i + noise (sd 3), z_i ~ Normal(0, 1).
  const Index M = 200;
  const Matrix z_true = data_rng.normal(M, 1);
  const Matrix y = z_true + 3.0 * data_rng.normal(M, 1);
  // [end]

  // [snippet meanfield]
  // The loss of one guide, estimated 2000 times by each estimator.
  auto spread = [&](auto elbo) {
    std::vector<double> losses;
    for (int k = 0; k < 2000; ++k) losses.push_back(elbo.loss(local_model, local_guide, y, M));
    double mean = 0;
    const double sd = sample_sd(losses, mean);
    return std::pair{mean, sd};
  };
  param_store().clear();
  set_rng_seed(5);
  const auto [trace_far, trace_far_sd] = spread(Trace_ELBO());  // the initial guide
  const auto [mf_far, mf_far_sd] = spread(TraceMeanField_ELBO());
  param_store().set("z_loc", y / 10.0);  // the exact posterior: N(y / 10, 0.9)
  param_store().set("z_scale", Matrix::Constant(M, 1, std::sqrt(0.9)));
  const auto [trace_opt, trace_opt_sd] = spread(Trace_ELBO());
  const auto [mf_opt, mf_opt_sd] = spread(TraceMeanField_ELBO());
  // [end]
  fmt::print(
      "initial guide: Trace_ELBO {:.2f} (sd {:.2f}), TraceMeanField_ELBO {:.2f} (sd {:.2f})\n",
      trace_far, trace_far_sd, mf_far, mf_far_sd);
  fmt::print(
      "exact guide:   Trace_ELBO {:.2f} (sd {:.2f}), TraceMeanField_ELBO {:.2f} (sd {:.2f})\n",
      trace_opt, trace_opt_sd, mf_opt, mf_opt_sd);
  double minus_log_evidence = 0;
  for (Index i = 0; i < M; ++i)
    minus_log_evidence += 0.5 * std::log(2 * M_PI * 10) + 0.5 * y(i, 0) * y(i, 0) / 10;
  report("far_trace_sd", trace_far_sd);
  report("far_meanfield_sd", mf_far_sd);
  report("far_z", (trace_far - mf_far) /
                      std::sqrt((trace_far_sd * trace_far_sd + mf_far_sd * mf_far_sd) / 2000));
  report("far_loss", mf_far);
  report("opt_trace_sd", trace_opt_sd);
  report("opt_meanfield_sd", mf_opt_sd);
  report("opt_trace_loss", trace_opt);
  report("opt_meanfield_loss", mf_opt);
  report("minus_log_evidence", minus_log_evidence);
  tape().reset();

  // [snippet local_svi]
  param_store().clear();
  set_rng_seed(7);
  Adam adam_local(0.05);
  adam_local.set_schedule(schedules::exponential_decay(0.05, std::pow(0.1, 1.0 / 10000)));
  SVI local_svi(local_model, local_guide, adam_local, TraceMeanField_ELBO());
  local_svi.set_progress(nullptr);
  local_svi.run(10000, y, Index(20));  // minibatches of 20 of the 200 latents
  const Matrix z_loc = param("z_loc").value(), z_scale = param("z_scale").value();
  // [end]
  const double loc_err = (z_loc - y / 10.0).cwiseAbs().maxCoeff();
  report("local_max_loc_error", loc_err);
  report("local_mean_scale", z_scale.mean());
  report("local_exact_scale", std::sqrt(0.9));
  tape().reset();
  return 0;
}
