// Enumeration of discrete latent sites: marking them (config_enumerate), giving them every
// value of their support at once (EnumMessenger), and summing them out exactly — per plate
// entry by a log-sum-exp over their joint values, along a markov chain by the forward
// algorithm. TraceEnum_ELBO and infer_discrete are built on this; DESIGN.md ("Enumeration")
// explains the representation in vesta's 2-D tensors.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/trace.hpp>

namespace vesta {

/// Marks every unobserved sample site whose distribution has a finite support (Bernoulli,
/// Categorical) for enumeration, as Pyro's config_enumerate does; other sites are left alone.
class ConfigEnumerateMessenger : public Messenger {
 public:
  ConfigEnumerateMessenger() = default;
  /// Sets `site.enumerate` on the sites described above.
  void process(Site& site) override;
};

/// The handler form: `auto e = config_enumerate(); model();`.
inline ConfigEnumerateMessenger config_enumerate() { return ConfigEnumerateMessenger(); }

/// The model transformer: a model whose discrete sites are all marked for enumeration.
template <class F>
auto config_enumerate(F&& fn) {
  return detail::wrap(std::forward<F>(fn), [] { return ConfigEnumerateMessenger(); });
}

namespace detail {

/// Which enumerated sites share the columns of one plate (or of the whole model when the
/// plate is empty), in the order the model samples them, with their numbers of values: the
/// mixed-radix layout of their joint values. Learned from the runs of the model.
struct EnumGroupLayout {
  std::string plate;
  std::vector<std::pair<std::string, Index>> sites;
};

/// Every group's layout; kept by an estimator from step to step.
struct EnumLayout {
  std::vector<EnumGroupLayout> groups;
};

/// Thrown out of a model run when the layout did not foresee an enumerated site: the run is
/// repeated with the corrected layout (only while the model's structure is being learned).
struct EnumRelayout {};

}  // namespace detail

/// Gives each site marked for enumeration every value of its support at once, instead of a
/// draw. Outside a markov chain, the enumerated sites of a plate over rows (or of the model,
/// outside plates) take their joint values along the columns: a site's value is a 1 x W row
/// whose column c holds its value in the c-th joint assignment, and its log_prob is R x W
/// (R: the plate's entries). In a markov chain a site's value is the 1 x K row of its own
/// values, and its log_prob is (1 or K_prev) x K, rows indexing the previous step's values.
/// Throws, naming the site, for a distribution without finite support, a site in a plate
/// over columns, and a chain inside a plate.
class EnumMessenger : public Messenger {
 public:
  /// `layout` must outlive the handler; it is corrected when the model's structure differs.
  explicit EnumMessenger(detail::EnumLayout& layout) : layout_(&layout) {}
  /// Enumerates a marked site (see the class comment).
  void process(Site& site) override;
  /// After the model ran: true if every group's layout was what the run needed; false after
  /// correcting it (the run must be repeated).
  bool finish();

 private:
  detail::EnumLayout* layout_;
  std::vector<std::pair<std::string, std::size_t>> visited_;  // per group: sites seen so far
};

/// Runs `run` (which runs the model under an EnumMessenger and throws detail::EnumRelayout
/// when finish() fails) until the layout fits the model.
template <class Run>
void run_enumerated(Run&& run) {
  for (int attempt = 0;; ++attempt) {
    try {
      run();
      return;
    } catch (const detail::EnumRelayout&) {
      if (attempt >= 64) {
        throw ValueError(
            "enumeration: the model's enumerated sites change from run to run, so their joint "
            "values cannot be laid out; sample the same discrete sites in the same order");
      }
    }
  }
}

/// The enumerated sites of one plate (or, when `plate` is empty, of the whole model outside
/// markov chains), summed out jointly, and the sites whose log_prob depends on them.
struct EnumGroup {
  /// The plate over rows the sites are in; empty for sites outside plates.
  std::string plate;
  /// The enumerated sites, in order; their joint values are the columns.
  std::vector<const Site*> enumerated;
  /// Other sample sites whose log_prob has one column per joint value.
  std::vector<const Site*> factors;
  /// The number of joint values (the product of the sites' support sizes).
  Index width = 1;
  /// Position in the trace of the first enumerated site (no site before it depends on it).
  std::size_t first = 0;
};

/// A markov chain of enumerated sites, one per step, and the factors of each step.
struct EnumChain {
  /// The chain's name (markov(T, name)).
  std::string name;
  /// The enumerated site of each step, in order.
  std::vector<const Site*> states;
  /// Per state: the other sites of its step whose log_prob depends on it.
  std::vector<std::vector<const Site*>> factors;
};

/// How the sites of a model trace with enumerated sites combine into the log-joint.
struct EnumPlan {
  /// Plates (or the model) with enumerated sites.
  std::vector<EnumGroup> groups;
  /// Markov chains with enumerated sites.
  std::vector<EnumChain> chains;
  /// Sample sites that no enumerated site reaches: their terms are as in Trace_ELBO.
  std::vector<const Site*> ordinary;
};

/// Sorts the sample sites of `model_trace` into groups, chains and ordinary sites. Throws
/// ValueError or ShapeError, naming the site, for a structure that is not supported (see
/// DESIGN.md), such as a log_prob whose columns are neither 1 nor the joint values.
EnumPlan plan_enumeration(const Trace& model_trace);

/// The log-joint of a group for every plate entry and joint value: the sum of the members'
/// masked log_probs, R x W (R: the plate's entries; 1 for a group outside plates). `scale`
/// receives the members' common term_scale; a member with another scale is an error.
Tensor group_log_table(const Trace& model_trace, const EnumGroup& group, Scalar& scale);

/// The group's sites summed out: scale * sum over entries of logsumexp over joint values (1x1).
Tensor group_log_marginal(const Trace& model_trace, const EnumGroup& group);

/// The sum over rows of the logsumexp over columns of the sum of `parts` (each R x W, or
/// 1 x W broadcast to every row), as one tape node (1x1): a group's sites summed out per plate
/// entry, without the R x W sum and its softmax being recorded and recomputed apart.
Tensor sum_rowwise_logsumexp(const std::vector<Tensor>& parts);

/// The chain's factor of each step: factors[0] is 1 x K_0 (the first state's log p plus its
/// step's other terms); factors[t] is (1 or K_{t-1}) x K_t. `scale` receives the common scale.
std::vector<Tensor> chain_log_factors(const Trace& model_trace, const EnumChain& chain,
                                      Scalar& scale);

/// The chain's sites summed out: scale * markov_logsumexp(chain_log_factors(...)) (1x1).
Tensor chain_log_marginal(const Trace& model_trace, const EnumChain& chain);

/// log of the sum over every path z_0..z_{T-1} of exp(f_0[z_0] + sum_t f_t[z_{t-1}, z_t]): the
/// forward algorithm, O(T K^2), as one tape node whose backward pass is the backward
/// algorithm. factors[0] is 1 x K_0; factors[t] is K_{t-1} x K_t, or 1 x K_t for a step that
/// does not depend on the one before. Throws ShapeError naming the step whose shape does not fit.
Tensor markov_logsumexp(const std::vector<Tensor>& factors);

/// The most probable path of the chain markov_logsumexp sums over (Viterbi), as state indices.
std::vector<Index> viterbi(const std::vector<Matrix>& factors);

/// A path drawn from the chain's distribution, proportional to exp of its factors: forward
/// filtering, backward sampling.
std::vector<Index> sample_chain(const std::vector<Matrix>& factors, Rng& rng);

}  // namespace vesta
