// What condition, substitute and init_to_value share: a list of site names a handler was
// given, each of which the model must have. A name that no site of the run had is an error
// when the handler's scope ends (a typo, or a site renamed): a value that silently reaches
// nothing would give a wrong answer. (The check is skipped when an exception ends the scope.)
#pragma once

#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/core/error.hpp>

namespace vesta::detail {

class GivenNames {
 public:
  explicit GivenNames(std::vector<std::string> names)
      : names_(std::move(names)),
        seen_(names_.size(), false),
        uncaught_(std::uncaught_exceptions()) {}
  /// The keys of a map from names to values.
  template <class Map>
  static std::vector<std::string> keys(const Map& values) {
    std::vector<std::string> out;
    for (const auto& [name, value] : values) out.push_back(name);
    return out;
  }

  /// Marks `name` as used by a site of this run.
  void seen(const std::string& name) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) seen_[i] = true;
    }
  }

  /// Throws ValueError naming the handler and every name no site had, unless the scope is
  /// ending because of an exception.
  void check(const char* handler, const char* kind) const {
    if (std::uncaught_exceptions() > uncaught_) return;
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (!seen_[i]) missing.push_back("'" + names_[i] + "'");
    }
    if (missing.empty()) return;
    throw ValueError(fmt::format(
        "{}: the model ran without a {} site named {}; check the name{} (a value given for a site "
        "that does not exist would change nothing)",
        handler, kind, fmt::join(missing, ", "), missing.size() > 1 ? "s" : ""));
  }

 private:
  std::vector<std::string> names_;
  std::vector<bool> seen_;
  int uncaught_;
};

}  // namespace vesta::detail
