// replay: gives each unobserved sample site the value of the same-named site in a recorded
// trace (a guide's, typically), and each plate the same subsample indices.
#pragma once

#include <memory>

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>
#include <vesta/core/trace.hpp>

namespace vesta {

class ReplayMessenger : public Messenger {
 public:
  /// `trace` must outlive the handler.
  explicit ReplayMessenger(const Trace& trace) : trace_(&trace) {}

  void process(Site& site) override {
    if (site.kind != SiteKind::sample && site.kind != SiteKind::plate) return;
    if (site.observed || !trace_->contains(site.name)) return;
    const Site& recorded = trace_->site(site.name);
    if (site.kind == SiteKind::plate) {
      if (recorded.kind == SiteKind::plate) site.indices = recorded.indices;
    } else if (recorded.kind == SiteKind::sample) {
      site.value = recorded.value;
    }
  }

 private:
  const Trace* trace_;
};

inline ReplayMessenger replay(const Trace& trace) { return ReplayMessenger(trace); }

/// A model that replays `trace` (kept alive by the returned callable).
template <class F>
auto replay(F&& fn, Trace trace) {
  auto kept = std::make_shared<const Trace>(std::move(trace));
  return detail::wrap(std::forward<F>(fn), [kept] { return ReplayMessenger(*kept); });
}

}  // namespace vesta
