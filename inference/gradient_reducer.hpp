// GradientReducer: what SVI hands a step's gradients to before the optimizer moves anything,
// so that several processes, each with its share of the data, take the same step. SVI calls
// reduce() after every backward pass, or fail() when its model, guide or loss threw;
// DataParallel (inference/distributed, -DVESTA_MPI=ON) averages over MPI ranks with them.
#pragma once

#include <exception>

#include <vesta/core/param_store.hpp>

namespace vesta {

/// Combines the gradients and the loss of one SVI step over several processes (see
/// SVI::set_reducer). Every process calls exactly one of reduce() or fail() per step.
class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  /// Called after this process's backward pass: replaces the gradient of every param of
  /// `store` by its combination over the processes and returns the combined loss, which the
  /// step reports. Throws (on every process alike) if another process's step failed.
  virtual double reduce(double loss, ParamStore& store) = 0;
  /// Called when this process's step threw `error` before its gradients were ready: tells
  /// the other processes, which are in reduce() or fail(), and throws on every process.
  [[noreturn]] virtual void fail(std::exception_ptr error, ParamStore& store) = 0;
};

}  // namespace vesta
