// The primitives a model is written with: sample, param, factor, global_factor, deterministic
// (and plate, in <vesta/core/plate.hpp>). Each builds a Site carrying its default behaviour
// and sends it through the handler stack; with no handler active, sample simply draws (or
// returns the observation).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <vesta/core/constraints.hpp>
#include <vesta/core/distribution.hpp>
#include <vesta/core/messenger.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/small_blocks.hpp>

namespace vesta {

/// How inference treats a sample site (Pyro's `infer={...}` dictionary).
struct Infer {
  /// Sum the site out exactly rather than draw it (Pyro's "enumerate": "parallel"); the site
  /// needs a distribution with a finite support (Bernoulli, Categorical). TraceEnum_ELBO and
  /// infer_discrete act on it; other estimators draw it as usual.
  bool enumerate = false;
};

namespace detail {
/// A site's own copy of `dist`. It lives as long as the trace keeps the site, usually until the
/// next step records over it: its block comes from the thread's small-block lists, not malloc.
template <class D>
DistributionPtr site_distribution(D&& dist) {
  using T = std::decay_t<D>;
  return std::allocate_shared<T>(SmallBlockAllocator<T>{}, std::forward<D>(dist));
}
}  // namespace detail

/// A random variable named `name` distributed as `dist`: drawn (by rsample when the
/// distribution is reparameterisable), or, when `obs` is given, observed to be `obs`.
/// Handlers may replay, condition, block, scale, mask or seed it. The name must not be empty.
Tensor sample(const std::string& name, DistributionPtr dist,
              std::optional<Tensor> obs = std::nullopt);

namespace detail {
/// The sample primitive's message, for the functions above and below: `dist` and `obs` are
/// moved into the Site.
Tensor sample_site(const std::string& name, DistributionPtr& dist, std::optional<Tensor>& obs,
                   bool auxiliary, Infer infer);
}  // namespace detail

template <class D>
requires std::is_base_of_v<Distribution, std::decay_t<D>> Tensor
sample(const std::string& name, D&& dist, std::optional<Tensor> obs = std::nullopt) {
  if (handler_stack().empty()) [[likely]] {  // nothing to record: no Site at all
    if (name.empty()) return sample(name, nullptr, std::move(obs));  // throws, naming the fault
    if (obs) {
      dist.check_args();
      return *obs;
    }
    return dist.has_rsample() ? dist.rsample(thread_rng()) : dist.sample(thread_rng());
  }
  DistributionPtr site_dist = detail::site_distribution(std::forward<D>(dist));
  return detail::sample_site(name, site_dist, obs, false, {});
}

/// A latent random variable with instructions for inference:
/// `sample("z", Categorical::from_probs(w), Infer{.enumerate = true})`.
Tensor sample(const std::string& name, DistributionPtr dist, Infer infer);

template <class D>
requires std::is_base_of_v<Distribution, std::decay_t<D>> Tensor sample(const std::string& name,
                                                                        D&& dist, Infer infer) {
  return sample(name, detail::site_distribution(std::forward<D>(dist)), infer);
}

/// A guide-only latent from which the guide's other sites are computed (Pyro's
/// infer={"is_auxiliary": True}): inference scores it with the guide but does not expect it
/// in the model.
Tensor sample_auxiliary(const std::string& name, DistributionPtr dist);

/// The learnable parameter `name`: created from `init` (a value satisfying `constraint`) on
/// first use, read from the ParamStore afterwards. The store holds it unconstrained, which
/// is where optimizers work; the value returned is constrained and differentiable. Reading
/// an existing parameter with an `init` of another shape, or another constraint, is an error
/// naming the parameter and both (a checkpoint from another model, a typo in a name).
Tensor param(const std::string& name, const Matrix& init,
             ConstraintPtr constraint = constraints::real());
/// A 1x1 parameter, `param("loc", 0.0)`: the same as with a 1x1 Matrix, without making one
/// at every read.
Tensor param(const std::string& name, Scalar init, ConstraintPtr constraint = constraints::real());
/// Makes the initial (constrained) value of a parameter.
using ParamInit = std::function<Matrix()>;
/// The same, with the initial value computed by `init` only when the parameter is created:
/// for a random initialisation, or one too costly to build on every read. (A later read does
/// not run `init`, so it cannot compare shapes: Module::param takes the shape for that.)
Tensor param(const std::string& name, const ParamInit& init,
             ConstraintPtr constraint = constraints::real());
/// An existing parameter (or one that a substitute handler provides).
Tensor param(const std::string& name);

/// Adds `log_factor` to the model's log-joint as an observed site named `name` (Pyro's
/// factor): a per-datum term, weighed as a log_prob is, so inside a plate it needs one entry
/// per plate entry (and takes the plate's subsample scale and masks). A 1x1 term inside a
/// plate over several entries is an error that points to global_factor, since it would
/// otherwise count once per entry.
void factor(const std::string& name, const Tensor& log_factor);

/// Adds a term about global variables (a weight KL, a prior on shared parameters) to the
/// log-joint, counted once for the whole data set wherever the site sits: the subsample scale
/// and per-entry masks of the plates around it do not apply (an explicit scale handler, as in
/// KL annealing, and a 1x1 mask do). `log_factor` is summed to one number.
void global_factor(const std::string& name, const Tensor& log_factor);

/// Records `value` in the trace under `name` (it adds nothing to the log-joint) and returns it.
Tensor deterministic(const std::string& name, const Tensor& value);

}  // namespace vesta
