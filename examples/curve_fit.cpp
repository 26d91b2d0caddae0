// Fitting a curve by gradient descent with vesta's autodiff.
//
// A small neural network f(x) = tanh(tanh(x W1 + b1) W2 + b2) W3 + b3 learns y = x sin(x)
// from 256 noisy samples. Each step builds the loss as a graph of matrix ops on the tape,
// calls backward() to get every parameter's gradient, updates the parameters in place
// (gradient descent with momentum), and resets the tape so memory stays flat.
//
// Run with no arguments; the last line printed is one JSON object of the results.
#include <chrono>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"

using namespace vesta;

namespace {

Matrix truth(const Matrix& x) { return (x.array() * x.array().sin()).matrix(); }

struct Layer {
  Tensor weight;
  Tensor bias;
};

// Glorot-style initialisation: weights with variance 1 / fan_in keep tanh units unsaturated.
Layer make_layer(Rng& rng, Index in, Index out) {
  return {Tensor::variable(rng.normal(in, out) / std::sqrt(Scalar(in))),
          Tensor::variable(Matrix::Zero(1, out))};
}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(
          argc, argv, "Fits a curve by gradient descent with vesta's autodiff.");
      status >= 0)
    return status;
  const Index n_train = 256;
  const Index hidden = 32;
  const int steps = 3000;
  const Scalar learning_rate = 0.01;
  const Scalar momentum = 0.9;
  const Scalar noise_sd = 0.3;

  Rng rng(2026);
  const Matrix x_train = (rng.uniform(n_train, 1).array() * 6 - 3).matrix();
  const Matrix y_train = truth(x_train) + noise_sd * rng.normal(n_train, 1);
  const Tensor X(x_train), Y(y_train);

  std::vector<Layer> layers = {make_layer(rng, 1, hidden), make_layer(rng, hidden, hidden),
                               make_layer(rng, hidden, 1)};
  auto predict = [&](const Tensor& x) {
    Tensor h = x;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      h = matmul(h, layers[l].weight) + layers[l].bias;  // the bias row broadcasts over rows
      if (l + 1 < layers.size()) h = tanh(h);
    }
    return h;
  };

  std::vector<Matrix> velocity;
  for (const Layer& layer : layers) {
    velocity.push_back(Matrix::Zero(layer.weight.rows(), layer.weight.cols()));
    velocity.push_back(Matrix::Zero(layer.bias.rows(), layer.bias.cols()));
  }

  fmt::print("fitting y = x sin(x) + N(0, {}^2) with a 1-{}-{}-1 tanh network, {} points\n",
             noise_sd, hidden, hidden, n_train);
  const auto start = std::chrono::steady_clock::now();
  double loss_value = 0;
  for (int step = 1; step <= steps; ++step) {
    const Tensor loss = mean(square(predict(X) - Y));
    loss.backward();
    loss_value = loss.item();

    std::size_t k = 0;
    for (const Layer& layer : layers) {
      for (const Tensor& p : {layer.weight, layer.bias}) {
        Matrix& v = velocity[k++];
        v = momentum * v - learning_rate * p.grad();
        p.leaf_values() += v;
        p.zero_grad();
      }
    }
    tape().reset();
    if (step == 1 || step % 500 == 0)
      fmt::print("step {:5d}  train mse {:.4f}\n", step, loss_value);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Held-out error against the noiseless curve on a grid over the training range.
  const Matrix x_test = Vector::LinSpaced(200, -3, 3);
  const Matrix fit = predict(Tensor(x_test)).matrix();
  const double test_rmse = std::sqrt((fit - truth(x_test)).squaredNorm() / 200.0);
  tape().reset();

  fmt::print(
      "test rmse against the true curve {:.4f} (noise sd {}); {:.2f} s, {:.1f} us per step\n",
      test_rmse, noise_sd, seconds, seconds / steps * 1e6);
  fmt::print(
      R"({{"example": "curve_fit", "train_mse": {:.5f}, "test_rmse": {:.5f}, "noise_sd": {}, "steps": {}, "seconds": {:.3f}, "us_per_step": {:.1f}}})"
      "\n",
      loss_value, test_rmse, noise_sd, steps, seconds, seconds / steps * 1e6);
}
