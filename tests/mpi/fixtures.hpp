// What the MPI tests share: a small BNN of HiddenLayers in a subsampled data plate, its data,
// the global minibatches of a run, and a comparison of two param stores.
//
// The BNN's layers draw their weights (weight_space_sampling): one draw per layer and step,
// whatever the batch, so ranks seeded alike draw what one process draws for the whole batch,
// and a data-parallel run can equal a one-process run to rounding. (Draws made per datum,
// as local reparameterisation makes, depend on how the batch is split; the VAE test fixes
// its noise per datum instead.)
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

namespace vesta::testing {

/// The BNN: D inputs (+ ones) -> H ReLU units (+ ones) -> K logits, Categorical labels.
struct SmallBnn {
  static constexpr Index N = 40, D = 6, H = 5, K = 3;
  Matrix X;  ///< N x (D + 1): inputs and a ones column
  Matrix y;  ///< N x 1: labels 0..K-1

  SmallBnn() {
    Rng rng(101);
    X = Matrix::Ones(N, D + 1);
    X.leftCols(D) = rng.normal(N, D);
    y.resize(N, 1);
    for (Index i = 0; i < N; ++i) y(i, 0) = Scalar(i % K);
  }

  /// Makes the params, the same on every rank.
  static void init_params() {
    Rng rng(7);
    param("a1_mean", Matrix(rng.normal(D + 1, H) * Scalar(0.5)));
    param("a1_scale", Matrix::Constant(D + 1, H, Scalar(0.1)), constraints::positive());
    param("a2_mean", Matrix(rng.normal(H + 1, K) * Scalar(0.5)));
    param("a2_scale", Matrix::Constant(H + 1, K, Scalar(0.1)), constraints::positive());
  }

  /// The model on the rows `rows` of the data set.
  void operator()(const Tensor& X_rows, const Tensor& y_rows,
                  const std::vector<Index>& rows) const {
    auto data = plate("data", N, rows);
    const Tensor h1 = sample("h1", HiddenLayer(X_rows, param("a1_mean"), param("a1_scale"),
                                               {.weight_space_sampling = true}));
    const Tensor logits = sample("logits", HiddenLayer(h1, param("a2_mean"), param("a2_scale"),
                                                       {.include_hidden_bias = false,
                                                        .non_linearity = identity,
                                                        .weight_space_sampling = true}));
    sample("label", Categorical::from_logits(logits), y_rows);
  }

  /// One SVI step on `rows` (a rank's share or a whole batch).
  template <class Svi>
  double step(Svi& svi, const std::vector<Index>& rows) const {
    Matrix Xr(Index(rows.size()), X.cols()), yr(Index(rows.size()), 1);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      Xr.row(Index(i)) = X.row(rows[i]);
      yr(Index(i), 0) = y(rows[i], 0);
    }
    return svi.step(Tensor(Xr), Tensor(yr), rows);
  }
};

/// The empty guide of models whose params are in the model.
inline constexpr auto empty_guide = [](auto&&...) {};

/// The global minibatches of `steps` steps of `batch` rows of a data set of `n`: a fresh
/// shuffle per pass, from a fixed seed, so every rank and every run sees the same.
inline std::vector<std::vector<Index>> global_batches(Index n, Index batch, int steps) {
  std::vector<Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index(0));
  Rng rng(55);
  std::vector<std::vector<Index>> out;
  Index at = n;
  for (int s = 0; s < steps; ++s) {
    if (at + batch > n) {
      std::shuffle(order.begin(), order.end(), rng);
      at = 0;
    }
    out.emplace_back(order.begin() + at, order.begin() + at + batch);
    at += batch;
  }
  return out;
}

/// The tolerance for params that two runs computed with sums in another order: a few
/// thousand roundings of O(1) values, far below a step's change (the learning rate).
inline double rounding_tolerance() { return 5000 * double(std::numeric_limits<Scalar>::epsilon()); }

/// The largest difference between two stores' params (the same names), or infinity when
/// their names or shapes differ.
inline double max_param_difference(const ParamStore& a, const ParamStore& b) {
  if (a.names() != b.names()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (const auto& [name, e] : a.entries()) {
    const Matrix x = e.unconstrained.matrix(), z = b.entry(name).unconstrained.matrix();
    if (x.rows() != z.rows() || x.cols() != z.cols())
      return std::numeric_limits<double>::infinity();
    worst = std::max(worst, double((x - z).cwiseAbs().maxCoeff()));
  }
  return worst;
}

}  // namespace vesta::testing
