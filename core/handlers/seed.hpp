// seed: makes the draws inside it reproducible. Each sample or plate site gets its own
// generator, derived from the seed, the site's name and how many times this handler has
// seen that name, so a site's draw depends on nothing else: adding, removing or reordering
// other sites (or drawing from the thread's generator elsewhere) leaves it unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include <vesta/core/handlers/wrap.hpp>
#include <vesta/core/messenger.hpp>

namespace vesta {

/// The seed handler (see seed()): gives each sample and plate site its own generator derived from
/// the seed and the site's name.
class SeedMessenger : public Messenger {
 public:
  /// Draws derive from `seed`.
  explicit SeedMessenger(std::uint64_t seed) : base_(seed) {}

  void process(Site& site) override {
    if (site.kind != SiteKind::sample && site.kind != SiteKind::plate) return;
    if (site.extras().rng) return;  // a seed handler inside this one has decided
    std::uint64_t& count = seen_[site.name];
    site.set_extras().rng = base_.fork(stream_id(site.name) + 0x9E3779B97F4A7C15ULL * count++);
  }

 private:
  // FNV-1a of the name: a stream per name.
  static std::uint64_t stream_id(const std::string& name) {
    std::uint64_t h = 1469598103934665603ULL;
    for (char c : name) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    return h;
  }

  Rng base_;
  std::unordered_map<std::string, std::uint64_t> seen_;
};

inline SeedMessenger seed(std::uint64_t s) { return SeedMessenger(s); }

template <class F>
auto seed(F&& fn, std::uint64_t s) {
  return detail::wrap(std::forward<F>(fn), [s] { return SeedMessenger(s); });
}

}  // namespace vesta
