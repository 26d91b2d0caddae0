// The examples' command lines: `--name value` pairs, each option read once with its default,
// and every mistake (a missing value, a bad number, an unknown name) a ValueError naming it.
//
//   CommandLine args(argc, argv);
//   const int epochs = static_cast<int>(args.integer("--epochs", 5));
//   const std::string elbo = args.choice("--elbo", "trace", {"trace", "meanfield"});
//   args.finish();  // refuses any option no read asked for
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vesta::examples {

class CommandLine {
 public:
  /// Splits the arguments into pairs; throws ValueError for a name without a value or a
  /// name that does not start with "--".
  CommandLine(int argc, char** argv);

  /// The integer after `name` (at least `min`), or `fallback` when the option is absent.
  long long integer(const std::string& name, long long fallback, long long min = 1);
  /// The word after `name` (one of `allowed`), or `fallback` when the option is absent.
  std::string choice(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  /// Throws ValueError naming the first option that no read asked for.
  void finish() const;

 private:
  const std::string* find(const std::string& name);

  std::vector<std::pair<std::string, std::string>> pairs_;
  std::set<std::string> read_;
};

}  // namespace vesta::examples
