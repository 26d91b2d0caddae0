// block: hides sites from the handlers outside it (they never see them), while the handlers
// inside still do. That is all it does: it stops the site on its way out.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>

namespace vesta {

using SitePredicate = std::function<bool(const Site&)>;

/// The block handler: stops the sites its predicate accepts on their way out (block(),
/// block_hide(), block_expose()).
class BlockMessenger : public Messenger {
 public:
  /// Hides the sites `hide` accepts (all sites when it is empty).
  explicit BlockMessenger(SitePredicate hide = nullptr) : hide_(std::move(hide)) {}

  void process(Site& site) override {
    if (!hide_ || hide_(site)) site.stop = true;
  }

 private:
  SitePredicate hide_;
};

/// Hides every site, or those `hide` accepts.
inline BlockMessenger block(SitePredicate hide = nullptr) {
  return BlockMessenger(std::move(hide));
}
/// Hides the named sites only.
inline BlockMessenger block_hide(std::vector<std::string> names) {
  return BlockMessenger([names = std::move(names)](const Site& s) {
    return std::find(names.begin(), names.end(), s.name) != names.end();
  });
}
/// Hides every site but the named ones.
inline BlockMessenger block_expose(std::vector<std::string> names) {
  return BlockMessenger([names = std::move(names)](const Site& s) {
    return std::find(names.begin(), names.end(), s.name) == names.end();
  });
}

template <class F>
auto block(F&& fn, SitePredicate hide) {
  return detail::wrap(std::forward<F>(fn),
                      [hide = std::move(hide)] { return BlockMessenger(hide); });
}

}  // namespace vesta
