// The shared gradient checker: differentiates a function of Tensors by the tape and by
// central finite differences and compares. A new op's test is one row in a table.
#pragma once

#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

namespace vesta::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Random matrix with entries uniform in [lo, hi], away from zero by at least `gap` when
/// the interval contains zero (so |x| and relu are not checked at their kinks).
inline Matrix random_matrix(Index rows, Index cols, double lo, double hi, std::mt19937_64& gen,
                            double gap = 0.0) {
  std::uniform_real_distribution<double> u(lo, hi);
  Matrix m(rows, cols);
  for (Index k = 0; k < m.size(); ++k) {
    double v = u(gen);
    while (gap > 0 && std::abs(v) < gap) v = u(gen);
    m.data()[k] = static_cast<Scalar>(v);
  }
  return m;
}

/// L(x) = sum(W ∘ f(x)) with W fixed: a 1x1 loss in which every output entry matters with
/// a different weight, so a gradient routed to the wrong entry is caught.
inline Tensor weighted_loss(const Fn& f, const std::vector<Tensor>& xs, const Matrix& W) {
  Tensor y = f(xs);
  return sum(mul(y, Tensor(W)));
}

/// Checks d L / d x_i for every input i of f at `inputs`: once with all inputs as leaves and
/// once with only x_i a leaf (others constant), against central differences of step h.
inline void check_gradients(const std::string& name, const Fn& f, const std::vector<Matrix>& inputs,
                            double tol = 1e-6, double h = 1e-6) {
  INFO("op: " << name);
  std::mt19937_64 gen(1234);
  std::vector<Tensor> constants;
  for (const Matrix& m : inputs) constants.emplace_back(m);
  const Tensor y0 = f(constants);
  const Matrix W = random_matrix(y0.rows(), y0.cols(), 0.5, 1.5, gen);

  auto loss_at = [&](std::vector<Matrix> xs) {
    std::vector<Tensor> ts;
    for (Matrix& m : xs) ts.emplace_back(std::move(m));
    return static_cast<double>(weighted_loss(f, ts, W).item());
  };

  for (int only = -1; only < static_cast<int>(inputs.size()); ++only) {
    std::vector<Tensor> xs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const bool leaf = only < 0 || static_cast<int>(i) == only;
      xs.push_back(leaf ? Tensor::variable(inputs[i]) : Tensor(inputs[i]));
    }
    Tensor L = weighted_loss(f, xs, W);
    REQUIRE(L.rows() == 1);
    // The recorded forward pass and the constant one agree.
    REQUIRE(L.item() == Approx(loss_at(inputs)).epsilon(1e-12).margin(1e-12));
    // A result that does not depend on the leaves has gradient zero.
    if (L.requires_grad()) L.backward();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!xs[i].is_leaf()) continue;
      const Matrix g = xs[i].grad();
      for (Index k = 0; k < inputs[i].size(); ++k) {
        std::vector<Matrix> plus = inputs, minus = inputs;
        plus[i].data()[k] += static_cast<Scalar>(h);
        minus[i].data()[k] -= static_cast<Scalar>(h);
        const double fd = (loss_at(plus) - loss_at(minus)) / (2 * h);
        INFO(fmt::format("input {} ({}x{}) element {}, {}", i, inputs[i].rows(), inputs[i].cols(),
                         k, only < 0 ? "all inputs leaves" : "only this input a leaf"));
        CHECK(static_cast<double>(g.data()[k]) == Approx(fd).epsilon(tol).margin(tol));
      }
    }
    tape().reset();
  }
}

}  // namespace vesta::testing
