// Bayes by backprop (Blundell et al. 2015) on a 1-D regression, trained two ways.
//
// The network is 1 -> 32 (tanh) -> 1 of DenseReparameterization layers: every weight has a
// Normal posterior N(loc, softplus(rho)^2), sampled once per forward pass, under the
// scale-mixture prior 0.5 N(0, 1) + 0.5 N(0, e^-6) of the paper (MATLAB's
// bayesFullyConnectedLayer with Sigma1 = 1, Sigma2 = e^-6). The observation noise sd is a
// point-estimated parameter. The data: y = x sin(x) + N(0, 0.3^2) at 256 points of [-3, 3].
//
// 1. As in TensorFlow Probability or MATLAB: a hand-written loop. Each layer's losses() holds
//    its KL (here a one-sample Monte Carlo estimate, log q(w) - log p(w)); the loss per
//    example is the Gaussian NLL averaged over the data plus sum(losses) / N. Then
//    backward(), an Adam step, and a tape reset.
// 2. As in Pyro: the same network called inside a model, where each layer adds its KL to
//    the ELBO as a factor site; the guide is empty (the variational parameters are the
//    layers' own), and SVI minimises -ELBO, which is N times the loss above.
//
// Both are scored on 500 held-out points by 400 draws from the posterior predictive: the
// rmse of its mean, and how many held-out points fall inside its central 90% interval.
//
// Run with no arguments; the last line printed is one JSON object of the results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"

using namespace vesta;

namespace {

const Scalar kNoiseSd = 0.3;

Matrix truth(const Matrix& x) { return (x.array() * x.array().sin()).matrix(); }

std::pair<Matrix, Matrix> make_data(Index n, Rng& rng) {
  const Matrix x = (rng.uniform(n, 1).array() * 6 - 3).matrix();
  return {x, truth(x) + kNoiseSd * rng.normal(n, 1)};
}

// A Bayesian MLP as a Module: its layers are children ("<prefix>.fc1", "<prefix>.fc2"), and the
// noise sd is its own parameter "<prefix>.noise_sd".
class BayesianNet : public Module {
 public:
  explicit BayesianNet(const std::string& prefix, Index hidden = 32)
      : Module(prefix),
        fc1(child_prefix("fc1"), 1, hidden, {.prior = prior(), .activation = vesta::tanh}),
        fc2(child_prefix("fc2"), hidden, 1, {.prior = prior()}) {}

  /// One draw of the network's output for x.
  Tensor operator()(const Tensor& x) { return fc2(fc1(x)); }
  Tensor noise_sd() const { return param("noise_sd", 1.0, constraints::positive()); }
  /// Every layer's losses from the last forward pass, as TFP's model.losses.
  std::vector<Tensor> losses() const {
    std::vector<Tensor> all = fc1.losses();
    all.insert(all.end(), fc2.losses().begin(), fc2.losses().end());
    return all;
  }
  std::string type_name() const override { return "BayesianNet"; }

  DenseReparameterization fc1, fc2;

 private:
  static WeightPrior prior() {
    return ScaleMixturePrior{Scalar(0.5), Scalar(1), Scalar(std::exp(-6.0))};
  }
};

// The rmse of the posterior predictive mean and the coverage of its central 90% interval on
// (x, y), from `draws` forward passes (each a new weight sample) plus observation noise.
std::pair<double, double> evaluate(BayesianNet& net, const Matrix& x, const Matrix& y, int draws,
                                   Rng& rng) {
  const Index n = x.rows();
  Matrix samples(draws, n);
  const Scalar sd = net.noise_sd().item();
  for (int d = 0; d < draws; ++d) {
    const Matrix out = net(Tensor(x)).matrix();
    samples.row(d) = (out + sd * rng.normal(n, 1)).transpose();
    tape().reset();
  }
  double sq = 0;
  Index covered = 0;
  std::vector<Scalar> column(static_cast<std::size_t>(draws));
  for (Index i = 0; i < n; ++i) {
    sq += std::pow(samples.col(i).mean() - y(i, 0), 2);
    for (int d = 0; d < draws; ++d) column[static_cast<std::size_t>(d)] = samples(d, i);
    std::sort(column.begin(), column.end());
    const Scalar lo = column[static_cast<std::size_t>(0.05 * (draws - 1))];
    const Scalar hi = column[static_cast<std::size_t>(0.95 * (draws - 1))];
    covered += (y(i, 0) >= lo && y(i, 0) <= hi) ? 1 : 0;
  }
  return {std::sqrt(sq / double(n)), double(covered) / double(n)};
}

double median(Matrix m) {
  std::sort(m.data(), m.data() + m.size());
  return m.data()[m.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(
          argc, argv,
          "Bayes by backprop on a 1-D regression, trained by SVI and by a hand-written loop.");
      status >= 0)
    return status;
  const Index n_train = 256, n_test = 500;
  const int steps = 20000, draws = 400;
  const Scalar learning_rate = 0.01;
  // The learning rate falls tenfold over the run, so the noisy steps settle.
  const Scalar decay = std::pow(Scalar(0.1), Scalar(1) / Scalar(steps));
  Rng data_rng(2026);
  const auto [x_train, y_train] = make_data(n_train, data_rng);
  const auto [x_test, y_test] = make_data(n_test, data_rng);
  const Tensor X(x_train), Y(y_train);
  const Scalar N = Scalar(n_train);
  set_rng_seed(1);

  fmt::print(
      "Bayes by backprop: y = x sin(x) + N(0, {}^2), {} points; a 1-32-1 tanh network of "
      "DenseReparameterization layers\nwith the scale-mixture prior 0.5 N(0, 1) + 0.5 N(0, "
      "e^-6)\n\n",
      kNoiseSd, n_train);

  // ---- 1. the hand-written loop: loss = NLL + sum(losses) / N --------------------------------
  BayesianNet hand("hand");
  Adam adam(learning_rate);
  adam.set_schedule(schedules::exponential_decay(learning_rate, decay));
  fmt::print("hand-written loop (TFP / MATLAB style), {} steps of full-batch Adam\n", steps);
  auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= steps; ++step) {
    const Tensor out = hand(X);
    const Tensor nll = -mean(Normal(out, hand.noise_sd()).log_prob(Y));
    Tensor kl(Scalar(0));
    for (const Tensor& l : hand.losses()) kl = kl + l;
    const Tensor loss = nll + kl / N;
    loss.backward();
    adam.step();  // reads the gradients of every parameter in the ParamStore
    if (step == 1 || step % 4000 == 0) {
      fmt::print("  step {:5d}  loss {:8.4f}  (nll {:.4f}, kl/N {:.4f})\n", step, loss.item(),
                 nll.item(), kl.item() / N);
    }
    tape().reset();
  }
  const double hand_seconds = seconds_since(start);

  // ---- 2. the same network in a model, trained by SVI ----------------------------------------
  BayesianNet net("svi");
  auto model = [&net](const Matrix& x, const Matrix& y) {
    const Tensor out = net(Tensor(x));  // each layer adds its factor site "svi.fcK.kl"
    auto data = plate("data", x.rows());
    sample("y", Normal(out, net.noise_sd()), Tensor(y));
  };
  auto guide = [](const Matrix&, const Matrix&) {};  // the layers hold the variational posterior
  Adam svi_adam(learning_rate);
  svi_adam.set_schedule(schedules::exponential_decay(learning_rate, decay));
  SVI svi(model, guide, svi_adam);
  fmt::print(
      "\nSVI (Pyro style): the layers inside the model, their KLs as factor sites, {} steps\n",
      steps);
  start = std::chrono::steady_clock::now();
  const std::vector<double> losses = svi.run(steps, x_train, y_train);
  const double svi_seconds = seconds_since(start);
  for (int step = 1; step <= steps; ++step) {
    if (step == 1 || step % 4000 == 0) {
      fmt::print("  step {:5d}  -ELBO / N {:8.4f}\n", step, losses[std::size_t(step - 1)] / N);
    }
  }

  // ---- held-out scores ---------------------------------------------------------------------
  Rng eval_rng(7);
  const auto [hand_rmse, hand_coverage] = evaluate(hand, x_test, y_test, draws, eval_rng);
  const auto [svi_rmse, svi_coverage] = evaluate(net, x_test, y_test, draws, eval_rng);
  const double hand_noise = hand.noise_sd().item(), svi_noise = net.noise_sd().item();
  tape().reset();
  fmt::print("\nheld-out ({} points, {} posterior draws):\n", n_test, draws);
  fmt::print("{:<20} {:>8} {:>14} {:>10} {:>13}\n", "training", "rmse", "90% coverage", "noise sd",
             "us per step");
  fmt::print("{:<20} {:8.4f} {:13.1f}% {:10.4f} {:13.1f}\n", "hand-written loop", hand_rmse,
             100 * hand_coverage, hand_noise, hand_seconds / steps * 1e6);
  fmt::print("{:<20} {:8.4f} {:13.1f}% {:10.4f} {:13.1f}\n", "SVI", svi_rmse, 100 * svi_coverage,
             svi_noise, svi_seconds / steps * 1e6);
  fmt::print(
      "(the noise sd is {}: an rmse near it and a coverage near 90% are what a good fit gives)\n",
      kNoiseSd);
  fmt::print("median posterior scale of the first layer's weights: {:.4f} (hand), {:.4f} (SVI)\n",
             median(hand.fc1.kernel_scale()), median(net.fc1.kernel_scale()));

  fmt::print(
      R"({{"example": "bayes_by_backprop", "hand_rmse": {:.4f}, "hand_coverage_90": {:.3f}, "hand_noise_sd": {:.4f}, )"
      R"("svi_rmse": {:.4f}, "svi_coverage_90": {:.3f}, "svi_noise_sd": {:.4f}, "true_noise_sd": {}, "steps": {}, )"
      R"("hand_us_per_step": {:.1f}, "svi_us_per_step": {:.1f}}})"
      "\n",
      hand_rmse, hand_coverage, hand_noise, svi_rmse, svi_coverage, svi_noise, kNoiseSd, steps,
      hand_seconds / steps * 1e6, svi_seconds / steps * 1e6);
}
