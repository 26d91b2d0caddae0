// Warnings: everything vesta has to say that is not an error (a model site missing from the
// guide, a check it could not make) goes through one hook, which a program may redirect
// (to its log) or silence. A library never writes to stderr behind its user's back.
#pragma once

#include <functional>
#include <string>

namespace vesta {

/// Receives each warning's text (one line, without a trailing newline).
using WarningHandler = std::function<void(const std::string& message)>;

/// Sends `message` to the current handler (by default: "vesta: <message>" on stderr).
void warn(const std::string& message);

/// Replaces the handler for all threads and returns the previous one; nullptr silences
/// warnings. The handler may be called from any thread that runs vesta code, one call at a
/// time.
WarningHandler set_warning_handler(WarningHandler handler);

/// The handler vesta starts with: "vesta: <message>\n" on stderr.
WarningHandler default_warning_handler();

}  // namespace vesta
