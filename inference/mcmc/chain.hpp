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
  enum class Algorithm { nuts, hmc };
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
  bool adapt_step_size = true;
  bool adapt_mass_matrix = true;
};

/// Checks the settings; throws ValueError naming the first bad one.
void check_settings(const SamplerSettings& s);

/// What a chain returns: its draws (unconstrained) and, per draw, the sampler's statistics.
struct ChainResult {
  Eigen::MatrixXd draws;  // num_samples x dim, unconstrained
  std::vector<double> accept_stat;
  std::vector<double> potential;
  std::vector<int> tree_depth;
  std::vector<long> num_steps;
  std::vector<char> divergent;
  long divergences = 0;         // while sampling
  long warmup_divergences = 0;  // while warming up
  double step_size = 0;         // after warm-up
  Eigen::MatrixXd inverse_metric;
  long gradient_evaluations = 0;
  double warmup_seconds = 0, sampling_seconds = 0;
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
