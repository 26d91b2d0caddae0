// SVI: stochastic variational inference for any model and guide (callables taking the same
// arguments): each step estimates the ELBO, differentiates it, and lets the optimizer move
// the parameters; the tape is reset after every step, so memory stays flat. run() loops
// over steps and reports progress. With a GradientReducer (set_reducer), every step's
// gradients and loss are combined over processes before the optimizer moves anything.
#pragma once

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include <vesta/core/error.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/inference/elbo.hpp>
#include <vesta/inference/gradient_reducer.hpp>
#include <vesta/inference/optim.hpp>
#include <vesta/inference/progress.hpp>

namespace vesta {

/// Stochastic variational inference: a model, a guide, an optimizer and an ELBO estimator (`Loss`,
/// Trace_ELBO by default); step() takes one gradient step.
template <class Model, class Guide, class Loss = Trace_ELBO>
class SVI {
 public:
  /// The optimizer is held by reference and must outlive the SVI object.
  SVI(Model model, Guide guide, Optimizer& optimizer, Loss loss = Loss())
      : model_(std::move(model)),
        guide_(std::move(guide)),
        optimizer_(optimizer),
        loss_(std::move(loss)) {}

  /// One step: returns the loss (minus the ELBO estimate) before the update.
  template <class... Args>
  double step(const Args&... args) {
    TapeStep tape_step;
    double value = 0;
    try {
      const Tensor loss = loss_.differentiable_loss(model_, guide_, args...);
      if (!loss.requires_grad()) throw ValueError(loss_.explain_constant_loss());
      value = loss.item();
      loss.backward();
    } catch (...) {
      if (reducer_ == nullptr) throw;
      reducer_->fail(std::current_exception(), param_store());
    }
    if (reducer_ != nullptr) value = reducer_->reduce(value, param_store());
    optimizer_.step();
    return value;
  }

  /// Hands every step's gradients and loss to `reducer` (held by reference; nullptr: none)
  /// between the backward pass and the optimizer's update; step() then returns the reduced
  /// loss. DataParallel is one: it averages them over MPI ranks.
  void set_reducer(GradientReducer* reducer) { reducer_ = reducer; }

  /// Runs `num_steps` steps and returns their losses. After every step the progress
  /// callback sees a Progress (by default a progress_line on stderr, silent for loops under
  /// a second). If a step (or the callback) throws, the callback gets a last report marked
  /// `stopped` and the exception propagates. Throws ValueError if num_steps < 1.
  template <class... Args>
  std::vector<double> run(long num_steps, const Args&... args) {
    if (num_steps < 1)
      throw ValueError(fmt::format("SVI::run: num_steps is {}, but must be at least 1", num_steps));
    std::vector<double> losses;
    losses.reserve(static_cast<std::size_t>(num_steps));
    ProgressMeter meter(num_steps);
    try {
      for (long t = 0; t < num_steps; ++t) {
        losses.push_back(step(args...));
        if (progress_) progress_(meter.update(losses.back()));
      }
    } catch (...) {
      if (progress_) {
        try {
          progress_(meter.stopped());
        } catch (...) {
          // The step's exception is the one to report.
        }
      }
      throw;
    }
    return losses;
  }

  /// The callback run() reports to after every step; nullptr for none.
  void set_progress(ProgressCallback callback) { progress_ = std::move(callback); }

  /// The loss without updating anything (the estimator's own loss(model, guide, args...)
  /// needs no SVI at all).
  template <class... Args>
  double evaluate_loss(const Args&... args) {
    return loss_.loss(model_, guide_, args...);
  }

  /// The model.
  const Model& model() const { return model_; }
  /// The guide.
  const Guide& guide() const { return guide_; }
  /// The ELBO estimator.
  Loss& loss() { return loss_; }

 private:
  Model model_;
  Guide guide_;
  Optimizer& optimizer_;
  Loss loss_;
  ProgressCallback progress_ = progress_line();
  GradientReducer* reducer_ = nullptr;
};

}  // namespace vesta
