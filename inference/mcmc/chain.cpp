#include <vesta/inference/mcmc/chain.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include <vesta/inference/mcmc/adaptation.hpp>
#include <vesta/inference/mcmc/hamiltonian.hpp>

namespace vesta {

namespace {

double energy_change_after_one_step(const Hamiltonian& h, const PhasePoint& z, PhasePoint& w,
                                    double eps, Rng& rng) {
  w = z;
  h.metric().draw_momentum(rng, w.p);
  const double h0 = h.energy(w);
  h.leapfrog(w, eps);
  const double h1 = h.energy(w);
  return std::isnan(h1) ? -std::numeric_limits<double>::infinity() : h0 - h1;
}

// Stan's initial step size: from `eps`, double (or halve) it until one leapfrog step from z
// with a fresh momentum has acceptance exp(-dH) crossing 0.8 (Hoffman & Gelman 2014, Alg. 4).
double find_step_size(const Hamiltonian& h, const PhasePoint& z, double eps, Rng& rng) {
  const double log_target = std::log(0.8);
  PhasePoint w;
  const double delta0 = energy_change_after_one_step(h, z, w, eps, rng);
  const int direction = delta0 > log_target ? 1 : -1;
  for (;;) {
    eps = direction == 1 ? 2 * eps : 0.5 * eps;
    if (eps > 1e7) {
      throw ValueError(
          "MCMC: the step size grew past 1e7 while looking for one that is not accepted "
          "always: the posterior is probably improper (a latent without a proper prior?)");
    }
    if (eps == 0) {
      throw ValueError(
          "MCMC: no step size is small enough for a leapfrog step to be accepted: the "
          "potential's gradient is not finite near the initial point");
    }
    const double delta = energy_change_after_one_step(h, z, w, eps, rng);
    if (direction == 1 && !(delta > log_target)) break;
    if (direction == -1 && !(delta < log_target)) break;
  }
  return eps;
}

}  // namespace

void check_settings(const SamplerSettings& s) {
  if (!(s.target_accept > 0 && s.target_accept < 1)) {
    throw ValueError(
        fmt::format("MCMC: target_accept is {}, but must be in (0, 1)", s.target_accept));
  }
  if (s.max_tree_depth < 1 || s.max_tree_depth > 30) {
    throw ValueError(
        fmt::format("MCMC: max_tree_depth is {}, but must be in 1..30", s.max_tree_depth));
  }
  if (!(s.trajectory_length > 0) || !std::isfinite(s.trajectory_length)) {
    throw ValueError(
        fmt::format("HMC: trajectory_length is {}, but must be positive", s.trajectory_length));
  }
  if (!(s.step_size >= 0) || !std::isfinite(s.step_size)) {
    throw ValueError(
        fmt::format("MCMC: step_size is {}, but must be positive (or 0: found)", s.step_size));
  }
}

ChainResult run_chain(Potential& potential, const SamplerSettings& settings,
                      const Eigen::VectorXd& q0, long num_warmup, long num_samples, Rng rng,
                      const IterationCallback& on_iteration) {
  check_settings(settings);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const Eigen::Index dim = potential.dim();
  Metric metric(dim, settings.dense_mass);
  Hamiltonian h(potential, metric);
  PhasePoint z;
  z.q = q0;
  h.init(z);
  if (!std::isfinite(z.potential) || !z.grad.allFinite()) {
    throw ValueError(fmt::format(
        "MCMC: the model's log-density or its gradient is not finite at the initial point "
        "(potential {}); choose another init",
        z.potential));
  }
  double eps = settings.step_size > 0 ? settings.step_size : 1.0;
  if (settings.step_size == 0) eps = find_step_size(h, z, eps, rng);
  DualAveraging dual(settings.target_accept);
  dual.restart(eps);
  AdaptationSchedule schedule(num_warmup);
  const bool adapt_metric = settings.adapt_mass_matrix && schedule.adapts_metric();
  std::optional<RunningCovariance> estimate;
  if (adapt_metric) estimate.emplace(dim, settings.dense_mass);
  std::optional<NUTSTransition> nuts;
  if (settings.algorithm == SamplerSettings::Algorithm::nuts) {
    nuts.emplace(dim, settings.max_tree_depth);
  }
  const long max_hmc_steps = 1L << settings.max_tree_depth;

  ChainResult out;
  out.draws.resize(num_samples, dim);
  out.accept_stat.reserve(static_cast<std::size_t>(num_samples));
  out.potential.reserve(static_cast<std::size_t>(num_samples));
  out.tree_depth.reserve(static_cast<std::size_t>(num_samples));
  out.num_steps.reserve(static_cast<std::size_t>(num_samples));
  out.divergent.reserve(static_cast<std::size_t>(num_samples));
  auto warmup_end = start;

  for (long i = 0; i < num_warmup + num_samples; ++i) {
    TransitionInfo info;
    if (nuts) {
      info = (*nuts)(h, z, eps, rng);
    } else {
      const long steps =
          std::clamp(std::lround(settings.trajectory_length / eps), 1L, max_hmc_steps);
      info = hmc_transition(h, z, eps, steps, rng);
    }
    if (i < num_warmup) {
      out.warmup_divergences += info.divergent ? 1 : 0;
      if (settings.adapt_step_size) eps = dual.update(info.accept_stat);
      if (adapt_metric && schedule.in_window(i)) estimate->add(z.q);
      if (adapt_metric && schedule.window_ends(i)) {
        metric.set_inverse(estimate->regularised());
        estimate->reset();
        if (settings.adapt_step_size) {
          eps = find_step_size(h, z, eps, rng);
          dual.restart(eps);
        }
      }
      if (i == num_warmup - 1) {
        if (settings.adapt_step_size) eps = dual.final_step_size();
        warmup_end = Clock::now();
      }
    } else {
      const long k = i - num_warmup;
      out.draws.row(k) = z.q.transpose();
      out.accept_stat.push_back(info.accept_stat);
      out.potential.push_back(info.potential);
      out.tree_depth.push_back(info.tree_depth);
      out.num_steps.push_back(info.num_steps);
      out.divergent.push_back(info.divergent ? 1 : 0);
      out.divergences += info.divergent ? 1 : 0;
    }
    if (on_iteration) on_iteration(i, info.divergent);
  }
  const auto end = Clock::now();
  out.step_size = eps;
  out.inverse_metric = metric.inverse();
  out.gradient_evaluations = h.steps() + 1;
  out.warmup_seconds = std::chrono::duration<double>(warmup_end - start).count();
  out.sampling_seconds = std::chrono::duration<double>(end - warmup_end).count();
  return out;
}

}  // namespace vesta
