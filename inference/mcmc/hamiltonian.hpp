// Hamiltonian dynamics on a model's potential: the Euclidean metric (diagonal or dense), the
// leapfrog integrator, and the two transitions built on it, HMC with a fixed integration
// time and NUTS (Hoffman & Gelman 2014) with multinomial sampling of the trajectory and the
// generalised no-U-turn criterion (Betancourt 2017, "A Conceptual Introduction to Hamiltonian
// Monte Carlo", sections 4.2-4.3, A.4), as Stan samples.
#pragma once

#include <vector>

#include <Eigen/Core>

#include <vesta/core/random.hpp>
#include <vesta/inference/mcmc/potential.hpp>

namespace vesta {

/// A point of phase space with what the integrator needs at it.
struct PhasePoint {
  Eigen::VectorXd q;     ///< The position: the unconstrained latents.
  Eigen::VectorXd p;     ///< The momentum.
  Eigen::VectorXd grad;  ///< dU/dq at q.
  double potential = 0;  ///< U(q); +inf at a point of zero or undefined density.
};

/// The kinetic energy K(p) = p' M^-1 p / 2 of a Euclidean metric, given by its inverse M^-1
/// (the posterior covariance estimate): a vector for a diagonal metric, a matrix for a dense one.
class Metric {
 public:
  /// The identity, diagonal or dense.
  Metric(Eigen::Index dim, bool dense);
  /// Whether M^-1 is a full matrix rather than a diagonal.
  bool dense() const { return dense_; }
  /// Sets M^-1 (dim x 1 for a diagonal metric, dim x dim for a dense one); throws ValueError
  /// unless it is positive definite.
  void set_inverse(const Eigen::MatrixXd& inverse);
  /// M^-1: dim x 1 (the diagonal) for a diagonal metric, dim x dim for a dense one.
  const Eigen::MatrixXd& inverse() const { return inv_; }

  /// K(p) = p' M^-1 p / 2.
  double kinetic(const Eigen::VectorXd& p) const;
  /// dK/dp = M^-1 p, the velocity.
  void velocity(const Eigen::VectorXd& p, Eigen::VectorXd& out) const;
  /// p ~ N(0, M).
  void draw_momentum(Rng& rng, Eigen::VectorXd& p) const;

 private:
  bool dense_;
  Eigen::MatrixXd inv_;
  Eigen::MatrixXd chol_inv_;  // dense: L with L L' = M^-1; then p = L^-T z has covariance M
  mutable Eigen::VectorXd z_;
};

/// The Hamiltonian H(q, p) = U(q) + K(p) of a potential and a metric, and its leapfrog.
class Hamiltonian {
 public:
  /// Refers to `potential` and `metric` (not copied: they must outlive it, and later changes
  /// to the metric take effect).
  Hamiltonian(Potential& potential, const Metric& metric)
      : potential_(&potential), metric_(&metric) {}
  /// The potential U.
  Potential& potential() const { return *potential_; }
  /// The metric, whose kinetic energy is K.
  const Metric& metric() const { return *metric_; }

  /// Fills z.potential and z.grad at z.q.
  void init(PhasePoint& z) const;
  /// H = U(q) + K(p), from z.potential (not evaluated again) and z.p.
  double energy(const PhasePoint& z) const { return z.potential + metric_->kinetic(z.p); }
  /// One leapfrog step of size `eps` (negative: backwards in time): half a momentum step,
  /// a full position step, half a momentum step. A model error inside it (an overflow that
  /// leaves the support) makes the potential infinite, which the samplers treat as a
  /// divergence, as Stan rejects such a point.
  void leapfrog(PhasePoint& z, double eps) const;
  /// Leapfrog steps taken so far (gradient evaluations beyond init()).
  long steps() const { return steps_; }

 private:
  Potential* potential_;
  const Metric* metric_;
  mutable Eigen::VectorXd v_;
  mutable long steps_ = 0;
};

/// What one transition reports.
struct TransitionInfo {
  /// The acceptance statistic that step-size adaptation uses: NUTS, the mean of
  /// min(1, exp(H0 - H)) over the trajectory's new points; HMC, the Metropolis acceptance
  /// probability of the proposal.
  double accept_stat = 0;
  /// Whether the energy error H - H0 exceeded kMaxEnergyError (NUTS: at any new point, which
  /// ends the trajectory; HMC: at the trajectory's end).
  bool divergent = false;
  int tree_depth = 0;    ///< NUTS: the number of doublings; HMC: 0.
  long num_steps = 0;    ///< Leapfrog steps taken.
  double potential = 0;  ///< U at the new state (the old one if the chain stays).
};

/// Stan's threshold for a divergence: the energy error of a point exceeds this.
inline constexpr double kMaxEnergyError = 1000;

/// Static HMC: `num_steps` leapfrog steps of size eps, then a Metropolis correction. Moves z
/// (whose q, grad and potential must be current) to the next state.
TransitionInfo hmc_transition(const Hamiltonian& h, PhasePoint& z, double eps, long num_steps,
                              Rng& rng);

/// The No-U-Turn sampler's transition from z (q, grad, potential current), as Stan's: the
/// trajectory doubles in a random direction until the generalised U-turn criterion holds
/// between its ends (also across each merge of subtrees), a subtree diverges, or
/// max_tree_depth doublings; the next state is drawn from the trajectory by multinomial
/// weights exp(-H), progressively within subtrees and biased towards the new subtree at the top.
class NUTSTransition {
 public:
  /// Buffers for `dim` unconstrained entries and at most `max_tree_depth` doublings per
  /// transition; throws ValueError if max_tree_depth < 1. Reused across transitions: one per
  /// chain.
  explicit NUTSTransition(Eigen::Index dim, int max_tree_depth = 10);
  /// One transition from z (q, grad and potential current) with step size `eps`: draws a
  /// momentum, builds the trajectory, and moves z's q, grad and potential to the drawn point.
  TransitionInfo operator()(const Hamiltonian& h, PhasePoint& z, double eps, Rng& rng);

 private:
  // Private types, kept out of the reference:
  /// \cond
  // The summary of a stretch of trajectory needed to merge it with a neighbour: the momenta
  // and velocities at its earliest (minus) and latest (plus) points and its momentum sum.
  struct Span {
    Eigen::VectorXd p_minus, p_plus, v_minus, v_plus, rho;
  };
  struct Proposal {
    Eigen::VectorXd q, grad;
    double potential = 0;
  };
  struct Scratch {
    Span span;
    Proposal proposal;
  };
  /// \endcond

  bool build_tree(int depth, int direction, PhasePoint& edge, Span& span, Proposal& proposal,
                  double& log_sum_weight);
  // Merges `later` into `earlier` (adjacent in time) checking the U-turn criterion over the
  // whole and over each part extended by the other's nearest point (Stan's extra checks).
  bool merge(Span& first, Span& second, int direction);
  static bool no_u_turn(const Eigen::VectorXd& v_minus, const Eigen::VectorXd& v_plus,
                        const Eigen::VectorXd& rho) {
    return v_plus.dot(rho) > 0 && v_minus.dot(rho) > 0;
  }

  int max_depth_;
  std::vector<Scratch> scratch_;  // one per depth: the second subtree of a build at that depth
  Eigen::VectorXd rho_ext_;
  PhasePoint minus_, plus_;  // the trajectory's ends
  Span tree_;
  Proposal current_;
  // Set for the current transition.
  const Hamiltonian* h_ = nullptr;
  Rng* rng_ = nullptr;
  double eps_ = 0, h0_ = 0, sum_accept_ = 0;
  long n_steps_ = 0;
  bool divergent_ = false;
};

}  // namespace vesta
