// FunctionRef: a reference to a callable, type-erased without allocating, for code that runs a
// caller's function before returning (a pool's parts, an estimator's model and guide). It
// holds the callable's address, so the callable must outlive it.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace vesta::detail {

template <class Signature>
class FunctionRef;

/// A non-owning reference to a callable `R(Args...)`.
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  /// Refers to `f` (not a copy of it); implicit, so that a lambda passes as one.
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
           std::is_invocable_r_v<R, F&, Args...>) FunctionRef(F&& f)  // NOLINT
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
        }) {}
  /// Calls the callable.
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace vesta::detail
