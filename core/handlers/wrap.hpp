// Turns a handler into a model transformer: wrap(fn, make) is a callable that runs fn
// inside the handler make() returns. Every handler offers both forms, as in Pyro:
// `auto h = condition(data); model();` and `auto conditioned = condition(model, data);`.
#pragma once

#include <utility>

namespace vesta::detail {

template <class F, class Make>
auto wrap(F&& fn, Make make) {
  return [fn = std::forward<F>(fn), make = std::move(make)](auto&&... args) -> decltype(auto) {
    auto handler = make();
    (void)handler;
    return fn(std::forward<decltype(args)>(args)...);
  };
}

}  // namespace vesta::detail
