#include <vesta/core/warn.hpp>

#include <cstdio>
#include <mutex>
#include <utility>

namespace vesta {

namespace {

std::mutex& handler_mutex() {
  static std::mutex m;
  return m;
}

WarningHandler& current_handler() {
  static WarningHandler h = default_warning_handler();
  return h;
}

}  // namespace

WarningHandler default_warning_handler() {
  return [](const std::string& message) { std::fprintf(stderr, "vesta: %s\n", message.c_str()); };
}

void warn(const std::string& message) {
  const std::lock_guard<std::mutex> lock(handler_mutex());
  if (current_handler()) current_handler()(message);
}

WarningHandler set_warning_handler(WarningHandler handler) {
  const std::lock_guard<std::mutex> lock(handler_mutex());
  std::swap(current_handler(), handler);
  return handler;
}

}  // namespace vesta
