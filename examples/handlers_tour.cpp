// A tour of the effect handlers: one small model, run plainly and then under the handlers
// that give it its other meanings.
//
// The model: a coin-like "skill" z ~ Normal(0, 1), and five scores x_i ~ Normal(z, 0.5)
// observed inside a plate (independent given z). A model is an ordinary function; it never
// says whether it is being sampled, recorded, conditioned or replayed: handlers decide.
//
// Run with no arguments; the last line printed is one JSON object of the figures.
#include <cmath>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "support/command_line.hpp"

using namespace vesta;

namespace {

Matrix scores() {
  Matrix x(5, 1);
  x << 1.1, 0.4, 1.8, 0.9, 1.3;
  return x;
}

Tensor model(const Matrix& x) {
  const Tensor z = sample("z", Normal(0, 1));
  auto data = plate("data", x.rows());  // sites inside are independent along rows
  sample("x", Normal(z, 0.5), Tensor(x));
  return z;
}

}  // namespace

int main(int argc, char** argv) {
  if (const int status = vesta::examples::no_options(
          argc, argv, "A tour of the effect handlers on one small model.");
      status >= 0)
    return status;
  const Matrix x = scores();

  // 1. Plainly: with no handler active, sample() just draws and returns the observation.
  set_rng_seed(1);
  const double plain_z = model(x).item();
  fmt::print("1. run plainly: z = {:.4f} (a draw from the prior)\n\n", plain_z);

  // 2. trace records every site the model reaches, in order, with its value and (on demand)
  //    its log-probability. A guide-free view of what the model did.
  const Trace prior_trace = trace(seed(model, 42)).get_trace(x);
  fmt::print("2. under trace (and seed, so the draw is reproducible):\n{}", prior_trace.format());
  const double log_joint = prior_trace.log_prob_sum().item();
  fmt::print("   log p(z, x) = {:.4f}\n\n", log_joint);

  // 3. condition turns a latent site into an observation: z is no longer drawn, it is
  //    fixed, and its log-probability is scored like data.
  const Trace conditioned = trace(condition(model, {{"z", Tensor(Scalar(1.0))}})).get_trace(x);
  fmt::print("3. under condition(z = 1):\n{}", conditioned.format());
  const double log_joint_at_1 = conditioned.log_prob_sum().item();
  fmt::print("   log p(z = 1, x) = {:.4f}\n\n", log_joint_at_1);

  // 4. replay runs the model again, reusing the values another trace recorded: this is how
  //    SVI scores the model at the guide's draws.
  auto guide = [](const Matrix&) { sample("z", Normal(1.0, 0.2)); };
  const Trace guide_trace = trace(seed(guide, 7)).get_trace(x);
  const Trace replayed = trace(replay(model, guide_trace)).get_trace(x);
  fmt::print("4. under replay of a guide's trace (z from Normal(1, 0.2)):\n{}", replayed.format());
  const double guide_z = guide_trace["z"].value.item();
  fmt::print("   the model's z is the guide's: {:.4f} == {:.4f}\n", replayed["z"].value.item(),
             guide_z);
  // The ELBO's integrand at this draw: log p(z, x) - log q(z).
  const double elbo_term = replayed.log_prob_sum().item() - guide_trace.log_prob_sum().item();
  fmt::print("   log p(z, x) - log q(z) = {:.4f}\n\n", elbo_term);

  // 5. block hides sites from the handlers outside it; scale reweights log-probabilities
  //    (plate subsampling uses it to count a minibatch N/n times).
  Trace blocked;
  {
    auto outer = trace();
    {
      auto hide = block_hide({"x"});
      model(x);
    }
    blocked = outer.get_trace();
  }
  fmt::print("5. under block_hide(x), the outer trace sees: {}\n",
             fmt::join(blocked.stochastic_nodes(), ", "));
  const double scaled = trace(scale(condition(model, {{"z", Tensor(Scalar(1.0))}}), 2.0))
                            .get_trace(x)
                            .log_prob_sum()
                            .item();
  fmt::print("   under scale(2), log p(z = 1, x) doubles: {:.4f} = 2 x {:.4f}\n\n", scaled,
             log_joint_at_1);
  tape().reset();

  fmt::print(
      R"({{"example": "handlers_tour", "plain_z": {:.6f}, "log_joint": {:.6f}, "log_joint_at_z1": {:.6f}, "replayed_z": {:.6f}, "elbo_term": {:.6f}, "scaled_log_joint_at_z1": {:.6f}, "outer_trace_sites_when_blocked": {}}})"
      "\n",
      plain_z, log_joint, log_joint_at_1, guide_z, elbo_term, scaled, blocked.size());
}
