// mask: keeps only some entries of each sample site's log-probability: entries where the
// mask is 0 count as 0 (they may even be -inf or NaN). A mask with several entries broadcasts
// against a per-datum site's batch shape (nested masks combine by logical and); a global term
// (a weight KL) is about no single datum, so such a mask leaves it alone. A 1x1 mask is a
// switch: mask(false) drops every term inside it, global ones included.
#pragma once

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>
#include <vesta/core/ops.hpp>

namespace vesta {

/// The mask handler (see mask()): drops the entries of sample sites' log-probabilities where the
/// mask is 0.
class MaskMessenger : public Messenger {
 public:
  /// `mask`: a constant Tensor of 0 (drop) and nonzero (keep) entries.
  explicit MaskMessenger(Tensor mask) : mask_(std::move(mask)) {
    if (mask_.requires_grad()) throw ValueError("mask: the mask must be a constant Tensor");
    if (mask_.empty()) throw ShapeError("mask: the mask is empty");
    if (mask_.size() == 1) switch_ = mask_.item() != 0 ? 1 : 0;
  }
  /// Keeps everything (true) or nothing (false).
  explicit MaskMessenger(bool keep) : switch_(keep ? 1 : 0) {}

  void process(Site& site) override {
    if (site.kind != SiteKind::sample) return;
    if (switch_ >= 0) {
      site.keep = site.keep && switch_ == 1;
    } else {
      Tensor& mask = site.set_extras().mask;
      mask = mask.empty() ? mask_ : where(mask, mask_, 0);
    }
  }

 private:
  Tensor mask_;
  int switch_ = -1;  // 1x1 masks: 1 keep, 0 drop; -1 for a per-entry mask
};

inline MaskMessenger mask(Tensor m) { return MaskMessenger(std::move(m)); }
inline MaskMessenger mask(bool keep) { return MaskMessenger(keep); }

template <class F>
auto mask(F&& fn, Tensor m) {
  return detail::wrap(std::forward<F>(fn), [m = std::move(m)] { return MaskMessenger(m); });
}

}  // namespace vesta
