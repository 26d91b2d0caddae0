// The effect-handler stack. A Messenger is one handler: constructing it pushes it on the
// thread's stack, destroying it pops it (also when an exception unwinds), so handler scopes
// are C++ scopes. apply_stack() is the path every primitive's Site takes through them.
#pragma once

#include <span>
#include <vector>

#include <vesta/core/site.hpp>

namespace vesta {

/// Base of every handler (Pyro's Messenger). Subclasses override process() and/or
/// postprocess(); both see only the sites that reach them (block stops sites on the way out).
class Messenger {
 public:
  Messenger(const Messenger&) = delete;
  Messenger& operator=(const Messenger&) = delete;

  /// Called from the innermost handler outwards, before the site has a value (unless a
  /// handler inside already gave it one). Setting `site.stop` hides it from outer handlers.
  virtual void process(Site& site) { (void)site; }
  /// Called after the default behaviour, over the handlers that processed the site, from the
  /// outermost of them inwards. The site's value is final here: trace records it now.
  virtual void postprocess(Site& site) { (void)site; }

 protected:
  Messenger();
  /// Pops the handler. It may throw (noexcept(false)): a handler that checks what it was
  /// given when its scope ends (condition's names) reports it here, unless an exception is
  /// already leaving the scope.
  virtual ~Messenger() noexcept(false);
};

namespace detail {
// The thread's stack, made by the first handler on the thread. Every primitive reads it (a
// sample with no handler active skips its Site altogether), so the read is a load and a test:
// a thread_local pointer with a constant initial value needs no guard.
inline thread_local std::vector<Messenger*>* thread_handlers = nullptr;
std::vector<Messenger*>& make_thread_handlers();
}  // namespace detail

/// The handlers active on this thread, outermost first.
inline std::span<Messenger* const> handler_stack() {
  const std::vector<Messenger*>* s = detail::thread_handlers;
  if (s == nullptr) return {};
  return *s;
}

/// Sends `site` through the handler stack: process() innermost outwards (until a handler
/// stops it), the default behaviour (draw a sample, read a param...), then postprocess().
void apply_stack(Site& site);

/// Runs `fn` while the handler `h` is active: `with_handler(replay(guide_trace), [&] { ... })`.
/// (`h` is constructed, and so pushed, before `fn` runs and popped when the call returns.)
template <class H, class F>
decltype(auto) with_handler(H&& h, F&& fn) {
  (void)h;
  return std::forward<F>(fn)();
}

}  // namespace vesta
