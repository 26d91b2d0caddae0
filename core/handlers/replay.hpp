// replay: gives each unobserved sample site the value of the same-named site in a recorded
// trace (a guide's, typically), and each plate the same subsample indices.
#pragma once

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>
#include <vesta/core/trace.hpp>

namespace vesta {

/// The replay handler (see replay()): reuses the values and plate indices of a recorded trace.
class ReplayMessenger : public Messenger {
 public:
  /// `trace` must outlive the handler.
  explicit ReplayMessenger(const Trace& trace) : trace_(&trace) {}

  void process(Site& site) override {
    if (site.kind != SiteKind::sample && site.kind != SiteKind::plate) return;
    if (site.observed) return;
    const Site* recorded = trace_->find(site.name);
    if (recorded == nullptr) return;
    if (site.kind == SiteKind::plate) {
      if (recorded->kind == SiteKind::plate) site.set_extras().indices = recorded->extras().indices;
    } else if (recorded->kind == SiteKind::sample) {
      site.value = recorded->value;
    }
  }

 private:
  const Trace* trace_;
};

inline ReplayMessenger replay(const Trace& trace) { return ReplayMessenger(trace); }

/// A model that replays `trace`, which it refers to (it must outlive the returned callable):
/// `trace(replay(model, guide_trace)).get_trace(args...)`, minipyro's second line.
template <class F>
auto replay(F&& fn, const Trace& trace) {
  return detail::wrap(std::forward<F>(fn), [t = &trace] { return ReplayMessenger(*t); });
}
/// A temporary trace would be gone before the model runs: keep it in a variable.
template <class F>
auto replay(F&& fn, Trace&& trace) = delete;

}  // namespace vesta
