// Module: a named part of a network whose parameters live in the ParamStore under the
// module's prefix ("encoder.fc1.weight"), as Pyro's PyroModule names its params. Because
// they are ordinary `param` sites, SVI and the optimizers update them, handlers (substitute,
// block, trace) see them, and param_store().save() writes them. Also here: the activation
// type that layers take, and the initialisers they draw their first values from.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <vesta/core/constraints.hpp>
#include <vesta/core/primitives.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/tensor.hpp>

namespace vesta {

/// An elementwise non-linearity applied to a layer's output: `vesta::relu`, `vesta::tanh`,
/// `vesta::sigmoid`, `vesta::softplus`, or any callable. An empty Activation means none.
using Activation = std::function<Tensor(const Tensor&)>;

/// Base of every layer and network: owns a name prefix and registers parameters under it.
/// A module holds no values itself; copies of a module (and any module built with the same
/// prefix) share its parameters.
class Module {
 public:
  /// A module whose parameters are named "<prefix>.<name>". The prefix must be non-empty and
  /// must not start or end with '.'; a child module takes child_prefix("fc1").
  explicit Module(std::string prefix);
  virtual ~Module() = default;
  /// Copies (the copy names the same parameters).
  Module(const Module&) = default;
  /// Moves.
  Module(Module&&) = default;
  /// Copies (the copy names the same parameters).
  Module& operator=(const Module&) = default;
  /// Moves.
  Module& operator=(Module&&) = default;

  /// The prefix of its parameters' names.
  const std::string& prefix() const { return prefix_; }
  /// "<prefix>.<name>": the ParamStore name of this module's parameter `name`.
  std::string full_name(const std::string& name) const { return prefix_ + "." + name; }
  /// The prefix of a child module: "<prefix>.<child>".
  std::string child_prefix(const std::string& child) const { return full_name(child); }

  /// The kind of module, for messages: "Linear", "DenseFlipout", ...
  virtual std::string type_name() const { return "Module"; }
  /// "Linear 'encoder.fc1'", as messages name a module.
  std::string describe() const;

  /// The parameter "<prefix>.<name>" as a `param` site (differentiable, constrained): created
  /// from init() on first use, read from the ParamStore afterwards. Throws ShapeError naming
  /// the parameter when the stored value is not rows x cols (another module with the same
  /// prefix, or a store loaded from another network) or when init() gives another shape.
  Tensor param(const std::string& name, Index rows, Index cols, const ParamInit& init,
               ConstraintPtr constraint = constraints::real()) const;
  /// The same with the initial value given (its shape is the parameter's).
  Tensor param(const std::string& name, const Matrix& init,
               ConstraintPtr constraint = constraints::real()) const;
  /// The same for a 1x1 parameter, its initial value given as a number.
  Tensor param(const std::string& name, Scalar init,
               ConstraintPtr constraint = constraints::real()) const;

  /// The names of the parameters in the ParamStore that belong to this module and its
  /// children (those under "<prefix>."), in creation order. Parameters are created on a
  /// module's first forward pass, so before it this list is empty.
  std::vector<std::string> parameter_names() const;

 private:
  std::string prefix_;
};

namespace init {
/// A rows x cols matrix with entries uniform on (-bound, bound).
Matrix uniform(Index rows, Index cols, Scalar bound, Rng& rng = thread_rng());
/// A rows x cols matrix with entries Normal(0, sd).
Matrix normal(Index rows, Index cols, Scalar sd, Rng& rng = thread_rng());
/// PyTorch's default for nn.Linear: the weight by Kaiming-uniform with a = sqrt(5), which is
/// uniform on (-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias uniform on the same interval.
/// This returns a rows x cols matrix uniform on that interval.
Matrix torch_linear_default(Index fan_in, Index rows, Index cols, Rng& rng = thread_rng());
}  // namespace init

}  // namespace vesta
