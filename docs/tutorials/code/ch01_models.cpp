// Chapter 1: models as functions. A model is an ordinary C++ function that calls sample,
// param and plate; a trace records what one run of it did.
#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::Output;
using vesta::tutorial::report;

namespace {

// [snippet model]
// How heavy is the parcel? Its mass has a prior belief, and each reading of a kitchen scale
// is the mass plus noise; the readings are independent given the mass (the plate).
Tensor model(const Matrix& readings) {
  const Tensor mass = sample("mass", Normal(8.5, 1.0));  // a latent variable, in kg
  auto data = plate("data", readings.rows());            // one entry per reading
  sample("reading", Normal(mass, 0.75), readings);       // observed
  return mass;
}
// [end]

// [snippet data]
Matrix scale_readings() {
  Matrix readings(4, 1);  // one reading per row
  readings << 9.4, 8.9, 9.9, 9.2;
  return readings;
}
// [end]

// [snippet predict]
// With no readings at all the same kind of function simulates data: draws from the prior
// predictive distribution.
Tensor simulate(Index n) {
  const Tensor mass = sample("mass", Normal(8.5, 1.0));
  auto data = plate("data", n);
  return sample("reading", Normal(mass, 0.75));  // not observed: drawn, n x 1
}
// [end]

}  // namespace

int main() {
  const Matrix readings = scale_readings();

  // [snippet plain]
  set_rng_seed(1);
  const Tensor mass = model(readings);  // no handler active: sample just draws
  fmt::print("a draw of the mass from the prior: {:.3f} kg\n", mass.item());
  // [end]
  report("plain_mass", mass.item());

  // [snippet trace]
  const Trace t = trace(seed(model, 42)).get_trace(readings);
  fmt::print("{}", t.format());
  const double log_joint = t.log_prob_sum().item();  // log p(mass, readings) at this draw
  // [end]
  {
    Output out("trace");
    fmt::print("{}", t.format());
  }
  report("trace_mass", t["mass"].value.item());
  report("log_joint", log_joint);

  // [snippet read_trace]
  const Site& m = t["mass"];
  const Tensor lp_mass = t.log_prob("mass");         // log N(mass | 8.5, 1), 1x1
  const Tensor lp_readings = t.log_prob("reading");  // one log-density per reading, 4x1
  fmt::print("mass = {:.4f}, observed: {}\n", m.value.item(), m.observed);
  fmt::print("log p(mass) = {:.4f}, log p(readings | mass) = {:.4f}\n", lp_mass.item(),
             sum(lp_readings).item());
  // [end]
  report("lp_mass", lp_mass.item());
  report("lp_readings", sum(lp_readings).item());
  report("reading_rows", static_cast<double>(lp_readings.rows()));

  // [snippet simulate]
  set_rng_seed(7);
  const Tensor fake = simulate(1000);
  fmt::print("1000 simulated readings: mean {:.3f}, shape {}\n", mean(fake).item(), fake.shape());
  // [end]
  report("simulated_mean", mean(fake).item());
  tape().reset();

  // [snippet param]
  // A param is a named, learnable value kept in the ParamStore. The first call creates it
  // from its initial value; later calls return the stored one.
  const Tensor guess = param("guess", 9.0);
  const Tensor spread = param("spread", 0.5, constraints::positive());
  const Tensor again = param("guess", 123.0);  // init ignored: exists
  fmt::print("guess {:.2f} (again {:.2f}), spread {:.2f}; the store holds {} params\n",
             guess.item(), again.item(), spread.item(), param_store().names().size());
  // [end]
  report("guess_again", again.item());
  report("num_params", static_cast<double>(param_store().names().size()));
  tape().reset();
  return 0;
}
