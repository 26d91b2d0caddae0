// mask: keeps only some entries of each sample site's log-probability: entries where the
// mask is 0 count as 0 (they may even be -inf or NaN). The mask broadcasts against the
// site's batch shape; nested masks combine by logical and.
#pragma once

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

class MaskMessenger : public Messenger {
 public:
  /// `mask`: a constant Tensor of 0 (drop) and nonzero (keep) entries.
  explicit MaskMessenger(Tensor mask) : mask_(std::move(mask)) {
    if (mask_.requires_grad()) throw ValueError("mask: the mask must be a constant Tensor");
  }
  /// Keeps everything (true) or nothing (false).
  explicit MaskMessenger(bool keep) : mask_(Scalar(keep ? 1 : 0)) {}

  void process(Site& site) override {
    if (site.kind != SiteKind::sample) return;
    site.mask = site.mask.empty() ? mask_ : where(site.mask, mask_, 0);
  }

 private:
  Tensor mask_;
};

inline MaskMessenger mask(Tensor m) { return MaskMessenger(std::move(m)); }
inline MaskMessenger mask(bool keep) { return MaskMessenger(keep); }

template <class F>
auto mask(F&& fn, Tensor m) {
  return detail::wrap(std::forward<F>(fn), [m = std::move(m)] { return MaskMessenger(m); });
}

}  // namespace vesta
