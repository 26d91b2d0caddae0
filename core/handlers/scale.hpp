// scale: multiplies the log-probability of every sample site inside it by a positive factor
// (as plate subsampling does with N/n): to weight a term of the objective.
#pragma once

#include <cmath>

#include <fmt/format.h>

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>

namespace vesta {

/// The scale handler (see scale()): multiplies the log-probability of every sample site inside it.
class ScaleMessenger : public Messenger {
 public:
  /// `factor` must be positive and finite; throws ValueError otherwise.
  explicit ScaleMessenger(Scalar factor) : factor_(factor) {
    if (!(factor > 0) || !std::isfinite(factor)) {
      throw ValueError(fmt::format(
          "scale: the factor is {}, but must be positive and finite (to drop terms, use mask)",
          factor));
    }
  }

  void process(Site& site) override {
    if (site.kind == SiteKind::sample) site.scale *= factor_;
  }

 private:
  Scalar factor_;
};

inline ScaleMessenger scale(Scalar factor) { return ScaleMessenger(factor); }

template <class F>
auto scale(F&& fn, Scalar factor) {
  return detail::wrap(std::forward<F>(fn), [factor] { return ScaleMessenger(factor); });
}

}  // namespace vesta
