#include <vesta/inference/mcmc/hamiltonian.hpp>

#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <Eigen/Cholesky>

namespace vesta {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double log_add_exp(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

}  // namespace

Metric::Metric(Eigen::Index dim, bool dense) : dense_(dense) {
  set_inverse(dense ? Eigen::MatrixXd(Eigen::MatrixXd::Identity(dim, dim))
                    : Eigen::MatrixXd(Eigen::MatrixXd::Ones(dim, 1)));
}

void Metric::set_inverse(const Eigen::MatrixXd& inverse) {
  const Eigen::Index dim = inverse.rows();
  if (dense_) {
    if (inverse.cols() != dim) {
      throw ShapeError(fmt::format("Metric: a dense inverse metric must be square, not {}",
                                   shape_str(dim, inverse.cols())));
    }
    Eigen::LLT<Eigen::MatrixXd> llt(inverse);
    if (llt.info() != Eigen::Success || !inverse.allFinite()) {
      throw ValueError("Metric: the inverse metric is not positive definite");
    }
    chol_inv_ = llt.matrixL();
  } else {
    if (inverse.cols() != 1) {
      throw ShapeError(fmt::format("Metric: a diagonal inverse metric is a column, not {}",
                                   shape_str(dim, inverse.cols())));
    }
    for (Eigen::Index i = 0; i < dim; ++i) {
      if (!(inverse(i, 0) > 0) || !std::isfinite(inverse(i, 0))) {
        throw ValueError(fmt::format("Metric: inverse metric[{}] is {}, but must be positive", i,
                                     inverse(i, 0)));
      }
    }
  }
  inv_ = inverse;
  z_.resize(dim);
}

double Metric::kinetic(const Eigen::VectorXd& p) const {
  if (dense_) {
    z_.noalias() = inv_ * p;
    return 0.5 * p.dot(z_);
  }
  return 0.5 * (p.array().square() * inv_.col(0).array()).sum();
}

void Metric::velocity(const Eigen::VectorXd& p, Eigen::VectorXd& out) const {
  if (dense_) {
    out.noalias() = inv_ * p;
  } else {
    out = inv_.col(0).cwiseProduct(p);
  }
}

void Metric::draw_momentum(Rng& rng, Eigen::VectorXd& p) const {
  const Eigen::Index dim = inv_.rows();
  p.resize(dim);
  for (Eigen::Index i = 0; i < dim; ++i) z_[i] = static_cast<double>(rng.normal());
  if (dense_) {
    // p = L^-T z has covariance L^-T L^-1 = (L L')^-1 = M.
    p = chol_inv_.transpose().triangularView<Eigen::Upper>().solve(z_);
  } else {
    p = z_.array() / inv_.col(0).array().sqrt();
  }
}

void Hamiltonian::init(PhasePoint& z) const {
  z.potential = potential_->value_and_gradient(z.q, z.grad);
}

void Hamiltonian::leapfrog(PhasePoint& z, double eps) const {
  ++steps_;
  z.p.noalias() -= (0.5 * eps) * z.grad;
  metric_->velocity(z.p, v_);
  z.q.noalias() += eps * v_;
  try {
    z.potential = potential_->value_and_gradient(z.q, z.grad);
  } catch (const ValueError&) {
    // A value pushed out of its support by overflow (exp of a huge position): the point has
    // zero density. Shape errors and the like are caught when the chain starts.
    z.potential = kInf;
  }
  if (!std::isfinite(z.potential) || !z.grad.allFinite()) {
    z.potential = kInf;
    z.grad.setZero(z.q.size());
    return;
  }
  z.p.noalias() -= (0.5 * eps) * z.grad;
}

TransitionInfo hmc_transition(const Hamiltonian& h, PhasePoint& z, double eps, long num_steps,
                              Rng& rng) {
  thread_local PhasePoint w;
  h.metric().draw_momentum(rng, z.p);
  const double h0 = h.energy(z);
  w = z;
  TransitionInfo info;
  for (long i = 0; i < num_steps; ++i) {
    h.leapfrog(w, eps);
    ++info.num_steps;
    if (!std::isfinite(w.potential)) break;
  }
  double energy = h.energy(w);
  if (std::isnan(energy)) energy = kInf;
  info.divergent = energy - h0 > kMaxEnergyError;
  info.accept_stat = h0 - energy > 0 ? 1.0 : std::exp(h0 - energy);
  if (static_cast<double>(rng.uniform()) < info.accept_stat) std::swap(z, w);
  info.potential = z.potential;
  return info;
}

NUTSTransition::NUTSTransition(Eigen::Index dim, int max_tree_depth)
    : max_depth_(max_tree_depth), scratch_(static_cast<std::size_t>(max_tree_depth) + 2) {
  if (max_tree_depth < 1) {
    throw ValueError(
        fmt::format("NUTS: max_tree_depth is {}, but must be at least 1", max_tree_depth));
  }
  rho_ext_.resize(dim);
}

bool NUTSTransition::merge(Span& first, Span& second, int direction) {
  const Span& early = direction > 0 ? first : second;
  const Span& late = direction > 0 ? second : first;
  // The whole span, then each part extended by the nearest point of the other: a U-turn
  // inside a merge that the ends alone would miss (Stan's checks across subtrees).
  bool ok = true;
  rho_ext_ = early.rho + late.p_minus;
  ok = ok && no_u_turn(early.v_minus, late.v_minus, rho_ext_);
  rho_ext_ = late.rho + early.p_plus;
  ok = ok && no_u_turn(early.v_plus, late.v_plus, rho_ext_);
  first.rho += second.rho;
  if (direction > 0) {
    std::swap(first.p_plus, second.p_plus);
    std::swap(first.v_plus, second.v_plus);
  } else {
    std::swap(first.p_minus, second.p_minus);
    std::swap(first.v_minus, second.v_minus);
  }
  return ok && no_u_turn(first.v_minus, first.v_plus, first.rho);
}

bool NUTSTransition::build_tree(int depth, int direction, PhasePoint& edge, Span& span,
                                Proposal& proposal, double& log_sum_weight) {
  if (depth == 0) {
    h_->leapfrog(edge, direction * eps_);
    ++n_steps_;
    double energy = h_->energy(edge);
    if (std::isnan(energy)) energy = kInf;
    if (energy - h0_ > kMaxEnergyError) divergent_ = true;
    const double delta = h0_ - energy;
    log_sum_weight = delta;
    sum_accept_ += delta > 0 ? 1.0 : std::exp(delta);
    if (divergent_) return false;
    proposal.q = edge.q;
    proposal.grad = edge.grad;
    proposal.potential = edge.potential;
    span.p_minus = edge.p;
    span.p_plus = edge.p;
    span.rho = edge.p;
    h_->metric().velocity(edge.p, span.v_minus);
    span.v_plus = span.v_minus;
    return true;
  }
  double lsw_first = 0, lsw_second = 0;
  if (!build_tree(depth - 1, direction, edge, span, proposal, lsw_first)) return false;
  Scratch& s = scratch_[static_cast<std::size_t>(depth)];
  if (!build_tree(depth - 1, direction, edge, s.span, s.proposal, lsw_second)) return false;
  log_sum_weight = log_add_exp(lsw_first, lsw_second);
  // Within a subtree, the draw is uniform-progressive: the second half's proposal wins with
  // its share of the weight.
  if (std::log(static_cast<double>(rng_->uniform())) < lsw_second - log_sum_weight) {
    std::swap(proposal, s.proposal);
  }
  return merge(span, s.span, direction);
}

TransitionInfo NUTSTransition::operator()(const Hamiltonian& h, PhasePoint& z, double eps,
                                          Rng& rng) {
  h_ = &h;
  rng_ = &rng;
  eps_ = eps;
  sum_accept_ = 0;
  n_steps_ = 0;
  divergent_ = false;
  h.metric().draw_momentum(rng, z.p);
  h0_ = h.energy(z);

  PhasePoint& minus = minus_;
  PhasePoint& plus = plus_;
  Span& tree = tree_;
  Proposal& current = current_;
  Scratch& top = scratch_.back();
  minus = z;
  plus = z;
  tree.p_minus = z.p;
  tree.p_plus = z.p;
  tree.rho = z.p;
  h.metric().velocity(z.p, tree.v_minus);
  tree.v_plus = tree.v_minus;
  current.q = z.q;
  current.grad = z.grad;
  current.potential = z.potential;

  double log_sum_weight = 0;  // the initial point's weight: exp(h0 - h0)
  int depth = 0;
  while (depth < max_depth_) {
    const int direction = static_cast<double>(rng.uniform()) > 0.5 ? 1 : -1;
    double lsw_new = 0;
    const bool valid =
        build_tree(depth, direction, direction > 0 ? plus : minus, top.span, top.proposal, lsw_new);
    if (!valid) break;
    ++depth;
    // Across doublings the draw is biased towards the new subtree (Betancourt 2017, A.3.2):
    // it wins with probability min(1, w_new / w_old), which moves further per transition.
    if (lsw_new > log_sum_weight ||
        std::log(static_cast<double>(rng.uniform())) < lsw_new - log_sum_weight) {
      std::swap(current, top.proposal);
    }
    log_sum_weight = log_add_exp(log_sum_weight, lsw_new);
    if (!merge(tree, top.span, direction)) break;
  }

  std::swap(z.q, current.q);
  std::swap(z.grad, current.grad);
  z.potential = current.potential;
  TransitionInfo info;
  info.num_steps = n_steps_;
  info.accept_stat = n_steps_ > 0 ? sum_accept_ / static_cast<double>(n_steps_) : 0.0;
  info.divergent = divergent_;
  info.tree_depth = depth;
  info.potential = z.potential;
  return info;
}

}  // namespace vesta
