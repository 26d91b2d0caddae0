// libFuzzer harness for the examples' command-line reader (examples/support/command_line.cpp):
// any list of words either reads or throws a vesta Error.
//
// Input layout: the words of argv after the program name, separated by zero bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <vesta/core/error.hpp>

#include "support/command_line.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words{"example"};
  std::string word;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      words.push_back(word);
      word.clear();
    } else {
      word.push_back(static_cast<char>(data[i]));
    }
  }
  words.push_back(word);
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  try {
    vesta::examples::CommandLine args(static_cast<int>(words.size()), argv.data(), "fuzzing");
    (void)args.integer("--epochs", 5, "passes");
    (void)args.integer("--seed", 0, "seed", 0);
    (void)args.choice("--elbo", "trace", {"trace", "meanfield"}, "estimator");
    (void)args.text("--checkpoint", "", "file");
    (void)args.flag("--resume", "resume");
    (void)args.help();
    (void)args.finish();
  } catch (const vesta::Error&) {
  }
  return 0;
}
