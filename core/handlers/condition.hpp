// condition: turns sample sites into observations of given values, as if the model had
// been called with obs=... at those sites.
#pragma once

#include <string>
#include <unordered_map>

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>

namespace vesta {

using ValueMap = std::unordered_map<std::string, Tensor>;

class ConditionMessenger : public Messenger {
 public:
  explicit ConditionMessenger(ValueMap data) : data_(std::move(data)) {}

  void process(Site& site) override {
    if (site.kind != SiteKind::sample) return;
    if (auto it = data_.find(site.name); it != data_.end()) {
      site.value = it->second;
      site.observed = true;
    }
  }

 private:
  ValueMap data_;
};

inline ConditionMessenger condition(ValueMap data) { return ConditionMessenger(std::move(data)); }

template <class F>
auto condition(F&& fn, ValueMap data) {
  return detail::wrap(std::forward<F>(fn), [data = std::move(data)] { return ConditionMessenger(data); });
}

}  // namespace vesta
