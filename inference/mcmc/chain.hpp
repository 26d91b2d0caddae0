// One Markov chain: Stan's warm-up (step size by dual averaging, metric by windowed
// estimation, see adaptation.hpp) followed by sampling, with NUTS or static HMC transitions.
// MCMC (mcmc.hpp) runs several of these on threads; this is the single-threaded core.
#pragma once

#include <functional>
#include <vector>

#include <Eigen/Core>

#include <vesta/core/random.hpp>
#include <vesta/inference/mcmc/potential.hpp>

namespace vesta {

/// How a chain moves and adapts. The defaults are Stan's.
struct SamplerSettings {
  /// The transition a chain makes each iteration.
  enum class Algorithm {
    nuts,  ///< The No-U-Turn sampler (NUTSTransition).
    hmc    ///< Static HMC with a fixed integration time (hmc_transition).
  };
  /// The transition: NUTS by default.
  Algorithm algorithm = Algorithm::nuts;
  /// The mean acceptance statistic that dual averaging aims for during warm-up.
  double target_accept = 0.8;
  /// NUTS: the most doublings of a trajectory (2^depth leapfrog steps); HMC: also caps the
  /// number of steps per trajectory at 2^max_tree_depth.
  int max_tree_depth = 10;
  /// HMC: the integration time; each trajectory takes round(trajectory_length / step size)
  /// leapfrog steps.
  double trajectory_length = 6.283185307179586;
  /// A dense metric (full covariance estimate) rather than a diagonal one.
  bool dense_mass = false;
  /// The initial step size; 0: found by Stan's heuristic (doubling or halving until one
  /// leapfrog step's acceptance crosses 0.8).
  double step_size = 0;
  /// Tune the step size by dual averaging during warm-up; false: the initial step size (given
  /// or found) is used throughout.
  bool adapt_step_size = true;
  /// Estimate the inverse metric from the warm-up draws of the adaptation windows; false: the
  /// identity metric is used throughout.
  bool adapt_mass_matrix = true;
};

/// Checks the settings; throws ValueError naming the first bad one.
void check_settings(const SamplerSettings& s);

/// What a chain returns: its draws (unconstrained) and, per draw, the sampler's statistics.
struct ChainResult {
  /// The draws after warm-up, one row each: num_samples x dim, unconstrained, laid out as
  /// Potential::latents() says.
  Eigen::MatrixXd draws;
  /// Per draw, the transition's acceptance statistic (Stan's accept_stat__).
  std::vector<double> accept_stat;
  /// Per draw, the potential U at the draw: minus the log-density on the unconstrained scale,
  /// Jacobian included (minus Stan's lp__, up to a constant).
  std::vector<double> potential;
  /// Per draw, NUTS's number of doublings (Stan's treedepth__); 0 with HMC.
  std::vector<int> tree_depth;
  /// Per draw, the leapfrog steps of the transition (Stan's n_leapfrog__).
  std::vector<long> num_steps;
  /// Per draw, 1 if the transition diverged, else 0 (Stan's divergent__).
  std::vector<char> divergent;
  long divergences = 0;         ///< Divergent transitions while sampling.
  long warmup_divergences = 0;  ///< Divergent transitions while warming up.
  /// The step size the draws were made with: after warm-up, dual averaging's final (averaged)
  /// value when the step size is adapted.
  double step_size = 0;
  /// The inverse metric M^-1 the draws were made with: dim x 1 (diagonal) or dim x dim
  /// (dense); the identity unless the metric was adapted.
  Eigen::MatrixXd inverse_metric;
  /// Evaluations of the potential's gradient over the whole chain: one per leapfrog step
  /// (step-size searches included), plus one at q0.
  long gradient_evaluations = 0;
  /// Wall-clock seconds of warm-up (set-up and the first step-size search included) and of
  /// sampling.
  /// @{
  double warmup_seconds = 0, sampling_seconds = 0;
  /// @}
};

/// Called after each iteration (0-based, warm-up first) with whether it diverged.
using IterationCallback = std::function<void(long iteration, bool divergent)>;

/// Runs one chain from the unconstrained point q0: num_warmup iterations of adaptation, then
/// num_samples recorded draws. Throws ValueError if the potential is not finite at q0 or the
/// step-size search fails (an improper posterior).
ChainResult run_chain(Potential& potential, const SamplerSettings& settings,
                      const Eigen::VectorXd& q0, long num_warmup, long num_samples, Rng rng,
                      const IterationCallback& on_iteration = nullptr);

}  // namespace vesta
