// vesta's exceptions. Every error a user can provoke is one of these, with a message that
// names the operation, the site or argument, and the offending shapes or values.
#pragma once

#include <stdexcept>
#include <string>

#include <vesta/core/scalar.hpp>

namespace vesta {

/// Base of every exception vesta throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Operands whose shapes do not fit the operation.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// An argument whose value is outside what the operation accepts.
class ValueError : public Error {
 public:
  using Error::Error;
};

/// A Tensor used after the tape that recorded it was reset.
class StaleTensorError : public Error {
 public:
  using Error::Error;
};

/// An object that belongs to one thread at a time (a parameter, a ParamStore, an optimizer)
/// used by a second thread while the first still uses it.
class ConcurrentUseError : public Error {
 public:
  using Error::Error;
};

/// Inside a catch block: throws the exception being handled again, as the same kind of vesta
/// error with "<context>: " before its message (a site naming itself in an error raised while
/// it was processed). Exceptions that are not vesta errors pass through unchanged.
[[noreturn]] void rethrow_with_context(const std::string& context);

/// "3x4": the shape notation used in all messages.
std::string shape_str(Index rows, Index cols);

/// How messages name entry (i, j) of a rows x cols Tensor: "" for a 1x1, "[k]" (the flat
/// index) for a vector, "[i, j]" for a matrix.
std::string entry_str(Index rows, Index cols, Index i, Index j);
/// The same for a flat column-major index k.
inline std::string entry_str(Index rows, Index cols, Index k) {
  return entry_str(rows, cols, rows == 0 ? 0 : k % rows, rows == 0 ? 0 : k / rows);
}

}  // namespace vesta
