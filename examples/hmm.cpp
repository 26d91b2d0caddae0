// A hidden Markov model with its states summed out by the forward algorithm.
//
// T = 1000 observations of a 3-state chain: z_0 ~ Categorical(init), z_t ~ Categorical(
// trans[z_{t-1}]), x_t ~ Normal(locs[z_t], scale). Each z_t is enumerated inside a markov
// context, so TraceEnum_ELBO sums the 3^1000 paths in O(T K^2); the transition matrix, the
// emission locs and the scale are learned by maximum likelihood (params of the model, an empty
// guide). The Viterbi path (infer_discrete at temperature 0) is then compared with the true
// states.
//
// Run with no arguments; prints, as its last line, one JSON object of the results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"

using namespace vesta;

namespace {

constexpr Index K = 3;

void model(const Matrix& x) {
  const Tensor init = param("init", Matrix::Constant(1, K, 1.0 / K), constraints::simplex());
  // Rows of the transition matrix start sticky, as most chains in practice are.
  const Matrix trans0 = Matrix::Constant(K, K, 0.1) + 0.7 * Matrix::Identity(K, K);
  const Tensor trans = param("trans", trans0, constraints::simplex());
  const Tensor locs = param("locs", Matrix{{-1.0}, {0.5}, {2.0}});
  const Tensor scale = param("scale", 1.0, constraints::positive());
  Tensor z;
  for (Index t : markov(x.rows(), "hmm")) {
    const Tensor probs = t == 0 ? init : take_rows(trans, z);
    z = sample(fmt::format("z_{}", t), Categorical::from_probs(probs), Infer{.enumerate = true});
    sample(fmt::format("x_{}", t), Normal(take(locs, z), scale), Tensor(x(t, 0)));
  }
}

void guide(const Matrix&) {}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(
          argc, argv,
          "A 3-state HMM on 1000 observations: states enumerated (forward algorithm), "
          "transitions and emissions learned, then the Viterbi path.");
      status >= 0)
    return status;
  const Index T = 1000;
  Matrix true_trans(K, K);
  true_trans << 0.90, 0.07, 0.03, 0.05, 0.90, 0.05, 0.04, 0.06, 0.90;
  const double true_locs[K] = {-2, 0.5, 3}, true_scale = 0.7;
  Rng data_rng(11);
  Matrix x(T, 1);
  std::vector<Index> states(static_cast<std::size_t>(T));
  Index s = 0;
  for (Index t = 0; t < T; ++t) {
    if (t > 0) {
      const double u = data_rng.uniform();
      double c = 0;
      Index next = K - 1;
      for (Index k = 0; k < K; ++k) {
        c += true_trans(s, k);
        if (u < c) {
          next = k;
          break;
        }
      }
      s = next;
    }
    states[static_cast<std::size_t>(t)] = s;
    x(t, 0) = true_locs[s] + true_scale * data_rng.normal();
  }

  Adam adam(0.05);
  SVI svi(model, guide, adam, TraceEnum_ELBO());
  const int steps = 300;
  fmt::print("learning a {}-state HMM on T = {} observations, the states enumerated\n", K, T);
  const auto start = std::chrono::steady_clock::now();
  double loss = 0;
  for (int block = 0; block < steps / 50; ++block) {
    loss = svi.run(50, x).back();
    fmt::print("step {:4d}  loss {:.3f}\n", (block + 1) * 50, loss);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const Matrix trans = param("trans").matrix(), locs = param("locs").matrix();
  const double scale = param("scale").item();
  tape().reset();
  // States in the order of their locs, as the truth's are.
  std::vector<Index> order(K);
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return locs(a, 0) < locs(b, 0); });
  std::vector<Index> rank(K);
  for (Index k = 0; k < K; ++k) rank[static_cast<std::size_t>(order[std::size_t(k)])] = k;
  double max_trans_err = 0, max_loc_err = 0;
  fmt::print("state   loc (true)       transition row (true)\n");
  for (Index k = 0; k < K; ++k) {
    const Index i = order[static_cast<std::size_t>(k)];
    std::string row, true_row;
    for (Index m = 0; m < K; ++m) {
      const Index j = order[static_cast<std::size_t>(m)];
      row += fmt::format(" {:.3f}", trans(i, j));
      true_row += fmt::format(" {:.3f}", true_trans(k, m));
      max_trans_err = std::max(max_trans_err, double(std::abs(trans(i, j) - true_trans(k, m))));
    }
    max_loc_err = std::max(max_loc_err, std::abs(double(locs(i, 0)) - true_locs[k]));
    fmt::print("{:5d}   {:6.3f} ({:5.2f})  {} ({})\n", k, locs(i, 0), true_locs[k], row, true_row);
  }
  fmt::print("scale {:.3f} (true {:.3f})\n", scale, true_scale);

  Rng rng(5);
  const Trace viterbi_run = infer_discrete(model, guide, 0, rng, x);
  Index correct = 0;
  for (Index t = 0; t < T; ++t) {
    const auto z = static_cast<Index>(viterbi_run[fmt::format("z_{}", t)].value.item());
    correct += rank[static_cast<std::size_t>(z)] == states[static_cast<std::size_t>(t)];
  }
  tape().reset();
  const double accuracy = double(correct) / double(T);
  fmt::print("Viterbi path accuracy: {:.3f}\n", accuracy);
  fmt::print("{} steps in {:.2f} s, {:.1f} us per step ({:.2f} us per time step)\n", steps, seconds,
             seconds / steps * 1e6, seconds / steps / double(T) * 1e6);
  fmt::print(
      R"({{"example": "hmm", "T": {}, "states": {}, "locs": [{:.4f}, {:.4f}, {:.4f}], "scale": {:.4f}, "max_loc_error": {:.4f}, )"
      R"("max_transition_error": {:.4f}, "viterbi_accuracy": {:.4f}, "final_loss": {:.3f}, "steps": {}, "us_per_step": {:.1f}}})"
      "\n",
      T, K, locs(order[0], 0), locs(order[1], 0), locs(order[2], 0), scale, max_loc_err,
      max_trans_err, accuracy, loss, steps, seconds / steps * 1e6);
}
