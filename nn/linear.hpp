// Deterministic layers: Linear (y = x W + b) and MLP (a stack of Linear layers with an
// activation between them), with PyTorch's default initialisation. Rows are examples, as
// everywhere in vesta: x is batch x in, W is in x out, b is 1 x out.
#pragma once

#include <string>
#include <vector>

#include <vesta/core/ops.hpp>
#include <vesta/nn/module.hpp>

namespace vesta {

/// A fully connected layer: y = x W + b, parameters "<prefix>.weight" (in x out) and
/// "<prefix>.bias" (1 x out). Initialised as PyTorch's nn.Linear: both uniform on
/// (-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform with a = sqrt(5)), drawn from thread_rng() when
/// the parameters are first created. (PyTorch stores W transposed, out x in.)
class Linear : public Module {
 public:
  /// Throws ValueError unless in_features and out_features are positive.
  Linear(std::string prefix, Index in_features, Index out_features, bool bias = true);

  /// x W + b for x of shape batch x in; throws ShapeError naming the layer and both shapes
  /// when x does not have in_features columns.
  Tensor operator()(const Tensor& x) const;

  /// The parameters as `param` sites (created on first use).
  Tensor weight() const;
  /// The bias; throws ValueError if the layer has none.
  Tensor bias() const;

  /// Inputs per example.
  Index in_features() const { return in_; }
  /// Outputs per example.
  Index out_features() const { return out_; }
  /// Whether the layer has a bias.
  bool has_bias() const { return has_bias_; }
  std::string type_name() const override { return "Linear"; }

 private:
  Index in_;
  Index out_;
  bool has_bias_;
};

/// A multilayer perceptron: Linear layers "<prefix>.fc1", "<prefix>.fc2", ... of sizes
/// sizes[0] -> sizes[1] -> ... -> sizes.back(), with `activation` after every layer but the
/// last and `output_activation` (none by default) after the last.
class MLP : public Module {
 public:
  /// `sizes` = {in, hidden..., out}: at least two positive sizes, else ValueError.
  MLP(std::string prefix, std::vector<Index> sizes, Activation activation = relu,
      Activation output_activation = nullptr, bool bias = true);

  /// The network's output (batch x out) for x (batch x in).
  Tensor operator()(const Tensor& x) const;

  /// The Linear layers, first to last.
  const std::vector<Linear>& layers() const { return layers_; }
  /// The layer sizes, input first.
  const std::vector<Index>& sizes() const { return sizes_; }
  std::string type_name() const override { return "MLP"; }

 private:
  std::vector<Index> sizes_;
  std::vector<Linear> layers_;
  Activation activation_;
  Activation output_activation_;
};

}  // namespace vesta
