#include "support/command_line.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/core/error.hpp>

namespace vesta::examples {

CommandLine::CommandLine(int argc, char** argv) {
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (name.rfind("--", 0) != 0) throw ValueError(fmt::format("\"{}\" is not an option (--name value)", name));
    if (i + 1 >= argc) throw ValueError(fmt::format("option {} needs a value", name));
    pairs_.emplace_back(name, argv[i + 1]);
  }
}

const std::string* CommandLine::find(const std::string& name) {
  read_.insert(name);
  const std::string* found = nullptr;
  for (const auto& [n, text] : pairs_) {
    if (n == name) found = &text;  // the last one given wins, as in most tools
  }
  return found;
}

long long CommandLine::integer(const std::string& name, long long fallback, long long min) {
  const std::string* text = find(name);
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || value < min) {
    throw ValueError(fmt::format("option {}: \"{}\" is not an integer of at least {}", name, *text, min));
  }
  return value;
}

std::string CommandLine::choice(const std::string& name, const std::string& fallback,
                                const std::vector<std::string>& allowed) {
  const std::string* text = find(name);
  if (text == nullptr) return fallback;
  for (const std::string& a : allowed) {
    if (*text == a) return a;
  }
  throw ValueError(fmt::format("option {}: \"{}\" is not one of {}", name, *text, fmt::join(allowed, ", ")));
}

void CommandLine::finish() const {
  for (const auto& [name, text] : pairs_) {
    if (read_.count(name) == 0) throw ValueError(fmt::format("unknown option {}", name));
  }
}

}  // namespace vesta::examples
