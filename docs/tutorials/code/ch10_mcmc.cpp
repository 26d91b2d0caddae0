// Chapter 10: MCMC against SVI on eight schools; NUTS's summary and diagnostics, AutoNormal's
// tau, divergences of the centred model.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/plot.hpp"
#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::report;

namespace {

// [snippet model]
// Eight schools, non-centred: each school's effect is mu + tau * theta_trans[j], with
// theta_trans[j] ~ Normal(0, 1) a priori, so the sampler never sees theta's scale tied to tau.
void model(const Matrix& y, const Matrix& sigma) {
  const Tensor mu = sample("mu", Normal(0, 5));
  const Tensor tau = sample("tau", HalfCauchy(5));
  auto schools = plate("schools", y.rows());
  const Tensor theta_trans = sample("theta_trans", Normal(0, 1));
  const Tensor theta = deterministic("theta", mu + tau * theta_trans);
  sample("obs", Normal(theta, Tensor(sigma)), Tensor(y));
}
// [end]

// [snippet centred]
// The same model, centred: theta[j] ~ Normal(mu, tau) directly.
void centred_model(const Matrix& y, const Matrix& sigma) {
  const Tensor mu = sample("mu", Normal(0, 5));
  const Tensor tau = sample("tau", HalfCauchy(5));
  auto schools = plate("schools", y.rows());
  const Tensor theta = sample("theta", Normal(mu, tau));
  sample("obs", Normal(theta, Tensor(sigma)), Tensor(y));
}
// [end]

// The summary's numbers of one entry, reported as NAME_mean, NAME_sd, ... for the chapter.
void report_row(const MCMCSummary& summary, const std::string& entry, const std::string& name) {
  const SummaryRow& r = summary.at(entry);
  report(name + "_mean", r.mean);
  report(name + "_sd", r.sd);
  report(name + "_q05", r.q05);
  report(name + "_q50", r.q50);
  report(name + "_q95", r.q95);
  report(name + "_ess_bulk", r.ess_bulk);
  report(name + "_ess_tail", r.ess_tail);
  report(name + "_rhat", r.rhat);
}

// Gradient evaluations of all chains, warm-up included: what the run cost.
template <class Kernel>
long gradients(const MCMC<Kernel>& mcmc) {
  long n = 0;
  for (const ChainResult& c : mcmc.chains()) n += c.gradient_evaluations;
  return n;
}

// A histogram of `x` on [0, top) in `bins` bins, as a density: one row (centre, density) each.
Matrix histogram(const Matrix& x, double top, int bins) {
  Matrix h = Matrix::Zero(bins, 2);
  const double width = top / bins;
  for (int b = 0; b < bins; ++b) h(b, 0) = (b + 0.5) * width;
  for (Index i = 0; i < x.size(); ++i) {
    const auto b = static_cast<int>(x(i) / width);
    if (b >= 0 && b < bins) h(b, 1) += 1.0 / (double(x.size()) * width);
  }
  return h;
}

}  // namespace

int main() {
  // [snippet data]
  // Coaching effects in eight schools (Rubin 1981) and their standard errors.
  const Matrix y = (Matrix(8, 1) << 28, 8, -3, 7, -1, 1, 18, 12).finished();
  const Matrix sigma = (Matrix(8, 1) << 15, 10, 16, 11, 9, 11, 10, 18).finished();
  // [end]

  // [snippet nuts]
  MCMCOptions options;
  options.seed = 7;
  options.progress = nullptr;  // no progress line
  NUTS kernel(model);
  MCMC mcmc(kernel, 500, 500, 4, options);  // 500 warm-up + 500 draws, 4 chains
  mcmc.run(y, sigma);
  const MCMCSummary summary = mcmc.summary();
  fmt::print("{}", summary.format());
  // [end]
  report_row(summary, "mu", "mu");
  report_row(summary, "tau", "tau");
  report_row(summary, "theta[0]", "theta0");
  report_row(summary, "theta_trans[0]", "theta_trans0");
  double rhat_max = 0;
  for (const SummaryRow& r : summary.rows) rhat_max = std::max(rhat_max, r.rhat);
  report("rhat_max", rhat_max);
  report("divergences", double(summary.divergences));
  const SummaryRow& tau = summary.at("tau");
  report("tau_mcse", tau.sd / std::sqrt(tau.ess_bulk));
  const long nuts_gradients = gradients(mcmc);
  report("nuts_gradients", double(nuts_gradients));
  report("gradients_per_ess", double(nuts_gradients) / tau.ess_bulk);

  // [snippet svi]
  set_rng_seed(7);
  AutoNormal guide(model);
  Adam adam(0.05);
  adam.set_schedule(schedules::exponential_decay(0.05, std::pow(0.02, 1.0 / 2000)));
  SVI svi(model, guide, adam);
  svi.set_progress(nullptr);
  svi.run(2000, y, sigma);
  const SiteSamples q = Predictive(model, guide, 4000, {"tau", "mu"})(y, sigma);
  // [end]
  const double svi_tau_mean = q.mean("tau")(0, 0);
  report("svi_tau_mean", svi_tau_mean);
  report("svi_tau_q05", q.quantile("tau", 0.05)(0, 0));
  report("svi_tau_q50", q.quantile("tau", 0.5)(0, 0));
  report("svi_tau_q95", q.quantile("tau", 0.95)(0, 0));
  report("svi_mu_mean", q.mean("mu")(0, 0));
  report("svi_tau_shortfall", 100 * (1 - svi_tau_mean / tau.mean));

  // [snippet centred_runs]
  NUTS centred_kernel(centred_model);
  MCMC centred(centred_kernel, 500, 500, 4, options);
  centred.run(y, sigma);
  NUTSOptions careful;
  careful.target_accept = 0.99;
  NUTS careful_kernel(centred_model, careful);
  MCMC centred_careful(careful_kernel, 500, 500, 4, options);
  centred_careful.run(y, sigma);
  // [end]
  const MCMCSummary cs = centred.summary(), cc = centred_careful.summary();
  report("centred_divergences", double(cs.divergences));
  report("centred_tau_mean", cs.at("tau").mean);
  report("centred_tau_ess_bulk", cs.at("tau").ess_bulk);
  report("centred_tau_rhat", cs.at("tau").rhat);
  report("careful_divergences", double(cc.divergences));
  report("careful_tau_mean", cc.at("tau").mean);
  report("careful_tau_ess_bulk", cc.at("tau").ess_bulk);
  report("careful_gradients", double(gradients(centred_careful)));
  report("careful_cost_ratio", double(gradients(centred_careful)) / double(nuts_gradients));
  // The percentage of each posterior in the funnel's neck, below log tau = -0.5.
  const auto neck = [](const Matrix& tau) {
    return (tau.array() < std::exp(-0.5)).cast<double>().mean();
  };
  report("neck_noncentred", 100 * neck(mcmc.get_samples().flat("tau")));
  report("neck_centred", 100 * neck(centred.get_samples().flat("tau")));

  // The figure: the centred model's draws of (log tau, theta[0]) with its divergences, and
  // tau's posterior by NUTS and by AutoNormal.
  Matrix funnel(0, 3);
  const auto& by_chain = centred.get_samples_by_chain();
  for (std::size_t c = 0; c < by_chain.size(); ++c) {
    const Matrix t = by_chain[c].flat("tau"), th = by_chain[c].flat("theta");
    const Index start = funnel.rows();
    funnel.conservativeResize(start + t.rows(), 3);
    for (Index i = 0; i < t.rows(); ++i) {
      funnel.row(start + i) << std::log(t(i, 0)), th(i, 0),
          double(centred.chains()[c].divergent[std::size_t(i)]);
    }
  }
  const Matrix nuts_tau = mcmc.get_samples().flat("tau"), svi_tau = q.flat("tau");
  examples::write_plot(
      "ch10_mcmc.png",
      "set multiplot layout 1,2\n"
      "set title 'centred model: NUTS draws (red: divergent)'\n"
      "set xlabel 'log tau'; set ylabel 'theta[0]'; set grid; set key top left\n"
      "plot $funnel using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 0.4 lc rgb '#1f4e9c' "
      "title 'draws', "
      "$funnel using 1:($3 == 1 ? $2 : 1/0) with points pt 7 ps 0.7 lc rgb '#d62728' "
      "title 'divergent'\n"
      "set title 'posterior of tau (non-centred model)'; set key top right\n"
      "set xlabel 'tau'; set ylabel 'density'; set xrange [0:20]\n"
      "plot $nuts using 1:2 with steps lw 2 lc rgb '#1f4e9c' title 'NUTS', "
      "$svi using 1:2 with steps lw 2 lc rgb '#2ca02c' title 'SVI, AutoNormal'\n"
      "unset multiplot",
      {{"funnel", funnel},
       {"nuts", histogram(nuts_tau, 20, 40)},
       {"svi", histogram(svi_tau, 20, 40)}},
      1000, 420);
  tape().reset();
  return 0;
}
