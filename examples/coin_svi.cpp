// Is the coin fair? Pyro's first SVI tutorial in vesta.
//
// Prior: the coin's fairness f ~ Beta(10, 10) (we believe it is roughly fair). Data: ten
// tosses, six heads, each toss ~ Bernoulli(f), independent given f (a plate). The guide is
// another Beta, q(f) = Beta(alpha_q, beta_q), with both parameters learnable and positive.
// SVI maximises the ELBO with Adam; for this conjugate model the best guide is the exact
// posterior Beta(16, 14), so the result can be checked against it.
//
// Run with no arguments; the last line printed is one JSON object of the results.
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"

using namespace vesta;

namespace {

void model(const Matrix& tosses) {
  const Tensor f = sample("latent_fairness", Beta(Tensor(Scalar(10)), Tensor(Scalar(10))));
  auto data = plate("data", tosses.rows());
  sample("obs", Bernoulli::from_probs(f), Tensor(tosses));
}

void guide(const Matrix&) {
  const Tensor alpha_q = param("alpha_q", 15.0, constraints::positive());
  const Tensor beta_q = param("beta_q", 15.0, constraints::positive());
  sample("latent_fairness", Beta(alpha_q, beta_q));
}

double beta_mean(double a, double b) { return a / (a + b); }
double beta_sd(double a, double b) { return std::sqrt(a * b / ((a + b) * (a + b) * (a + b + 1))); }
double log_beta_fn(double a, double b) {
  return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(argc, argv,
                                                     "Is the coin fair? Pyro's first SVI tutorial: "
                                                     "a Beta guide fitted to the exact posterior.");
      status >= 0)
    return status;
  Matrix tosses(10, 1);
  tosses << 1, 1, 1, 1, 1, 1, 0, 0, 0, 0;
  const int steps = 20000;
  const int averaged = 10000;  // the last iterations, over which the posterior is summarised
  const int report_every = 4000;

  set_rng_seed(2026);
  Adam adam(0.001);
  SVI svi(model, guide, adam);  // Trace_ELBO, as in the tutorial

  fmt::print(
      "fitting Beta(alpha_q, beta_q) to the fairness of a coin: 6 heads in 10 tosses, Beta(10, 10) "
      "prior\n");
  // With a constant learning rate the parameters keep moving with the gradient noise, so the
  // posterior mean and sd are averaged over the last `averaged` iterations (each computed from
  // that iteration's alpha_q and beta_q) rather than read from the final parameters.
  double mean_sum = 0, sd_sum = 0, loss_sum = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= steps; ++step) {
    loss_sum += svi.step(tosses);
    if (step > steps - averaged) {
      const double a = param("alpha_q").item(), b = param("beta_q").item();
      mean_sum += beta_mean(a, b);
      sd_sum += beta_sd(a, b);
      tape().reset();
    }
    if (step % report_every == 0) {
      fmt::print("step {:5d}  loss {:.4f} (mean of the last {} steps)\n", step,
                 loss_sum / report_every, report_every);
      loss_sum = 0;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const double mean = mean_sum / averaged, sd = sd_sum / averaged;
  const double exact_mean = beta_mean(16, 14), exact_sd = beta_sd(16, 14);
  const double alpha = param("alpha_q").item(), beta = param("beta_q").item();
  tape().reset();
  fmt::print("final guide: Beta({:.3f}, {:.3f})\n", alpha, beta);
  fmt::print("inferred fairness: {:.4f} +- {:.4f} (averaged over the last {} steps)\n", mean, sd,
             averaged);
  fmt::print("exact posterior:   {:.4f} +- {:.4f} (Beta(16, 14))\n", exact_mean, exact_sd);
  // At the exact posterior the ELBO is the log-evidence log p(tosses) = log B(16, 14) - log B(10,
  // 10).
  fmt::print("the loss at the optimum is -log p(tosses) = {:.4f}\n",
             log_beta_fn(10, 10) - log_beta_fn(16, 14));
  fmt::print("{} steps in {:.2f} s, {:.1f} us per step\n", steps, seconds, seconds / steps * 1e6);
  fmt::print(
      R"({{"example": "coin_svi", "posterior_mean": {:.5f}, "posterior_sd": {:.5f}, "exact_mean": {:.5f}, "exact_sd": {:.5f}, "steps": {}, "us_per_step": {:.2f}}})"
      "\n",
      mean, sd, exact_mean, exact_sd, steps, seconds / steps * 1e6);
}
