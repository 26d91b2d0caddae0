// substitute: gives param sites fixed values instead of reading (or creating) them in the
// ParamStore: to evaluate a model at chosen parameters.
#pragma once

#include <vesta/core/handlers/condition.hpp>

namespace vesta {

class SubstituteMessenger : public Messenger {
 public:
  explicit SubstituteMessenger(ValueMap values) : values_(std::move(values)) {}

  void process(Site& site) override {
    if (site.kind != SiteKind::param) return;
    if (auto it = values_.find(site.name); it != values_.end()) site.value = it->second;
  }

 private:
  ValueMap values_;
};

inline SubstituteMessenger substitute(ValueMap values) { return SubstituteMessenger(std::move(values)); }

template <class F>
auto substitute(F&& fn, ValueMap values) {
  return detail::wrap(std::forward<F>(fn),
                      [values = std::move(values)] { return SubstituteMessenger(values); });
}

}  // namespace vesta
