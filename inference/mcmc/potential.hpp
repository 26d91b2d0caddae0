// The potential energy of a model, the function HMC and NUTS move on: U(q) = -log p(x, z(q))
// - log|det dz/dq|, where q is one unconstrained vector holding every latent site (each pushed
// into its support by its constraint's bijection) and log p sums every sample site's term
// weighed by the trace rule (masked_scaled_sum: scale, mask, plates). The tape gives dU/dq.
//
//   Potential u([&] { model(data); });
//   Eigen::VectorXd q = Eigen::VectorXd::Zero(u.dim()), g(u.dim());
//   double energy = u.value_and_gradient(q, g);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <vesta/core/constraints.hpp>
#include <vesta/core/random.hpp>
#include <vesta/inference/initialization.hpp>

namespace vesta {

/// One latent sample site as MCMC sees it: where its entries sit in the unconstrained vector.
struct LatentBlock {
  std::string name;  ///< The site's name.
  /// Its distribution's support, whose bijection maps the block of q to the site's value.
  ConstraintPtr support;
  bool identity = false;  ///< The support is all reals: no transform, no Jacobian.
  /// A draw's (constrained) shape.
  /// @{
  Index rows = 0, cols = 0;
  /// @}
  Index ucols = 0;   ///< Unconstrained columns (rows x ucols entries).
  Index offset = 0;  ///< First entry in the unconstrained vector (a column-major block).
  /// The number of unconstrained entries, rows x ucols.
  Index size() const { return rows * ucols; }
};

/// The potential energy of a model and its gradient. Built by running the model once (with
/// its latents at `init`'s values, hidden from every other handler) to learn its latent sites;
/// each evaluation then runs the model with the latents set from q. Parameters the model reads
/// (`param`) are held fixed at their values when the Potential was built, so the ParamStore is
/// read once, on the building thread, and copies of a Potential can run on other threads.
/// Sites marked for enumeration (Infer{.enumerate = true}, config_enumerate) are summed out
/// as TraceEnum_ELBO sums them: the potential is then minus the log of their marginal. Any
/// other latent site with discrete support, a subsampled plate, or latent sites that differ
/// from run to run are errors naming the site.
class Potential {
 public:
  /// `run_model` runs the model on its data (a closure over the arguments); `init` gives the
  /// latents their values in the building run (initial_point()). Throws ValueError for an
  /// empty function, a latent site with discrete support or a folded-in log_prob, a site in a
  /// subsampled plate, or an initial value on the edge of its support.
  explicit Potential(std::function<void()> run_model, const InitStrategy& init = init_to_median());
  /// A copy with its own leaves: evaluate copies on different threads, never one on two.
  Potential(const Potential& other);
  Potential& operator=(const Potential&) = delete;
  ~Potential();

  /// The number of unconstrained entries.
  Index dim() const { return dim_; }
  /// The latent sites in run order, with their blocks of the unconstrained vector.
  const std::vector<LatentBlock>& latents() const { return latents_; }

  /// U(q); +inf where the model's log-density is -inf or NaN.
  double value(const Eigen::VectorXd& q);
  /// U(q), with dU/dq written to `grad` (resized to dim()).
  double value_and_gradient(const Eigen::VectorXd& q, Eigen::VectorXd& grad);

  /// The unconstrained point of the constrained values the model's latents took when the
  /// Potential was built (the init strategy's values).
  const Eigen::VectorXd& initial_point() const { return initial_point_; }
  /// The unconstrained point of the latents under `init`, drawing from `rng`: runs the model
  /// once more (on this thread).
  Eigen::VectorXd point_from(const InitStrategy& init, Rng& rng) const;
  /// Each latent's constrained value at q, in the order of latents().
  std::vector<Matrix> constrained(const Eigen::VectorXd& q) const;
  /// The names of the model's deterministic sites, in run order.
  const std::vector<std::string>& deterministic_sites() const { return deterministic_; }
  /// The values of the deterministic sites at q (runs the model once, without a gradient).
  std::vector<Matrix> deterministic_values(const Eigen::VectorXd& q);

 private:
  class Runner;
  double evaluate(const Eigen::VectorXd& q, Eigen::VectorXd* grad);

  std::function<void()> run_model_;
  std::vector<LatentBlock> latents_;
  std::vector<std::pair<std::string, Matrix>> params_;  // fixed param values, in run order
  std::vector<std::string> deterministic_;
  Index dim_ = 0;
  Eigen::VectorXd initial_point_;
  bool enumerated_ = false;  // the model has sites marked for enumeration
  std::unique_ptr<Runner> runner_;
};

}  // namespace vesta
