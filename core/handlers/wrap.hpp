// Turns a handler into a model transformer: wrap(fn, make) is a callable that runs fn
// inside the handler make() returns. Every handler offers both forms, as in Pyro:
// `auto h = condition(data); model();` and `auto conditioned = condition(model, data);`.
// The wrapper holds a copy of the model; pass std::cref(model) to hold a reference instead
// (inference does, to wrap the same model every step without copying it).
#pragma once

#include <type_traits>
#include <utility>

namespace vesta::detail {

template <class F, class Make>
class Wrapped {
 public:
  Wrapped(F fn, Make make) : fn_(std::move(fn)), make_(std::move(make)) {}
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    auto handler = make_();
    (void)handler;
    return fn_(std::forward<Args>(args)...);
  }

 private:
  F fn_;
  Make make_;
};

template <class F, class Make>
Wrapped<std::decay_t<F>, Make> wrap(F&& fn, Make make) {
  return Wrapped<std::decay_t<F>, Make>(std::forward<F>(fn), std::move(make));
}

}  // namespace vesta::detail
