// trace: records every site that reaches it, in order, into a Trace. It records in
// postprocess, once the site's value is final (after replay, condition, the default draw).
#pragma once

#include <utility>

#include <vesta/core/messenger.hpp>
#include <vesta/core/trace.hpp>

namespace vesta {

class TraceMessenger : public Messenger {
 public:
  void postprocess(Site& site) override { trace_.add(site); }
  const Trace& get_trace() const { return trace_; }
  Trace take_trace() { return std::move(trace_); }

 private:
  Trace trace_;
};

/// Records the sites of the enclosing scope: `auto tr = trace(); model(); tr.get_trace()`.
inline TraceMessenger trace() { return {}; }

/// A model wrapped so that get_trace(args...) runs it and returns its Trace.
template <class F>
class Traced {
 public:
  explicit Traced(F fn) : fn_(std::move(fn)) {}
  template <class... Args>
  Trace get_trace(Args&&... args) const {
    TraceMessenger tr;
    fn_(std::forward<Args>(args)...);
    return tr.take_trace();
  }
  /// Runs the model under a trace (so duplicate names are caught) and returns its result.
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    TraceMessenger tr;
    return fn_(std::forward<Args>(args)...);
  }

 private:
  F fn_;
};

template <class F>
Traced<std::decay_t<F>> trace(F&& fn) {
  return Traced<std::decay_t<F>>(std::forward<F>(fn));
}

}  // namespace vesta
