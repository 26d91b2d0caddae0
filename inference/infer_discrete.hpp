// infer_discrete: the values of a model's enumerated discrete sites given everything else,
// either the most probable joint assignment (temperature 0: per plate entry, and Viterbi
// along a markov chain) or a draw from their posterior (temperature 1: per plate entry, and
// forward filtering, backward sampling along a chain). The continuous latents come from a
// guide's draw or from given values (a posterior sample of MCMC). Pyro's infer_discrete.
#pragma once

#include <fmt/format.h>

#include <vesta/core/handlers/condition.hpp>
#include <vesta/core/handlers/replay.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/inference/traceenum_elbo.hpp>

namespace vesta {

namespace detail {

/// The enumerated sites' values chosen from `model_trace` (a run with them enumerated), as
/// a trace to replay: MAP for temperature 0, a posterior draw for 1.
Trace choose_discrete(const Trace& model_trace, int temperature, Rng& rng);

/// infer_discrete's work for a model whose continuous latents `given()` fixes (a handler).
template <class Model, class Given, class... Args>
Trace infer_discrete_given(const Model& model, const Given& given, int temperature, Rng& rng,
                           const Args&... args) {
  if (temperature != 0 && temperature != 1) {
    throw ValueError(fmt::format(
        "infer_discrete: temperature is {}, but must be 0 (the most probable values) or 1 (a "
        "posterior draw)",
        temperature));
  }
  EnumLayout layout;
  const EnumeratedModel<Model> enumerated{&model, &layout};
  Trace enumerated_trace("model");
  run_enumerated([&] {
    TraceMessenger tr(enumerated_trace, "model");
    auto g = given();
    enumerated(args...);
  });
  const Trace chosen = choose_discrete(enumerated_trace, temperature, rng);
  Trace out("model");
  {
    TraceMessenger tr(out, "model");
    auto g = given();
    ReplayMessenger r(chosen);
    model(args...);
  }
  return out;
}

}  // namespace detail

/// A run of `model` in which every site marked for enumeration takes its most probable value
/// (temperature 0; Viterbi along a markov chain) or a value drawn from its exact posterior
/// (temperature 1; forward filtering, backward sampling along a chain), given the continuous
/// latents of one draw of `guide`. Returns the model's trace: `tr["z"].value` is the site's
/// value (a constant, valid after the tape is reset; other values recorded on the tape are
/// valid until then). `rng` supplies the posterior draws.
template <class Model, class Guide, class... Args>
Trace infer_discrete(const Model& model, const Guide& guide, int temperature, Rng& rng,
                     const Args&... args) {
  Trace guide_trace("guide");
  {
    TraceMessenger tr(guide_trace, "guide");
    guide(args...);
  }
  return detail::infer_discrete_given(
      model, [&] { return ReplayMessenger(guide_trace); }, temperature, rng, args...);
}

/// The same, given the continuous latents' values by name (one posterior sample of MCMC, or
/// any values): they are conditioned on, as observations.
template <class Model, class... Args>
Trace infer_discrete(const Model& model, const ValueMap& values, int temperature, Rng& rng,
                     const Args&... args) {
  return detail::infer_discrete_given(
      model, [&] { return ConditionMessenger(values); }, temperature, rng, args...);
}

}  // namespace vesta
