// Chapter 2: effect handlers. The same model, run under handlers that give its sample
// statements other meanings; and a handler of our own.
#include <cmath>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "tutorial.hpp"

using namespace vesta;
using vesta::tutorial::Output;
using vesta::tutorial::report;

namespace {

// The parcel model of Chapter 1.
Tensor model(const Matrix& readings) {
  const Tensor mass = sample("mass", Normal(8.5, 1.0));
  auto data = plate("data", readings.rows());
  sample("reading", Normal(mass, 0.75), readings);
  return mass;
}

// [snippet masked_model]
// A per-reading mask belongs inside the plate, where each site has one entry per reading.
Tensor masked_model(const Matrix& readings, const Matrix& keep) {
  const Tensor mass = sample("mass", Normal(8.5, 1.0));
  auto data = plate("data", readings.rows());
  auto use = mask(Tensor(keep));  // 0 drops a reading's term, 1 keeps it
  sample("reading", Normal(mass, 0.75), readings);
  return mass;
}
// [end]

// [snippet temper]
// Multiplies the log-likelihood of every observed site by beta (0 < beta <= 1), leaving the
// prior alone: a "tempered" or "power" posterior, used to make a model less sure of its data.
class TemperLikelihood : public Messenger {
 public:
  explicit TemperLikelihood(Scalar beta) : beta_(beta) {}

  void process(Site& site) override {
    if (site.is_sample() && site.observed) site.scale *= beta_;
  }

 private:
  Scalar beta_;
};
// [end]

// [snippet count]
// Counts the draws that reach it. It works in postprocess, when each site's value is final:
// a site that a handler inside it conditioned is observed by then, and is not counted.
class CountDraws : public Messenger {
 public:
  void postprocess(Site& site) override {
    if (site.is_sample() && !site.observed) ++draws;
  }
  int draws = 0;
};
// [end]

}  // namespace

int main() {
  Matrix readings(4, 1);
  readings << 9.4, 8.9, 9.9, 9.2;

  // [snippet condition]
  const auto conditioned = condition(model, {{"mass", Tensor(9.35)}});
  const Trace tc = trace(conditioned).get_trace(readings);
  fmt::print("{}", tc.format());
  // [end]
  {
    Output out("condition");
    fmt::print("{}", tc.format());
  }
  // [snippet by_hand]
  // The same log-joint by hand: log N(9.35 | 8.5, 1) + sum_i log N(reading_i | 9.35, 0.75).
  auto log_normal = [](double x, double mu, double sd) {
    return -0.5 * std::log(2 * M_PI) - std::log(sd) - 0.5 * (x - mu) * (x - mu) / (sd * sd);
  };
  double by_hand = log_normal(9.35, 8.5, 1.0);
  for (Index i = 0; i < readings.rows(); ++i) by_hand += log_normal(readings(i, 0), 9.35, 0.75);
  fmt::print("log p(mass = 9.35, readings): {:.4f} (trace), {:.4f} (by hand)\n",
             tc.log_prob_sum().item(), by_hand);
  // [end]
  report("conditioned_log_joint", tc.log_prob_sum().item());
  report("by_hand", by_hand);

  // [snippet seed]
  const double first = seed(model, 3)(readings).item();
  const double second = seed(model, 3)(readings).item();
  const double other = seed(model, 4)(readings).item();
  fmt::print("seed 3: {:.4f} and {:.4f}; seed 4: {:.4f}\n", first, second, other);
  // [end]
  report("seed3_first", first);
  report("seed3_second", second);
  report("seed4", other);

  // [snippet replay]
  // A "guide" proposes a value of the mass; replay makes the model use it.
  auto guide = [](const Matrix&) { sample("mass", Normal(9.3, 0.3)); };
  const Trace guide_trace = trace(seed(guide, 5)).get_trace(readings);
  const Trace replayed = trace(replay(model, guide_trace)).get_trace(readings);
  fmt::print("guide's mass {:.4f}, model's mass {:.4f}\n", guide_trace["mass"].value.item(),
             replayed["mass"].value.item());
  const double log_weight = replayed.log_prob_sum().item() - guide_trace.log_prob_sum().item();
  fmt::print("log p(mass, readings) - log q(mass) = {:.4f}\n", log_weight);
  // [end]
  report("replayed_mass", replayed["mass"].value.item());
  report("guide_mass", guide_trace["mass"].value.item());
  report("log_weight", log_weight);

  // [snippet block]
  Trace outer_trace;
  {
    auto outer = trace();
    auto hide = block_hide({"reading"});  // sites named "reading" stop here
    model(readings);
    outer_trace = outer.get_trace();
  }
  fmt::print("the outer trace has {} sites: {}\n", outer_trace.size(),
             fmt::join(outer_trace.stochastic_nodes(), ", "));
  // [end]
  report("blocked_sites", static_cast<double>(outer_trace.size()));

  // [snippet scale_mask]
  const double full = tc.log_prob_sum().item();
  const double doubled = trace(scale(conditioned, 2.0)).get_trace(readings).log_prob_sum().item();
  Matrix keep(4, 1);
  keep << 1, 1, 0, 1;  // drop the third reading (9.9 kg: suppose we distrust it)
  const double masked = trace(condition(masked_model, {{"mass", Tensor(9.35)}}))
                            .get_trace(readings, keep)
                            .log_prob_sum()
                            .item();
  fmt::print("log-joint {:.4f}; under scale(2) {:.4f}; third reading masked {:.4f}\n", full,
             doubled, masked);
  // [end]
  report("scaled", doubled);
  report("masked", masked);
  report("masked_by_hand", by_hand - log_normal(9.9, 9.35, 0.75));
  try {
    trace(mask(conditioned, Tensor(keep))).get_trace(readings).log_prob_sum();
  } catch (const ShapeError& e) {
    Output out("mask_error");
    fmt::print("{}\n", e.what());
  }

  // [snippet use_own]
  Trace tempered;
  {
    TemperLikelihood temper(0.5);  // RAII: active until the end of this scope
    tempered = trace(replay(model, guide_trace)).get_trace(readings);
  }
  const Tensor lp_mass = replayed.log_prob("mass"), lp_data = sum(replayed.log_prob("reading"));
  fmt::print("tempered log-joint {:.4f} = {:.4f} + 0.5 x ({:.4f})\n",
             tempered.log_prob_sum().item(), lp_mass.item(), lp_data.item());

  CountDraws counter;
  model(readings);        // mass is drawn
  conditioned(readings);  // mass is given: nothing drawn
  fmt::print("draws counted: {}\n", counter.draws);
  // [end]
  report("tempered", tempered.log_prob_sum().item());
  report("tempered_by_hand", lp_mass.item() + 0.5 * lp_data.item());
  report("draws_counted", counter.draws);
  tape().reset();
  return 0;
}
