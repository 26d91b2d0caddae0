// SVI: stochastic variational inference for any model and guide (callables taking the same
// arguments): each step estimates the ELBO, differentiates it, and lets the optimizer move
// the parameters; the tape is reset after every step, so memory stays flat.
#pragma once

#include <cmath>

#include <vesta/core/tape.hpp>
#include <vesta/inference/elbo.hpp>
#include <vesta/inference/optim.hpp>

namespace vesta {

template <class Model, class Guide, class Loss = Trace_ELBO>
class SVI {
 public:
  SVI(Model model, Guide guide, Optimizer& optimizer, Loss loss = Loss())
      : model_(std::move(model)), guide_(std::move(guide)), optimizer_(optimizer), loss_(std::move(loss)) {}

  /// One step: returns the loss (minus the ELBO estimate) before the update.
  template <class... Args>
  double step(const Args&... args) {
    struct ResetTape {
      ~ResetTape() { tape().reset(); }
    } reset;
    const Tensor loss = loss_.differentiable_loss(model_, guide_, args...);
    const double value = loss.item();
    loss.backward();
    try {
      optimizer_.step();
    } catch (...) {
      // The parameters are unchanged; drop this step's gradients too, so a caller that
      // recovers does not carry them into the next step.
      for (const std::string& name : param_store().names()) param_store().entry(name).unconstrained.zero_grad();
      throw;
    }
    return value;
  }

  /// The loss without updating anything.
  template <class... Args>
  double evaluate_loss(const Args&... args) {
    struct ResetTape {
      ~ResetTape() { tape().reset(); }
    } reset;
    return loss_.differentiable_loss(model_, guide_, args...).item();
  }

 private:
  Model model_;
  Guide guide_;
  Optimizer& optimizer_;
  Loss loss_;
};

}  // namespace vesta
