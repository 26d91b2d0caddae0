// NameIndex: from a name to a position in a vector that the caller owns (a trace's sites, the
// param store's entries). Open addressing with linear probing over a power-of-two table kept
// at most half full; each slot holds the position + 1 (0: empty) and 32 bits of the name's
// hash, so a probe compares names only when the hashes agree. A training step looks up
// thousands of names: this allocates nothing per name and rarely touches the entries.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

namespace vesta::detail {

/// Whether two names are equal. Site and param names are short, and every site of a step
/// compares a few (its trace slot, its replayed site, its param entry): word compares kept
/// inline cost a fraction of a call to memcmp.
inline bool same_name(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char *p = a.data(), *q = b.data();
  auto word = [](const char* at) {
    std::uint64_t w;
    std::memcpy(&w, at, sizeof w);
    return w;
  };
  auto half = [](const char* at) {
    std::uint32_t w;
    std::memcpy(&w, at, sizeof w);
    return w;
  };
  if (n >= 8) {
    // Whole words, then the last word (which may overlap the one before it).
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (word(p + i) != word(q + i)) return false;
    }
    return word(p + n - 8) == word(q + n - 8);
  }
  if (n >= 4) return half(p) == half(q) && half(p + n - 4) == half(q + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

class NameIndex {
 public:
  static std::size_t hash(std::string_view name) { return std::hash<std::string_view>{}(name); }

  /// The position of `name`, or -1; `name_at(i)` gives the name at position i.
  template <class NameAt>
  std::ptrdiff_t find(std::string_view name, std::size_t h, const NameAt& name_at) const {
    if (slots_.empty()) return -1;
    const Slot& s = slots_[probe(name, h, name_at)];
    return s.at == 0 ? -1 : std::ptrdiff_t(s.at) - 1;
  }
  template <class NameAt>
  std::ptrdiff_t find(std::string_view name, const NameAt& name_at) const {
    return find(name, hash(name), name_at);
  }

  /// Records that `name` (hash `h`, not in the index yet) is at `position`; `count` is the
  /// number of names the index will then hold.
  template <class NameAt>
  void insert(std::string_view name, std::size_t h, std::size_t position, std::size_t count,
              const NameAt& name_at) {
    if (2 * count > slots_.size()) grow(name_at);
    slots_[probe(name, h, name_at)] = {static_cast<std::uint32_t>(position + 1), tag(h)};
  }

  /// Forgets every name (the table's memory is kept).
  void clear() { std::fill(slots_.begin(), slots_.end(), Slot{}); }

 private:
  struct Slot {
    std::uint32_t at = 0;  // position + 1; 0: empty
    std::uint32_t tag = 0;
  };
  static std::uint32_t tag(std::size_t h) { return static_cast<std::uint32_t>(h >> 32); }

  template <class NameAt>
  std::size_t probe(std::string_view name, std::size_t h, const NameAt& name_at) const {
    const std::size_t mask = slots_.size() - 1;
    const std::uint32_t t = tag(h);
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.at == 0 || (s.tag == t && same_name(name_at(s.at - 1), name))) return i;
    }
  }

  template <class NameAt>
  void grow(const NameAt& name_at) {
    std::vector<Slot> old(std::max<std::size_t>(16, 2 * slots_.size()));
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.at == 0) continue;
      std::size_t i = hash(name_at(s.at - 1)) & mask;
      while (slots_[i].at != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
};

/// The position where a lookup last found its name: where a caller that is usually asked for
/// names in the order they are stored looks first, before it hashes. Only a guess, which the
/// caller checks by comparing names. Atomic (relaxed) because lookups in a const container
/// may run on several threads; a copy starts afresh.
struct LastFound {
  mutable std::atomic<std::size_t> at{0};
  LastFound() = default;
  LastFound(const LastFound&) noexcept {}
  LastFound& operator=(const LastFound&) noexcept { return *this; }
};

}  // namespace vesta::detail
