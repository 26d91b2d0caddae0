// The examples' command-line reader: defaults, values, and an error naming every mistake.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/core/error.hpp>

#include "support/command_line.hpp"

using Catch::Matchers::Contains;
using vesta::ValueError;
using vesta::examples::CommandLine;

namespace {
// Owns the argument strings for the char** a CommandLine takes.
struct Argv {
  std::vector<std::string> words;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> w) : words(std::move(w)) {
    words.insert(words.begin(), "prog");
    for (std::string& s : words) ptrs.push_back(s.data());
  }
  int argc() { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
};
}  // namespace

TEST_CASE("CommandLine reads integers and choices, with defaults", "[examples]") {
  Argv a({"--epochs", "3", "--elbo", "meanfield", "--seed", "0"});
  CommandLine args(a.argc(), a.argv());
  CHECK(args.integer("--epochs", 10) == 3);
  CHECK(args.integer("--batch", 128) == 128);
  CHECK(args.integer("--seed", 5, "random seed", 0) == 0);
  CHECK(args.choice("--elbo", "trace", {"trace", "meanfield"}) == "meanfield");
  CHECK_NOTHROW(args.finish());
}

TEST_CASE("CommandLine names the option of every mistake", "[examples]") {
  Argv missing({"--epochs"});
  CommandLine m(missing.argc(), missing.argv());
  CHECK_THROWS_WITH(m.integer("--epochs", 10), Contains("--epochs") && Contains("needs a value"));
  Argv valued({"--distributed", "yes"});
  CommandLine v(valued.argc(), valued.argv());
  CHECK_THROWS_WITH(v.flag("--distributed"),
                    Contains("--distributed") && Contains("takes no value"));
  Argv stray({"epochs", "3"});
  CHECK_THROWS_WITH(CommandLine(stray.argc(), stray.argv()), Contains("\"epochs\""));

  Argv bad({"--epochs", "3x", "--batch", "0", "--elbo", "exact", "--colour", "red"});
  CommandLine args(bad.argc(), bad.argv());
  CHECK_THROWS_WITH(args.integer("--epochs", 10), Contains("--epochs") && Contains("\"3x\""));
  CHECK_THROWS_WITH(args.integer("--batch", 128), Contains("--batch") && Contains("at least 1"));
  CHECK_THROWS_WITH(args.choice("--elbo", "trace", {"trace", "meanfield"}),
                    Contains("--elbo") && Contains("\"exact\"") && Contains("meanfield"));
  CHECK_THROWS_WITH(args.finish(), Contains("unknown option --colour"));
}

TEST_CASE("CommandLine reads flags and answers --help with every option and its default",
          "[examples]") {
  Argv a({"--distributed", "--epochs", "2"});
  CommandLine args(a.argc(), a.argv(), "Trains something.");
  CHECK(args.flag("--distributed"));
  CHECK_FALSE(args.flag("--verbose"));
  CHECK(args.integer("--epochs", 5, "passes") == 2);
  CHECK_FALSE(args.finish());

  Argv h({"--help"});
  CommandLine help(h.argc(), h.argv(), "Trains something.");
  help.integer("--epochs", 5, "passes over the data");
  help.choice("--elbo", "trace", {"trace", "meanfield"}, "the estimator");
  const std::string text = help.help();
  CHECK_THAT(text, Contains("usage: prog") && Contains("Trains something."));
  CHECK_THAT(text, Contains("--epochs N") && Contains("passes over the data (default 5)"));
  CHECK_THAT(text, Contains("--elbo trace|meanfield") && Contains("(default trace)"));
  CHECK(help.finish());  // prints it; main returns 0
}
