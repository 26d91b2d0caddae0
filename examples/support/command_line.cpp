#include "support/command_line.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/core/error.hpp>

namespace vesta::examples {

CommandLine::CommandLine(int argc, char** argv, std::string summary)
    : program_(argc > 0 ? argv[0] : "example"), summary_(std::move(summary)) {
  if (auto slash = program_.rfind('/'); slash != std::string::npos)
    program_ = program_.substr(slash + 1);
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      help_ = true;
      continue;
    }
    if (name.rfind("--", 0) != 0)
      throw ValueError(fmt::format("\"{}\" is not an option (--name value)", name));
    // A value follows unless the next word is another option (then this is a flag).
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      pairs_.emplace_back(name, argv[i + 1]);
      ++i;
    } else {
      pairs_.emplace_back(name, "");
    }
  }
}

void CommandLine::describe(const std::string& name, const std::string& value,
                           const std::string& help) {
  help_lines_.push_back(
      fmt::format("  {:<24} {}", value.empty() ? name : name + " " + value, help));
}

const std::string* CommandLine::find(const std::string& name, bool takes_value) {
  read_.insert(name);
  const std::string* found = nullptr;
  for (const auto& [n, text] : pairs_) {
    if (n != name) continue;
    if (takes_value && text.empty()) throw ValueError(fmt::format("option {} needs a value", name));
    if (!takes_value && !text.empty())
      throw ValueError(fmt::format("option {} takes no value (\"{}\")", name, text));
    found = &text;  // the last one given wins, as in most tools
  }
  return found;
}

long long CommandLine::integer(const std::string& name, long long fallback, const std::string& help,
                               long long min) {
  describe(name, "N", fmt::format("{} (default {})", help, fallback));
  const std::string* text = find(name, true);
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || value < min) {
    throw ValueError(
        fmt::format("option {}: \"{}\" is not an integer of at least {}", name, *text, min));
  }
  return value;
}

std::string CommandLine::choice(const std::string& name, const std::string& fallback,
                                const std::vector<std::string>& allowed, const std::string& help) {
  describe(name, fmt::format("{}", fmt::join(allowed, "|")),
           fmt::format("{} (default {})", help, fallback));
  const std::string* text = find(name, true);
  if (text == nullptr) return fallback;
  for (const std::string& a : allowed) {
    if (*text == a) return a;
  }
  throw ValueError(
      fmt::format("option {}: \"{}\" is not one of {}", name, *text, fmt::join(allowed, ", ")));
}

std::string CommandLine::text(const std::string& name, const std::string& fallback,
                              const std::string& help) {
  describe(name, "TEXT", fallback.empty() ? help : fmt::format("{} (default {})", help, fallback));
  const std::string* text = find(name, true);
  return text == nullptr ? fallback : *text;
}

bool CommandLine::flag(const std::string& name, const std::string& help) {
  describe(name, "", help);
  return find(name, false) != nullptr;
}

std::string CommandLine::help() const {
  std::string out = fmt::format("usage: {} [options]\n", program_);
  if (!summary_.empty()) out += summary_ + "\n";
  out += "options:\n";
  for (const std::string& line : help_lines_) out += line + "\n";
  out += fmt::format("  {:<24} {}\n", "--help", "this text");
  return out;
}

bool CommandLine::finish() const {
  if (help_) {
    std::fputs(help().c_str(), stdout);
    return true;
  }
  for (const auto& [name, text] : pairs_) {
    if (read_.count(name) == 0) {
      throw ValueError(fmt::format("unknown option {} (--help lists the options)", name));
    }
  }
  return false;
}

int no_options(int argc, char** argv, const std::string& summary) {
  const std::string program = argc > 0 ? argv[0] : "example";
  return run_example(program.substr(program.rfind('/') + 1).c_str(), [&] {
    CommandLine args(argc, argv, summary);
    return args.finish() ? 0 : -1;
  });
}

int run_example(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 2;
  }
}

}  // namespace vesta::examples
