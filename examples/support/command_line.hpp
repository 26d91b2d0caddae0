// The examples' command lines: `--name value` pairs and `--flag`s, each option read once with
// its default and a line of help, and every mistake (a missing value, a bad number, an
// unknown name) a ValueError naming it. `--help` prints the options and their defaults.
//
//   CommandLine args(argc, argv, "Trains a VAE on Fashion-MNIST.");
//   const int epochs = static_cast<int>(args.integer("--epochs", 5, "passes over the data"));
//   const std::string elbo = args.choice("--elbo", "trace", {"trace", "meanfield"}, "the
//   estimator"); if (args.finish()) return 0;  // --help was asked for (and printed); unknown
//   options throw
//
// main() bodies go through run_example, which turns these errors into a message and exit
// status 2 instead of an abort.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vesta::examples {

class CommandLine {
 public:
  /// Splits the arguments into options; throws ValueError for a word that is not an option
  /// (every option starts with "--"). `summary` heads the --help text.
  CommandLine(int argc, char** argv, std::string summary = {});

  /// The integer after `name` (at least `min`), or `fallback` when the option is absent.
  long long integer(const std::string& name, long long fallback, const std::string& help = {},
                    long long min = 1);
  /// The word after `name` (one of `allowed`), or `fallback` when the option is absent.
  std::string choice(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& allowed, const std::string& help = {});
  /// The text after `name`, or `fallback`.
  std::string text(const std::string& name, const std::string& fallback,
                   const std::string& help = {});
  /// Whether the flag `name` (an option without a value) was given.
  bool flag(const std::string& name, const std::string& help = {});

  /// With --help: prints the summary and every option read so far (with its default and
  /// help) to stdout and returns true, for main to return 0. Otherwise throws ValueError
  /// naming the first option that no read asked for, and returns false.
  bool finish() const;
  /// The --help text.
  std::string help() const;

 private:
  const std::string* find(const std::string& name, bool takes_value);
  void describe(const std::string& name, const std::string& value, const std::string& help);

  std::string program_;
  std::string summary_;
  std::vector<std::string> words_;
  std::vector<std::pair<std::string, std::string>> pairs_;  // name, value ("" for a flag)
  std::set<std::string> read_;
  std::vector<std::string> help_lines_;
  bool help_ = false;
};

/// For an example without options: answers --help with `summary` and rejects anything else
/// (naming it on stderr). Returns the status for main to return at once (0 after --help, 2
/// after a bad option), or -1 to go on.
int no_options(int argc, char** argv, const std::string& summary);

/// Runs an example's body: a vesta::Error (a bad option, a missing data set) is printed as
/// "<program>: <message>" on stderr and gives exit status 2; otherwise the body's status.
int run_example(const char* program, const std::function<int()>& body);

}  // namespace vesta::examples
