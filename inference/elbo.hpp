// The evidence lower bound, estimated as minipyro does: trace the guide, run the model
// replaying the guide's values, and sum the sites' terms. An estimator is a policy over one
// pass that yields (site, term) rows: Trace_ELBO takes every model site's weighed log p and
// every guide site's weighed -log q; TraceMeanField_ELBO replaces a latent's pair by -KL where
// the pair's families have one. The loss around the rows is shared: the checks, the error
// that blames the first non-finite row, and the score-function surrogate
// log q * (elbo - baseline) for guide sites drawn without a pathwise gradient (Ranganath et
// al. 2014), written so that it adds gradient but no value: the loss is exactly minus the
// ELBO estimate.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <vesta/core/function_ref.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/core/trace.hpp>

namespace vesta {

/// One row of an ELBO estimate: the term (1x1) that one site, or one model/guide pair of a
/// latent, adds to it.
struct ElboTerm {
  /// The site the term is about, and the trace it is in (whose program names it).
  const Site* site;
  const Trace* trace;  ///< The trace the site is in.
  /// The weighed log p (a model site), log q (a guide site) or KL(q || p) (a latent whose pair
  /// is taken in closed form), before its sign.
  Tensor value;
  /// "log_prob" or "KL divergence": what the term is, for messages.
  const char* what;
  /// What the ELBO adds: sign * value (+1 for log p, -1 for log q and the KL). Summing with the
  /// signs records one node for the whole ELBO, not one negation per row.
  Scalar sign = 1;
};

/// The ELBO E_q[log p(x, z) - log q(z)], estimated from one trace of the guide and one of
/// the model replaying it per particle.
class Trace_ELBO {
 public:
  /// `num_particles` draws averaged per estimate; `baseline_decay` of the running-average baseline
  /// of score-function sites (0: the last ELBO; near 1: a long average).
  explicit Trace_ELBO(int num_particles = 1, Scalar baseline_decay = Scalar(0.9))
      : Trace_ELBO("Trace_ELBO", num_particles, baseline_decay) {}
  virtual ~Trace_ELBO() = default;
  /// Copies the estimator and its baselines.
  Trace_ELBO(const Trace_ELBO&) = default;
  /// Moves the estimator.
  Trace_ELBO(Trace_ELBO&&) = default;
  /// Copies the estimator and its baselines.
  Trace_ELBO& operator=(const Trace_ELBO&) = default;
  /// Moves the estimator.
  Trace_ELBO& operator=(Trace_ELBO&&) = default;

  /// A 1x1 surrogate loss on the tape: its value is minus the ELBO estimate (averaged over
  /// the particles), its gradient the ELBO gradient estimate's negative. Call backward() on
  /// it and reset the tape when done (TapeStep).
  template <class Model, class Guide, class... Args>
  Tensor differentiable_loss(const Model& model, const Guide& guide, const Args&... args) {
    const auto run_model = [&] { model(args...); };
    const auto run_guide = [&] { guide(args...); };
    Tensor total;
    for (int p = 0; p < num_particles_; ++p) {
      record_traces(run_model, run_guide);
      const Tensor term = particle_loss(model_trace_, guide_trace_);
      total = p == 0 ? term : total + term;
    }
    return num_particles_ == 1 ? total : total / Scalar(num_particles_);
  }

  /// Minus the ELBO estimate, as a number (Pyro's elbo.loss): no optimizer, nothing
  /// updated; the tape is reset afterwards.
  template <class Model, class Guide, class... Args>
  double loss(const Model& model, const Guide& guide, const Args&... args) {
    TapeStep step;
    return differentiable_loss(model, guide, args...).item();
  }

  /// The guide's trace and the model's trace under replay of it: minipyro's two lines.
  template <class Model, class Guide, class... Args>
  std::pair<Trace, Trace> traces(const Model& model, const Guide& guide, const Args&... args) {
    record_traces([&] { model(args...); }, [&] { guide(args...); });
    return {model_trace_, guide_trace_};
  }

  /// The rows of one particle's ELBO: the policy that estimators derived from this one
  /// override. Trace_ELBO: each guide sample site's -log q (folded terms, which score no
  /// draw, excepted), then each model sample site's log p.
  virtual void terms(const Trace& model_trace, const Trace& guide_trace,
                     std::vector<ElboTerm>& out);

  /// Why a loss that should be differentiated depends on no parameter, in words (the last
  /// particle's traces): a guide that samples nothing while the model has latents, or no
  /// param at all.
  std::string explain_constant_loss() const;

 protected:
  /// `name` starts every message ("Trace_ELBO: ...").
  Trace_ELBO(const char* name, int num_particles, Scalar baseline_decay);

  /// The estimator's name, as messages start.
  const char* name() const { return name_; }
  /// Whether a site's log_prob scores its draw (false for folded terms such as HiddenLayer's
  /// -KL, which count once, from the model, and never as a guide density).
  static bool scores_draw(const Site& site);
  /// The model's and the guide's rows of a site scored by Monte Carlo.
  static ElboTerm model_term(const Trace& t, const Site& s) {
    return {&s, &t, t.scaled_log_prob_sum(s), "log_prob"};
  }
  /// The guide's row of a site scored by Monte Carlo: minus its weighed log q.
  static ElboTerm guide_term(const Trace& t, const Site& s) {
    return {&s, &t, t.scaled_log_prob_sum(s), "log_prob", -1};
  }

  /// A model or a guide bound to its arguments, as record_traces() runs it: a reference to a
  /// callable that takes none, which must outlive the Program.
  using Program = detail::FunctionRef<void()>;

  /// One particle's traces, into the traces this estimator keeps from step to step (so that
  /// a step allocates no sites): the guide's trace, then the model's under replay of it.
  /// differentiable_loss(), loss() and traces() record through this; an estimator that runs
  /// the model under handlers of its own overrides it.
  virtual void record_traces(Program model, Program guide);

  /// -ELBO plus the score-function surrogate for one pair of traces; checks that every guide
  /// site is in the model and that the ELBO is finite (else names the first non-finite row).
  Tensor particle_loss(const Trace& model_trace, const Trace& guide_trace);

 private:
  const char* name_;
  int num_particles_;
  Scalar baseline_decay_;
  std::unordered_map<std::string, Scalar> baselines_;  // per non-reparameterised guide site
  std::unordered_set<std::string> warned_;             // model-only latent sites already named
  std::vector<std::string> unguided_;                  // the last particle's model-only latents
  bool any_param_ = false;                             // whether the last particle read a param
  std::vector<ElboTerm> rows_;                         // reused across particles and steps
  Trace model_trace_, guide_trace_;                    // the same
};

/// Trace_ELBO for mean-field guides (Pyro's TraceMeanField_ELBO): for every model latent
/// that the guide samples, when has_kl_divergence(guide's distribution, model's), the pair's
/// log p(z) - log q(z) is replaced by its expectation under the guide, -KL(q || p), weighed
/// as the model site's log_prob is. Other sites count as in Trace_ELBO.
/// The expectation is unchanged (given the guide draws no latent from sites the model samples
/// after it); the variance is lower where log p(z) - log q(z) is the noisy part, not always:
/// near the exact posterior, Trace_ELBO's terms cancel. A KL term needs the guide site to
/// have the model site's scale and no mask but the model's; otherwise it throws naming the
/// site. When the sites the two programs share come in different orders, the mean-field
/// assumption cannot be checked, and it says so once.
class TraceMeanField_ELBO : public Trace_ELBO {
 public:
  /// As Trace_ELBO's constructor.
  explicit TraceMeanField_ELBO(int num_particles = 1, Scalar baseline_decay = Scalar(0.9))
      : Trace_ELBO("TraceMeanField_ELBO", num_particles, baseline_decay) {}

  void terms(const Trace& model_trace, const Trace& guide_trace,
             std::vector<ElboTerm>& out) override;

 private:
  // The guide site whose KL to `model_site` replaces the pair's log-probabilities, or null
  // when the pair is estimated by Monte Carlo. Throws when the scales or masks disagree.
  const Site* kl_partner(const Site& model_site, const Trace& guide_trace) const;
  // Warns once when the latents the two traces share are not in the same order.
  void check_order(const Trace& model_trace, const Trace& guide_trace);

  bool warned_order_ = false;
};

}  // namespace vesta
