// What every chapter's program shares: how it reports the numbers and the text that its
// chapter shows, so that docs/tools/check_chapter can compare them with the chapter.
//
//   report("posterior_mean", m);       // prints "value posterior_mean = 0.53312"
//   { Output out("trace"); std::cout << t.format(); }   // "[output trace]" ... "[end]"
#pragma once

#include <string>

#include <fmt/format.h>

namespace vesta::tutorial {

/// Prints `value NAME = VALUE`, a line check_chapter reads.
inline void report(const std::string& name, double value) {
  fmt::print("value {} = {:.6g}\n", name, value);
}

/// Brackets what is printed during its lifetime as the output NAME.
class Output {
 public:
  explicit Output(std::string name) { fmt::print("[output {}]\n", name); }
  ~Output() { fmt::print("[end]\n"); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
};

}  // namespace vesta::tutorial
