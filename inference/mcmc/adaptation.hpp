// Warm-up as Stan does it (Stan reference manual, "HMC algorithm parameters"): dual averaging
// of the step size towards a target acceptance statistic (Hoffman & Gelman 2014, section
// 3.2, after Nesterov 2009), and a mass matrix estimated from the draws of doubling windows
// between a fast initial and a fast final buffer (75 / 25 / 50 iterations by default).
#pragma once

#include <vector>

#include <Eigen/Core>

namespace vesta {

/// Dual averaging of log(step size): drives the mean acceptance statistic to `target`.
/// Stan's constants: gamma 0.05, t0 10, kappa 0.75, and mu = log(10 * step size), the point
/// the iterates shrink towards, set at each restart.
class DualAveraging {
 public:
  /// `target`: the mean acceptance statistic aimed for, in (0, 1) (Stan's adapt_delta);
  /// `gamma`: the strength of the shrinkage towards mu (larger: the iterates stay closer to
  /// it); `t0`: an iteration offset that damps the first updates; `kappa`: the exponent of the
  /// weights t^-kappa with which the iterates are averaged. Call restart() before the first
  /// update().
  explicit DualAveraging(double target = 0.8, double gamma = 0.05, double t0 = 10,
                         double kappa = 0.75);
  /// Starts over from `step_size` (after each metric update, too).
  void restart(double step_size);
  /// One update with the iteration's acceptance statistic; returns the next step size.
  double update(double accept_stat);
  /// The averaged step size: the one to sample with after warm-up.
  double final_step_size() const;

 private:
  double target_, gamma_, t0_, kappa_;
  double mu_ = 0, s_bar_ = 0, x_bar_ = 0;
  long counter_ = 0;
};

/// Welford's running mean and (co)variance of the unconstrained draws of one window.
class RunningCovariance {
 public:
  /// An empty estimate over `dim` entries: a full covariance when `dense`, else variances only.
  RunningCovariance(Eigen::Index dim, bool dense);
  /// Adds one draw (dim entries).
  void add(const Eigen::VectorXd& q);
  /// Forgets every draw, to start the next window.
  void reset();
  /// The number of draws added since construction or the last reset().
  long count() const { return n_; }
  /// The sample variance (diagonal) or covariance (dense), shrunk towards 1e-3 times the
  /// identity as Stan does: (n / (n + 5)) S + 1e-3 (5 / (n + 5)) I, which keeps a short
  /// window's estimate well conditioned.
  Eigen::MatrixXd regularised() const;

 private:
  bool dense_;
  long n_ = 0;
  Eigen::VectorXd mean_;
  Eigen::MatrixXd m2_;  // dim x 1 (diagonal) or dim x dim
};

/// Which warm-up iterations feed the metric estimate, and after which ones it is updated.
/// Iterations 0 .. init_buffer-1 adapt the step size only; then windows of base_window,
/// 2 base_window, ... iterations each end with a metric update (the last window stretched to
/// meet the final buffer); the last term_buffer iterations adapt the step size only. When the
/// three do not fit in num_warmup, they become 15% / 75% / 10% of it (Stan's rule); under 20
/// warm-up iterations the metric is not adapted.
class AdaptationSchedule {
 public:
  /// The schedule of `num_warmup` warm-up iterations with Stan's buffers: `init_buffer`
  /// (75), `term_buffer` (50) and the first window's length `base_window` (25), in iterations.
  AdaptationSchedule(long num_warmup, long init_buffer = 75, long term_buffer = 50,
                     long base_window = 25);
  /// Whether iteration `i` (0-based, during warm-up) adds its draw to the metric estimate.
  bool in_window(long i) const;
  /// Whether the metric is updated after iteration `i` (the end of a window).
  bool window_ends(long i) const;
  /// Whether the metric is adapted at all (false under 20 warm-up iterations).
  bool adapts_metric() const { return adapt_metric_; }

 private:
  long num_warmup_, init_buffer_, term_buffer_, base_window_;
  bool adapt_metric_ = true;
  std::vector<long> ends_;
};

}  // namespace vesta
