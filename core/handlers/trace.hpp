// trace: records every site that reaches it, in order, into a Trace. It records in
// postprocess, once the site's value is final (after replay, condition, the default draw).
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include <vesta/core/messenger.hpp>
#include <vesta/core/trace.hpp>

namespace vesta {

/// The trace handler (see trace()): records every site that reaches it into a Trace.
class TraceMessenger : public Messenger {
 public:
  /// `program` ("model", "guide") names the trace's sites in error messages.
  explicit TraceMessenger(std::string program = {}) : own_(std::move(program)) {}
  /// Records into `into` (cleared first, its memory kept) instead of a trace of its own: a
  /// loop that traces every step reuses one Trace. `into` must outlive the handler.
  TraceMessenger(Trace& into, std::string program) : target_(&into) {
    into.clear(std::move(program));
  }
  /// Lets the trace go of the sites of an earlier run that this one did not record over.
  ~TraceMessenger() override { target_->drop_unused(); }
  void postprocess(Site& site) override { target_->add(site); }
  /// The sites recorded so far.
  const Trace& get_trace() const { return *target_; }
  /// Moves the recorded trace out (the handler is left empty).
  Trace take_trace() { return std::move(*target_); }

 private:
  Trace own_;
  Trace* target_ = &own_;
};

/// Records the sites of the enclosing scope: `auto tr = trace(); model(); tr.get_trace()`.
inline TraceMessenger trace(std::string program = {}) { return TraceMessenger(std::move(program)); }

/// A model wrapped so that get_trace(args...) runs it and returns its Trace. Holds a copy of
/// the model (or a reference, given std::cref(model)).
template <class F>
class Traced {
 public:
  /// Wraps `fn`; `program` names the trace in messages.
  explicit Traced(F fn, std::string program = {})
      : fn_(std::move(fn)), program_(std::move(program)) {}
  /// Runs the model with `args` under a trace handler and returns the trace.
  template <class... Args>
  Trace get_trace(Args&&... args) const {
    TraceMessenger tr(program_);
    fn_(std::forward<Args>(args)...);
    return tr.take_trace();
  }
  /// Runs the model under a trace (so duplicate names are caught) and returns its result.
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    TraceMessenger tr(program_);
    return fn_(std::forward<Args>(args)...);
  }

 private:
  F fn_;
  std::string program_;
};

/// `trace(model).get_trace(args...)`; `program` names the trace in messages.
template <class F>
requires(!std::is_convertible_v<F, std::string>) Traced<std::decay_t<F>> trace(
    F&& fn, std::string program = {}) {
  return Traced<std::decay_t<F>>(std::forward<F>(fn), std::move(program));
}

}  // namespace vesta
