// libFuzzer harness for the JSON reader of the posteriordb data (examples/support/json.hpp):
// any text either parses or throws std::runtime_error (the reader's error type), and a parsed
// value can be walked whatever its shape.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "support/json.hpp"

namespace {

using vesta::examples::Json;

// Visits every value, asking each for what the tests ask of posteriordb's files.
std::size_t walk(const Json& v) {
  std::size_t n = 1;
  if (v.is_array()) {
    for (const Json& e : v.array()) n += walk(e);
    try {
      n += v.numbers().size();
    } catch (const std::runtime_error&) {
    }
  } else if (v.is_object()) {
    for (const auto& [key, e] : v.object()) n += walk(e) + (v.contains(key) ? 1 : 0);
  } else if (v.is_number()) {
    n += v.number() > 0;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const Json v = Json::parse(std::string(reinterpret_cast<const char*>(data), size));
    (void)walk(v);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
