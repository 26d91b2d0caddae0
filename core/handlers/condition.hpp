// condition: turns sample sites into observations of given values, as if the model had
// been called with obs=... at those sites. Each value must have the shape of a draw of its
// site (after the plates around it), and each name must be a sample site of the run: a
// name no site had is an error when the handler's scope ends.
#pragma once

#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include <vesta/core/handlers/names.hpp>
#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>

namespace vesta {

using ValueMap = std::unordered_map<std::string, Tensor>;

/// The condition handler (see condition()): observes named sample sites at given values.
class ConditionMessenger : public Messenger {
 public:
  /// `data`: a value per sample site name.
  explicit ConditionMessenger(ValueMap data)
      : data_(std::move(data)), names_(detail::GivenNames::keys(data_)) {}
  ~ConditionMessenger() noexcept(false) override { names_.check("condition", "sample"); }

  void process(Site& site) override {
    if (site.kind != SiteKind::sample) return;
    if (auto it = data_.find(site.name); it != data_.end()) {
      site.value = it->second;
      site.observed = true;
      names_.seen(site.name);
    }
  }

  void postprocess(Site& site) override {
    if (site.kind != SiteKind::sample) return;
    auto it = data_.find(site.name);
    if (it == data_.end()) return;
    // Checked here, once the plates around the site have given its distribution their shape.
    const Distribution& d = *site.dist;
    const Tensor& v = it->second;
    if (v.rows() != d.rows() || v.cols() != d.cols()) {
      throw ShapeError(
          fmt::format("condition: sample site '{}' is given a {} value, but a draw of its "
                      "distribution {} is {}",
                      site.name, v.shape(), d.describe(), shape_str(d.rows(), d.cols())));
    }
  }

 private:
  ValueMap data_;
  detail::GivenNames names_;
};

inline ConditionMessenger condition(ValueMap data) { return ConditionMessenger(std::move(data)); }

template <class F>
auto condition(F&& fn, ValueMap data) {
  return detail::wrap(std::forward<F>(fn),
                      [data = std::move(data)] { return ConditionMessenger(data); });
}

}  // namespace vesta
