// The toy BNN of ANCHORS.md workload W2, shared by bench/bnn_toy_step and bench/soak:
// x ~ U(-3, 3), y = x sin x + 0.3 eps, N = 200; HiddenLayers 1(+bias)-hidden-hidden-1 with
// ReLU; Normal likelihood (scale 0.3); an empty guide.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

#include <vesta/vesta.hpp>

namespace vesta::bench {

struct ToyBnn {
  Index n = 200, hidden = 50;
  Matrix X, y;  // X: n x 2 (x and a column of ones), y: n x 1
  Tensor X_t;   // X as a constant, made once
  Tensor y_t;   // y as a constant, made once

  ToyBnn() {
    Rng data_rng(1);
    X = Matrix::Ones(n, 2);
    X.col(0) = (data_rng.uniform(n, 1).array() * 6 - 3).matrix();
    y = (X.col(0).array() * X.col(0).array().sin()).matrix() + 0.3 * data_rng.normal(n, 1);
    X_t = Tensor(X);
    y_t = Tensor(y);
  }

  // The model: observed with y, or drawn (Predictive) with nullopt.
  void operator()(const std::optional<Tensor>& obs) const {
    auto mean_param = [](const char* name, Index rows, Index cols, std::uint64_t seed) {
      return param(name,
                   [=] { return Matrix(Rng(seed).normal(rows, cols) / std::sqrt(Scalar(rows))); });
    };
    auto scale_param = [](const char* name, Index rows, Index cols) {
      return param(name, Matrix::Constant(rows, cols, 0.05), constraints::positive());
    };
    const Tensor h1 = sample("h1", HiddenLayer(X_t, mean_param("a1_mean", 2, hidden, 1),
                                               scale_param("a1_scale", 2, hidden)));
    const Tensor h2 = sample("h2", HiddenLayer(h1, mean_param("a2_mean", hidden + 1, hidden, 2),
                                               scale_param("a2_scale", hidden + 1, hidden)));
    const Tensor f =
        sample("f", HiddenLayer(h2, mean_param("a3_mean", hidden + 1, 1, 3),
                                scale_param("a3_scale", hidden + 1, 1),
                                {.include_hidden_bias = false, .non_linearity = identity}));
    auto data = plate("data", n);
    sample("y", Normal(f, 0.3), obs);
  }
};

}  // namespace vesta::bench
