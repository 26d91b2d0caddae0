// Chapter 3: SVI I. The ELBO, a guide written by hand, and the coin: a Beta guide fitted to
// a coin's fairness, checked against the exact posterior.
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/plot.hpp"
#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::report;

namespace {

// [snippet model]
// The coin's fairness f (the probability of heads) has a Beta(10, 10) prior: we think the
// coin is roughly fair. Each toss is Bernoulli(f), independent of the others given f.
void model(const Matrix& tosses) {
  const Tensor f = sample("latent_fairness", Beta(Tensor(10.0), Tensor(10.0)));
  auto data = plate("data", tosses.rows());
  sample("obs", Bernoulli::from_probs(f), tosses);
}
// [end]

// [snippet guide]
// The guide: a Beta whose two parameters are learned. Same arguments as the model, same
// name for the latent site; no observations.
void guide(const Matrix&) {
  const Tensor alpha_q = param("alpha_q", 3.0, constraints::positive());
  const Tensor beta_q = param("beta_q", 3.0, constraints::positive());
  sample("latent_fairness", Beta(alpha_q, beta_q));
}
// [end]

double beta_mean(double a, double b) { return a / (a + b); }
double beta_sd(double a, double b) { return std::sqrt(a * b / ((a + b) * (a + b) * (a + b + 1))); }
double log_beta_fn(double a, double b) {
  return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
}
double beta_density(double x, double a, double b) {
  return std::exp((a - 1) * std::log(x) + (b - 1) * std::log1p(-x) - log_beta_fn(a, b));
}

}  // namespace

int main() {
  // [snippet data]
  Matrix tosses(10, 1);  // 1 is heads: six heads, four tails
  tosses << 1, 1, 1, 1, 1, 1, 0, 0, 0, 0;
  // [end]

  // [snippet elbo_by_hand]
  // One Monte Carlo estimate of the ELBO, written out: draw f from the guide, score it
  // under the model, subtract the guide's log-density.
  set_rng_seed(1);
  const Trace guide_trace = trace(guide).get_trace(tosses);
  const Trace model_trace = trace(replay(model, guide_trace)).get_trace(tosses);
  const double elbo_sample = model_trace.log_prob_sum().item() - guide_trace.log_prob_sum().item();
  // [end]
  set_rng_seed(1);
  const double loss_sample = Trace_ELBO().loss(model, guide, tosses);
  report("elbo_sample", elbo_sample);
  report("loss_sample", loss_sample);
  tape().reset();

  // [snippet svi]
  set_rng_seed(2026);
  param_store().clear();
  Adam adam(0.01);
  SVI svi(model, guide, adam);  // Trace_ELBO by default
  svi.set_progress(nullptr);
  const int steps = 10000, averaged = 5000;
  std::vector<double> losses;
  double mean_sum = 0, sd_sum = 0;
  for (int step = 1; step <= steps; ++step) {
    losses.push_back(svi.step(tosses));  // minus the ELBO estimate, before the update
    if (step > steps - averaged) {       // average the guide over the last steps
      const double a = param("alpha_q").item(), b = param("beta_q").item();
      mean_sum += beta_mean(a, b);
      sd_sum += beta_sd(a, b);
    }
  }
  const double mean = mean_sum / averaged, sd = sd_sum / averaged;
  fmt::print("fairness: {:.4f} +- {:.4f} (SVI), {:.4f} +- {:.4f} (exact, Beta(16, 14))\n", mean, sd,
             beta_mean(16, 14), beta_sd(16, 14));
  // [end]
  const double alpha = param("alpha_q").item(), beta = param("beta_q").item();
  tape().reset();
  report("svi_mean", mean);
  report("svi_sd", sd);
  report("exact_mean", beta_mean(16, 14));
  report("exact_sd", beta_sd(16, 14));
  report("alpha_q", alpha);
  report("beta_q", beta);

  // [snippet evidence]
  // The negative ELBO is at least -log p(tosses); with the exact posterior in the guide's
  // family it reaches it. Many particles make the estimate precise.
  const double final_loss = Trace_ELBO(4000).loss(model, guide, tosses);
  const double minus_log_evidence = log_beta_fn(10, 10) - log_beta_fn(16, 14);
  fmt::print("loss {:.4f} >= -log p(tosses) = {:.4f}\n", final_loss, minus_log_evidence);
  // [end]
  report("final_loss", final_loss);
  report("minus_log_evidence", minus_log_evidence);
  double early = 0, late = 0;
  for (int i = 0; i < 100; ++i) {
    early += losses[std::size_t(i)] / 100;
    late += losses[losses.size() - 1 - std::size_t(i)] / 100;
  }
  report("early_loss", early);
  report("late_loss", late);

  // The figure: the loss (a moving average) and the two densities.
  Matrix curve(steps / 50, 2), density(199, 4);
  for (int k = 0; k < steps / 50; ++k) {
    double s = 0;
    for (int i = 0; i < 50; ++i) s += losses[std::size_t(k * 50 + i)];
    curve.row(k) << k * 50 + 25, s / 50;
  }
  for (int k = 0; k < 199; ++k) {
    const double x = (k + 1) / 200.0;
    density.row(k) << x, beta_density(x, 10, 10), beta_density(x, 16, 14),
        beta_density(x, alpha, beta);
  }
  examples::write_plot(
      "ch03_coin.png",
      "set multiplot layout 1,2\n"
      "set title 'loss (-ELBO), mean of 50 steps'; set xlabel 'step'; set grid\n"
      "plot $curve using 1:2 with lines lw 2 lc rgb '#1f4e9c' notitle\n"
      "set title 'fairness of the coin'; set xlabel 'f'; set key top left\n"
      "plot $density using 1:2 with lines dt 2 lc rgb '#444444' title 'prior Beta(10, 10)', "
      "$density using 1:3 with lines lw 4 lc rgb '#c6dbff' title 'exact posterior', "
      "$density using 1:4 with lines lw 2 lc rgb '#d62728' title 'guide after SVI'\n"
      "unset multiplot",
      {{"curve", curve}, {"density", density}}, 960, 400);
  return 0;
}
