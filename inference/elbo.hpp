// Trace_ELBO: the evidence lower bound, estimated as minipyro does: trace the guide, run the
// model replaying the guide's values, subtract log-probability sums. Reparameterised guide
// sites get pathwise gradients; the others get score-function gradients with a moving-average
// baseline, through the surrogate term log q * (elbo - baseline) (Ranganath et al. 2014),
// written so that it adds gradient but no value: the loss is exactly minus the ELBO estimate.
// TraceMeanField_ELBO is the same estimator with the analytic KL divergence in place of
// log p(z) - log q(z) wherever one is registered, as Pyro's TraceMeanField_ELBO.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <vesta/core/handlers/replay.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

/// The ELBO E_q[log p(x, z) - log q(z)], estimated from one trace of the guide and one of
/// the model replaying it per particle: log_prob_sum(model) - log_prob_sum(guide).
class Trace_ELBO {
 public:
  explicit Trace_ELBO(int num_particles = 1, Scalar baseline_decay = Scalar(0.9))
      : Trace_ELBO("Trace_ELBO", num_particles, baseline_decay) {}
  virtual ~Trace_ELBO() = default;
  Trace_ELBO(const Trace_ELBO&) = default;
  Trace_ELBO(Trace_ELBO&&) = default;
  Trace_ELBO& operator=(const Trace_ELBO&) = default;
  Trace_ELBO& operator=(Trace_ELBO&&) = default;

  /// A 1x1 surrogate loss: its value is minus the ELBO estimate (averaged over the
  /// particles), its gradient the ELBO gradient estimate's negative.
  template <class Model, class Guide, class... Args>
  Tensor differentiable_loss(Model& model, Guide& guide, const Args&... args) {
    Tensor total;
    for (int p = 0; p < num_particles_; ++p) {
      auto [model_trace, guide_trace] = traces(model, guide, args...);
      const Tensor term = particle_loss(model_trace, guide_trace);
      total = p == 0 ? term : total + term;
    }
    return num_particles_ == 1 ? total : total / Scalar(num_particles_);
  }

  /// The guide's trace and the model's trace under replay of it.
  template <class Model, class Guide, class... Args>
  std::pair<Trace, Trace> traces(Model& model, Guide& guide, const Args&... args) {
    Trace guide_trace;
    {
      TraceMessenger tr;
      guide(args...);
      guide_trace = tr.take_trace();
    }
    Trace model_trace;
    {
      ReplayMessenger replayed(guide_trace);
      TraceMessenger tr;
      model(args...);
      model_trace = tr.take_trace();
    }
    return {std::move(model_trace), std::move(guide_trace)};
  }

 protected:
  /// `name` starts every message ("Trace_ELBO: ...").
  Trace_ELBO(const char* name, int num_particles, Scalar baseline_decay);

  /// One particle's ELBO estimate from the model's trace and the guide's: the hook that
  /// estimators derived from this one override. The loss around it (checks, score-function
  /// surrogate, particle average) is shared.
  virtual Tensor particle_elbo(const Trace& model_trace, const Trace& guide_trace);
  /// When particle_elbo is not finite: the site to blame, described for the message ("guide
  /// site 'z' has a non-finite value"), or empty when no single site is.
  virtual std::string blame_non_finite(const Trace& model_trace, const Trace& guide_trace);

  /// The first sample site of `t` that `counts` accepts (all when null) whose value or
  /// log_prob is not finite, described for a message; `which` is "model" or "guide".
  static std::string first_non_finite(const Trace& t, const char* which,
                                      const std::function<bool(const Site&)>& counts = nullptr);

  const char* name() const { return name_; }
  /// Whether a site's log_prob scores its draw (false for folded terms such as HiddenLayer's
  /// -KL, which count once, from the model, and never as a guide density).
  static bool scores_draw(const Site& site);

 private:
  // -ELBO plus the score-function surrogate for one pair of traces; checks that every guide
  // site is in the model and that the ELBO is finite (else names the site).
  Tensor particle_loss(const Trace& model_trace, const Trace& guide_trace);

  const char* name_;
  int num_particles_;
  Scalar baseline_decay_;
  std::unordered_map<std::string, Scalar> baselines_;  // per non-reparameterised guide site
  std::unordered_set<std::string> warned_;             // model-only latent sites already named
};

/// Trace_ELBO for mean-field guides (Pyro's TraceMeanField_ELBO): for every model latent
/// that the guide samples, when has_kl_divergence(guide's distribution, model's), the pair's
/// log p(z) - log q(z) is replaced by its expectation under the guide, -KL(q || p), with the
/// model site's mask and scale applied as to a log_prob. Other sites count as in Trace_ELBO.
/// The expectation is unchanged (given the guide draws no latent from sites the model samples
/// after it); the variance is lower where log p(z) - log q(z) is the noisy part, not always:
/// near the exact posterior, Trace_ELBO's terms cancel. A KL term needs the guide site to
/// have the model site's scale and no mask but the model's; otherwise it throws naming the
/// site. When the sites the two programs share come in different orders, the mean-field
/// assumption cannot be checked, and it says so once.
class TraceMeanField_ELBO : public Trace_ELBO {
 public:
  explicit TraceMeanField_ELBO(int num_particles = 1, Scalar baseline_decay = Scalar(0.9))
      : Trace_ELBO("TraceMeanField_ELBO", num_particles, baseline_decay) {}

 protected:
  Tensor particle_elbo(const Trace& model_trace, const Trace& guide_trace) override;
  std::string blame_non_finite(const Trace& model_trace, const Trace& guide_trace) override;

 private:
  // The guide site whose KL to `model_site` replaces the pair's log-probabilities, or null
  // when the pair is estimated by Monte Carlo. Throws when the scales or masks disagree.
  const Site* kl_partner(const Site& model_site, const Trace& guide_trace) const;
  // Warns once when the latents the two traces share are not in the same order.
  void check_order(const Trace& model_trace, const Trace& guide_trace);

  bool warned_order_ = false;
};

}  // namespace vesta
