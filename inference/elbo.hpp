// Trace_ELBO: the evidence lower bound, estimated as minipyro does: trace the guide, run the
// model replaying the guide's values, subtract log-probability sums. Reparameterised guide
// sites get pathwise gradients; the others get score-function gradients with a moving-average
// baseline, through the surrogate term log q * (elbo - baseline) (Ranganath et al. 2014).
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <vesta/core/handlers/replay.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

class Trace_ELBO {
 public:
  explicit Trace_ELBO(int num_particles = 1, Scalar baseline_decay = Scalar(0.9));

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

 private:
  // -(log p - log q) plus the score-function surrogate for one pair of traces; checks that
  // every guide site is in the model and that the result is finite (else names the site).
  Tensor particle_loss(const Trace& model_trace, const Trace& guide_trace);

  int num_particles_;
  Scalar baseline_decay_;
  std::unordered_map<std::string, Scalar> baselines_;  // per non-reparameterised guide site
  std::unordered_set<std::string> warned_;             // model-only latent sites already named
};

}  // namespace vesta
