#include <vesta/inference/traceenum_elbo.hpp>

#include <fmt/format.h>

namespace vesta {

void TraceEnum_ELBO::record_traces(Program model, Program guide) {
  const detail::EnumeratedModel<Program> enumerated{&model, &layout_};
  run_enumerated([&] { Trace_ELBO::record_traces(enumerated, guide); });
}

void TraceEnum_ELBO::terms(const Trace& model_trace, const Trace& guide_trace,
                           std::vector<ElboTerm>& out) {
  for (const Site& g : guide_trace.sites()) {
    if (!g.is_sample()) continue;
    const Site* m = model_trace.find(g.name);
    if (m != nullptr && m->enumerated) {
      throw ValueError(fmt::format(
          "{}: site '{}' is enumerated in the model and also sampled by the guide; an enumerated "
          "site is summed out, so remove it from the guide (or do not mark it for enumeration)",
          name(), g.name));
    }
    if (scores_draw(g)) out.push_back(guide_term(guide_trace, g));
  }
  const EnumPlan plan = plan_enumeration(model_trace);
  for (const Site* s : plan.ordinary) out.push_back(model_term(model_trace, *s));
  for (const EnumGroup& g : plan.groups) {
    out.push_back({g.enumerated.front(), &model_trace, group_log_marginal(model_trace, g),
                   "log_prob summed over enumerated values"});
  }
  for (const EnumChain& c : plan.chains) {
    out.push_back({c.states.front(), &model_trace, chain_log_marginal(model_trace, c),
                   "log_prob summed over the markov chain"});
  }
}

}  // namespace vesta
