// TraceEnum_ELBO: the ELBO with the model's enumerated discrete sites summed out exactly
// (Pyro's TraceEnum_ELBO). The guide samples the other latents as for Trace_ELBO; the model
// runs with every value of each enumerated site at once (EnumMessenger), and its rows are
// Trace_ELBO's except that the sites an enumerated site reaches are replaced by one row per
// plate (log-sum-exp over the joint values, per plate entry) and one per markov chain (the
// forward algorithm).
#pragma once

#include <vesta/inference/elbo.hpp>
#include <vesta/inference/enumeration.hpp>

namespace vesta {

namespace detail {

/// A model run under an EnumMessenger on `layout`, which throws EnumRelayout when the
/// layout did not fit (run_enumerated repeats it).
template <class Model>
struct EnumeratedModel {
  const Model* model;
  EnumLayout* layout;
  template <class... Args>
  void operator()(const Args&... args) const {
    EnumMessenger e(*layout);
    (*model)(args...);
    if (!e.finish()) throw EnumRelayout{};
  }
};

}  // namespace detail

/// The ELBO with enumerated sites summed out: E_q[log sum_z p(x, y, z) - log q(y)], for
/// latents y drawn from the guide and the model's sites z marked for enumeration
/// (Infer{.enumerate = true}, or config_enumerate(model)). Supported: enumerated sites in a
/// plate over rows (jointly, per entry: a mixture's assignment, or several sites per datum),
/// enumerated sites outside plates (summed over the whole model), and one enumerated site per
/// step of a markov chain outside plates (an HMM, by the forward algorithm in O(T K^2)). Other
/// structures are an error that names the site and what is not supported. A guide that
/// samples an enumerated site is an error. differentiable_loss(), loss() and traces() are
/// Trace_ELBO's: they record each particle's traces through record_traces(), which this
/// estimator overrides.
class TraceEnum_ELBO : public Trace_ELBO {
 public:
  /// `num_particles` draws of the guide per estimate (the enumerated sites need none).
  explicit TraceEnum_ELBO(int num_particles = 1, Scalar baseline_decay = Scalar(0.9))
      : Trace_ELBO("TraceEnum_ELBO", num_particles, baseline_decay) {}

  /// Trace_ELBO's rows, with one row per group of enumerated sites and per markov chain in
  /// place of the sites they reach.
  void terms(const Trace& model_trace, const Trace& guide_trace,
             std::vector<ElboTerm>& out) override;

 protected:
  /// Trace_ELBO's traces, with the model run under an EnumMessenger: its enumerated sites
  /// hold every value, their log_prob a table over them. Both programs run again while the
  /// layout of the enumerated values is being learned.
  void record_traces(Program model, Program guide) override;

 private:
  detail::EnumLayout layout_;
};

}  // namespace vesta
