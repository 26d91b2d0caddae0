#include <vesta/nn/linear.hpp>

#include <fmt/format.h>

namespace vesta {

namespace {

void check_features(const std::string& who, const char* what, Index n) {
  if (n < 1) throw ValueError(fmt::format("{}: {} is {}, but must be at least 1", who, what, n));
}

}  // namespace

Linear::Linear(std::string prefix, Index in_features, Index out_features, bool bias)
    : Module(std::move(prefix)), in_(in_features), out_(out_features), has_bias_(bias) {
  check_features(describe(), "in_features", in_);
  check_features(describe(), "out_features", out_);
}

Tensor Linear::weight() const {
  return param("weight", in_, out_, [this] { return init::torch_linear_default(in_, in_, out_); });
}

Tensor Linear::bias() const {
  if (!has_bias_) throw ValueError(fmt::format("{} was built without a bias", describe()));
  return param("bias", 1, out_, [this] { return init::torch_linear_default(in_, 1, out_); });
}

Tensor Linear::operator()(const Tensor& x) const {
  if (x.cols() != in_) {
    throw ShapeError(fmt::format("{}: x is {}, but the layer takes {} input columns (weight {})",
                                 describe(), x.shape(), in_, shape_str(in_, out_)));
  }
  const Tensor w = weight();  // created before the bias: the store keeps creation order
  return has_bias_ ? linear(x, w, bias()) : matmul(x, w);
}

MLP::MLP(std::string prefix, std::vector<Index> sizes, Activation activation,
         Activation output_activation, bool bias)
    : Module(std::move(prefix)),
      sizes_(std::move(sizes)),
      activation_(std::move(activation)),
      output_activation_(std::move(output_activation)) {
  if (sizes_.size() < 2) {
    throw ValueError(fmt::format("{}: sizes has {} entries, but needs at least two (in and out)",
                                 describe(), sizes_.size()));
  }
  for (std::size_t l = 0; l < sizes_.size(); ++l) {
    if (sizes_[l] < 1) {
      throw ValueError(fmt::format("{}: sizes[{}] is {}, but every size must be at least 1",
                                   describe(), l, sizes_[l]));
    }
  }
  for (std::size_t l = 0; l + 1 < sizes_.size(); ++l) {
    layers_.emplace_back(child_prefix(fmt::format("fc{}", l + 1)), sizes_[l], sizes_[l + 1], bias);
  }
}

Tensor MLP::operator()(const Tensor& x) const {
  Tensor h = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    h = layers_[l](h);
    const Activation& f = l + 1 < layers_.size() ? activation_ : output_activation_;
    if (f) h = f(h);
  }
  return h;
}

}  // namespace vesta
