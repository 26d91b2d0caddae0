// substitute: gives param sites fixed values instead of reading (or creating) them in the
// ParamStore: to evaluate a model at chosen parameters. Each value must have the param's
// shape, and each name must be a param: a name that no param of the run had and the
// ParamStore does not hold (a typo) is an error when the handler's scope ends. (Names the
// store holds may go unread, so that every param can be frozen at once.)
#pragma once

#include <fmt/format.h>

#include <vesta/core/handlers/condition.hpp>
#include <vesta/core/param_store.hpp>

namespace vesta {

/// The substitute handler (see substitute()): replaces param values (and latent draws) by given
/// values.
class SubstituteMessenger : public Messenger {
 public:
  /// `values`: a value per param or sample site name.
  explicit SubstituteMessenger(ValueMap values)
      : values_(std::move(values)), names_(detail::GivenNames::keys(values_)) {
    for (const auto& [name, value] : values_) {
      if (param_store().contains(name)) names_.seen(name);
    }
  }
  ~SubstituteMessenger() noexcept(false) override { names_.check("substitute", "param"); }

  void process(Site& site) override {
    if (site.kind != SiteKind::param) return;
    auto it = values_.find(site.name);
    if (it == values_.end()) return;
    names_.seen(site.name);
    const Tensor& v = it->second;
    Index rows = -1, cols = -1;
    if (param_store().contains(site.name)) {
      const ParamStore::Entry& e = param_store().entry(site.name);
      rows = e.unconstrained.rows();
      cols = e.constraint->constrained_cols(e.unconstrained.cols());
    } else if (site.param != nullptr && site.param->init != nullptr) {
      rows = site.param->init->rows();
      cols = site.param->init->cols();
    }
    if (rows >= 0 && (v.rows() != rows || v.cols() != cols)) {
      throw ShapeError(fmt::format("substitute: param '{}' is {}, but is given a {} value",
                                   site.name, shape_str(rows, cols), v.shape()));
    }
    site.value = v;
  }

 private:
  ValueMap values_;
  detail::GivenNames names_;
};

inline SubstituteMessenger substitute(ValueMap values) {
  return SubstituteMessenger(std::move(values));
}

template <class F>
auto substitute(F&& fn, ValueMap values) {
  return detail::wrap(std::forward<F>(fn),
                      [values = std::move(values)] { return SubstituteMessenger(values); });
}

}  // namespace vesta
