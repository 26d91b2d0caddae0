// The effect-handler engine, mirroring Pyro's handler tests: what each handler does to a
// site, and the algebra between them (trace of trace, trace with condition and replay) on
// every model of the example registry.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/models.hpp"

using namespace vesta;
using Catch::Matchers::Contains;
using vesta::testing::example_models;

namespace {

Trace run_traced(const std::function<void()>& model) {
  auto tr = trace();
  model();
  return tr.take_trace();
}

// Two traces agree: same sites in the same order, same kinds, observed flags, values,
// scales and log-probabilities.
void require_same(const Trace& a, const Trace& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Site& sa = a.sites()[i];
    const Site& sb = b.sites()[i];
    INFO("site " << sa.name);
    CHECK(sa.name == sb.name);
    CHECK(sa.kind == sb.kind);
    CHECK(sa.observed == sb.observed);
    CHECK(sa.scale == sb.scale);
    if (!sa.value.empty() || !sb.value.empty()) CHECK(sa.value.matrix() == sb.value.matrix());
    if (sa.is_sample()) CHECK(a.scaled_log_prob_sum(sa).item() == b.scaled_log_prob_sum(sb).item());
    if (sa.kind == SiteKind::plate) CHECK(sa.extras().indices == sb.extras().indices);
  }
}

struct FreshState {
  FreshState() {
    param_store().clear();
    tape().reset();
  }
  ~FreshState() {
    param_store().clear();
    tape().reset();
  }
};

}  // namespace

TEST_CASE("with no handler, sample draws or returns the observation", "[core][handlers]") {
  FreshState fresh;
  REQUIRE(handler_stack().empty());
  set_rng_seed(3);
  const Tensor a = sample("a", Normal(0, 1));
  set_rng_seed(3);
  const Tensor b = sample("a", Normal(0, 1));
  CHECK(a.item() == b.item());  // a plain draw from the thread's generator
  CHECK(sample("x", Normal(0, 1), Tensor(Scalar(2.5))).item() == 2.5);
  // A reparameterised draw carries the gradient.
  const Tensor loc = Tensor::variable(Matrix::Constant(1, 1, 0.5));
  sample("z", Normal(loc, 2)).backward();
  CHECK(loc.grad()(0, 0) == 1);
}

TEST_CASE("trace records sites in order with values and log-probabilities", "[core][handlers]") {
  FreshState fresh;
  const Trace t = run_traced(example_models()[0].run);
  REQUIRE(t.size() == 3);
  CHECK(t.sites()[0].name == "z");
  CHECK(t.sites()[1].kind == SiteKind::plate);
  CHECK(t["x"].observed);
  CHECK_FALSE(t["z"].observed);
  CHECK(t.stochastic_nodes() == std::vector<std::string>{"z"});
  CHECK(t.observation_nodes() == std::vector<std::string>{"x"});
  // log_prob_sum is the log-joint: log N(z; 0, 1) + sum_i log N(x_i; z, 1).
  const double z = t["z"].value.item();
  const Matrix x = t["x"].value.matrix();
  double expected = -0.5 * z * z - 0.5 * std::log(2 * M_PI);
  for (Index i = 0; i < 5; ++i)
    expected += -0.5 * std::pow(x(i, 0) - z, 2) - 0.5 * std::log(2 * M_PI);
  CHECK(t.log_prob_sum().item() == Approx(expected));
  CHECK(t.log_prob("x").rows() == 5);
  // The table names every site.
  const std::string table = t.format();
  CHECK_THAT(table,
             Contains("z") && Contains("data") && Contains("Normal(5x1)") && Contains("5 of 5"));
}

TEST_CASE("duplicate sample site names are an error naming the site", "[core][handlers]") {
  FreshState fresh;
  auto model = [] {
    sample("z", Normal(0, 1));
    sample("z", Normal(0, 1));
  };
  CHECK_THROWS_WITH(run_traced(model), Contains("'z'") && Contains("unique"));
  REQUIRE(handler_stack().empty());
}

TEST_CASE("replay reuses the values of a recorded trace", "[core][handlers]") {
  FreshState fresh;
  for (const auto& m : example_models()) {
    INFO(m.name);
    const Trace guide_trace = run_traced(m.run);
    Trace replayed;
    {
      auto r = replay(guide_trace);
      replayed = run_traced(m.run);
    }
    for (const std::string& name : guide_trace.stochastic_nodes()) {
      CHECK(replayed[name].value.matrix() == guide_trace[name].value.matrix());
    }
  }
}

TEST_CASE("condition turns sample sites into observations", "[core][handlers]") {
  FreshState fresh;
  auto conditioned = condition(example_models()[1].run, {{"mu", Tensor(Scalar(4))}});
  const Trace t = trace(conditioned).get_trace();
  CHECK(t["mu"].observed);
  CHECK(t["mu"].value.item() == 4);
  CHECK_FALSE(t["z"].observed);
  CHECK(t.stochastic_nodes() == std::vector<std::string>{"z"});
  // The observed value enters the log-joint: log N(4; 0, 10).
  CHECK(sum(t.log_prob("mu")).item() ==
        Approx(-0.5 * 0.16 - std::log(10.0) - 0.5 * std::log(2 * M_PI)));
}

TEST_CASE("substitute fixes parameter values without touching the store", "[core][handlers]") {
  FreshState fresh;
  Trace t;
  {
    auto s = substitute({{"test.loc", Tensor(Scalar(7))}});
    t = run_traced(example_models()[3].run);
  }
  CHECK(t["test.loc"].value.item() == 7);
  CHECK_FALSE(param_store().contains("test.loc"));
  CHECK(param_store().contains("test.scale"));
}

TEST_CASE("block hides sites from outer handlers, not from inner ones", "[core][handlers]") {
  FreshState fresh;
  auto model = [] {
    sample("a", Normal(0, 1));
    sample("b", Normal(0, 1));
  };
  auto outer = trace();
  Trace inner_trace;
  {
    auto b = block_hide({"a"});
    auto inner = trace();
    model();
    inner_trace = inner.get_trace();
  }
  CHECK(inner_trace.contains("a"));
  CHECK(inner_trace.contains("b"));
  CHECK_FALSE(outer.get_trace().contains("a"));
  CHECK(outer.get_trace().contains("b"));
  {
    auto b = block();  // hides everything
    model();
  }
  {
    auto b = block_expose({"a"});
    sample("c", Normal(0, 1));
    sample("d", Normal(0, 1));
  }
  CHECK_FALSE(outer.get_trace().contains("c"));
  CHECK_FALSE(outer.get_trace().contains("d"));
  CHECK(outer.get_trace().size() == 1);
}

TEST_CASE("scale multiplies log_prob and mask zeroes it", "[core][handlers]") {
  FreshState fresh;
  const Trace plain = trace(seed(example_models()[0].run, 5)).get_trace();
  const double full = plain.log_prob_sum().item();
  {
    auto s = scale(2.5);
    const Trace scaled = trace(seed(example_models()[0].run, 5)).get_trace();
    CHECK(scaled.log_prob_sum().item() == Approx(2.5 * full));
  }
  {
    auto s1 = scale(2);
    auto s2 = scale(3);  // nested scales multiply
    const Trace scaled = trace(seed(example_models()[0].run, 5)).get_trace();
    CHECK(scaled.log_prob_sum().item() == Approx(6 * full));
  }
  {
    auto m = mask(false);
    CHECK(trace(seed(example_models()[0].run, 5)).get_trace().log_prob_sum().item() == 0);
  }
  // A mask inside the data plate keeps some observations; -inf at a masked entry counts 0.
  Matrix keep(5, 1);
  keep << 1, 0, 1, 0, 0;
  Matrix x(5, 1);
  x << 0.3, -1.2, 0.8, 2.1, 0.5;
  auto masked_model = [&](bool use_mask) {
    const Tensor z = sample("z", Normal(0, 1));
    auto p = plate("data", 5);
    auto m = mask(use_mask ? Tensor(keep) : Tensor(Scalar(1)));
    sample("x", Normal(z, 1), Tensor(x));
  };
  const Trace unmasked = trace(seed(masked_model, 5)).get_trace(false);
  const Trace masked = trace(seed(masked_model, 5)).get_trace(true);
  const Tensor lp_x = unmasked.log_prob("x");
  const double kept = unmasked.log_prob("z").item() + lp_x(0, 0) + lp_x(2, 0);
  CHECK(masked.log_prob_sum().item() == Approx(kept));
  // A mask larger than the site's log_prob would count entries twice: an error.
  auto misplaced = [&] {
    auto m = mask(Tensor(keep));
    sample("z", Normal(0, 1));
  };
  CHECK_THROWS_WITH(trace(misplaced).get_trace().log_prob_sum(),
                    Contains("'z'") && Contains("5x1") && Contains("1x1"));
  CHECK_THROWS_WITH(scale(-1), Contains("positive") && Contains("mask"));
  CHECK_THROWS_AS(scale(0), ValueError);
}

TEST_CASE("seed makes a model reproducible and independent of unrelated draws",
          "[core][handlers]") {
  FreshState fresh;
  auto model = example_models()[1].run;
  const Trace a = trace(seed(model, 11)).get_trace();
  const Trace b = trace(seed(model, 11)).get_trace();
  require_same(a, b);
  const Trace c = trace(seed(model, 12)).get_trace();
  CHECK(c["mu"].value.item() != a["mu"].value.item());

  // Extra draws, inside the seeded scope or from the thread's generator, change nothing.
  auto with_extra = [&] {
    sample("unrelated", Normal(0, 1));
    thread_rng().normal(10, 10);
    model();
  };
  const Trace d = trace(seed(with_extra, 11)).get_trace();
  for (const char* name : {"mu", "z"}) {
    CHECK(d[name].value.matrix() == a[name].value.matrix());
  }
  // Within one seeded scope, a repeated run of the model draws anew.
  auto s = seed(11);
  const Trace first = run_traced(model);
  const Trace second = run_traced(model);
  CHECK(first["mu"].value.item() == a["mu"].value.item());
  CHECK(second["mu"].value.item() != first["mu"].value.item());
}

TEST_CASE("handler algebra on every example model", "[core][handlers]") {
  for (const auto& m : example_models()) {
    FreshState fresh;
    INFO("model " << m.name);
    const Trace reference = trace(seed(m.run, 7)).get_trace();

    // trace of trace equals trace.
    {
      auto s = seed(7);
      auto outer = trace();
      auto inner = trace();
      m.run();
      require_same(outer.get_trace(), inner.get_trace());
      require_same(outer.get_trace(), reference);
    }

    // trace commutes with condition.
    ValueMap data;
    for (const std::string& name : reference.stochastic_nodes()) data[name] = reference[name].value;
    Trace trace_outside, trace_inside;
    {
      auto s = seed(8);
      auto tr = trace();
      auto c = condition(data);
      m.run();
      trace_outside = tr.get_trace();
    }
    {
      auto s = seed(8);
      auto c = condition(data);
      auto tr = trace();
      m.run();
      trace_inside = tr.get_trace();
    }
    require_same(trace_outside, trace_inside);
    for (const std::string& name : reference.stochastic_nodes()) CHECK(trace_inside[name].observed);

    // trace commutes with replay, and replaying the reference reproduces it.
    Trace replay_outside, replay_inside;
    {
      auto s = seed(9);
      auto tr = trace();
      auto r = replay(reference);
      m.run();
      replay_outside = tr.get_trace();
    }
    {
      auto s = seed(9);
      auto r = replay(reference);
      auto tr = trace();
      m.run();
      replay_inside = tr.get_trace();
    }
    require_same(replay_outside, replay_inside);
    require_same(replay_inside, reference);
  }
}

TEST_CASE("the handler stack is restored after an exception inside a model", "[core][handlers]") {
  FreshState fresh;
  auto failing = [] {
    auto p = plate("data", 3);
    sample("z", Normal(0, 1));
    throw std::runtime_error("model failed");
  };
  {
    auto tr = trace();
    auto s = seed(1);
    CHECK_THROWS_WITH(condition(failing, {})(), "model failed");
    CHECK(handler_stack().size() == 2);
  }
  CHECK(handler_stack().empty());
  CHECK_THROWS_AS(trace(seed(failing, 3)).get_trace(), std::runtime_error);
  CHECK(handler_stack().empty());
}

TEST_CASE("factor adds to the log-joint and deterministic records a value", "[core][handlers]") {
  FreshState fresh;
  const Trace t = trace(seed(example_models()[4].run, 2)).get_trace();
  const double z = t["z"].value.item();
  CHECK(t["z_squared"].kind == SiteKind::deterministic);
  CHECK(t["z_squared"].value.item() == Approx(z * z));
  CHECK(t.log_prob_sum().item() == Approx(-0.5 * z * z - 0.5 * std::log(2 * M_PI) - 0.5 * z * z));
}

TEST_CASE("inside a plate a factor scores each entry and a global_factor counts once",
          "[core][handlers]") {
  FreshState fresh;
  auto model = [](Index subsample) {
    auto p = plate("data", 8, subsample);
    global_factor("once", Tensor(Matrix::Constant(2, 1, -1.5)));  // summed: one term of -3
    factor("each", Tensor(Matrix::Constant(subsample, 1, -1)));
  };
  const Trace full = trace(model).get_trace(Index(8));
  CHECK(full.log_prob("once").rows() == 1);
  CHECK(full.scaled_log_prob_sum(full["once"]).item() == Approx(-3));
  CHECK(full.scaled_log_prob_sum(full["each"]).item() == Approx(-8));
  // Subsampled 2 of 8: the per-entry term takes the plate's scale 8 / 2 (the unbiased
  // full-data estimate); the global term still counts once.
  const Trace sub = trace(model).get_trace(Index(2));
  CHECK(term_scale(sub["once"]) == 1);
  CHECK(sub.scaled_log_prob_sum(sub["once"]).item() == Approx(-3));
  CHECK(term_scale(sub["each"]) == Approx(4));
  CHECK(sub.scaled_log_prob_sum(sub["each"]).item() == Approx(-8));
  // A per-entry mask leaves the global term alone; a scale handler and a 1x1 mask reach it.
  Trace masked, annealed, dropped;
  {
    auto m = mask(Tensor((Matrix(8, 1) << 1, 0, 1, 0, 1, 0, 1, 0).finished()));
    masked = trace(model).get_trace(Index(8));
  }
  {
    auto s = scale(0.5);
    annealed = trace(model).get_trace(Index(8));
  }
  {
    auto m = mask(false);
    dropped = trace(model).get_trace(Index(8));
  }
  CHECK(masked.scaled_log_prob_sum(masked["once"]).item() == Approx(-3));
  CHECK(masked.scaled_log_prob_sum(masked["each"]).item() == Approx(-4));
  CHECK(annealed.scaled_log_prob_sum(annealed["once"]).item() == Approx(-1.5));
  CHECK(dropped.log_prob_sum().item() == 0);
  // A 1x1 factor inside a plate of several entries would count once per entry: an error
  // that points to global_factor.
  CHECK_THROWS_WITH(trace([] {
                      auto p = plate("data", 8);
                      factor("kl", Tensor(Scalar(-3)));
                    }).get_trace(),
                    Contains("'kl'") && Contains("'data'") && Contains("global_factor"));
  // In a plate whose subsample is one entry, a 1x1 factor is that entry's term.
  const Trace one = trace(model).get_trace(Index(1));
  CHECK(one.scaled_log_prob_sum(one["each"]).item() == Approx(-8));
}

TEST_CASE("plate broadcasts, scales by size over subsample size, and returns its indices",
          "[core][handlers]") {
  FreshState fresh;
  auto s = seed(4);
  auto tr = trace();
  {
    auto p = plate("data", 100, 10);
    CHECK(p.indices().size() == 10);
    std::vector<Index> sorted = p.indices();
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());  // distinct
    CHECK(sorted.front() >= 0);
    CHECK(sorted.back() < 100);
    sample("z", Normal(0, 1));  // broadcast to 10 rows
  }
  const Site& z = tr.get_trace()["z"];
  CHECK(z.value.rows() == 10);
  CHECK(z.scale == 1);  // the scale handlers' product; the plate's factor comes from its frame
  CHECK(term_scale(z) == Approx(10.0));
  REQUIRE(z.frames.size() == 1);
  CHECK(z.frames[0].dim == PlateDim::rows);
  // Nested plates index rows, then columns.
  {
    auto rows = plate("r", 3);
    auto cols = plate("c", 4);
    CHECK(cols.dim() == PlateDim::cols);
    const Tensor w = sample("w", Normal(0, 1));
    CHECK(w.rows() == 3);
    CHECK(w.cols() == 4);
  }
  // The callable form.
  const Index n = plate(
      "call", 50, 5, [](const std::vector<Index>& idx) { return static_cast<Index>(idx.size()); });
  CHECK(n == 5);
}

TEST_CASE("a plate given its subsample uses those entries and scales by size over their count",
          "[core][handlers]") {
  FreshState fresh;
  auto tr = trace();
  {
    auto p = plate("data", 100, std::vector<Index>{7, 3, 99});
    CHECK(p.indices() == std::vector<Index>{7, 3, 99});
    CHECK(p.subsample_size() == 3);
    sample("z", Normal(0, 1));
  }
  CHECK(term_scale(tr.get_trace()["z"]) == Approx(100.0 / 3));
  CHECK(tr.get_trace()["data"].extras().indices == std::vector<Index>{7, 3, 99});
  CHECK_THROWS_WITH(plate("data", 10, std::vector<Index>{2, 10}),
                    Contains("'data'") && Contains("subsample[1] is 10"));
  CHECK_THROWS_WITH(plate("data", 10, std::vector<Index>{}), Contains("'data'"));
}

TEST_CASE("a site whose batch shape does not fit its plate is an error naming both",
          "[core][handlers]") {
  FreshState fresh;
  auto model = [] {
    auto p = plate("data", 10);
    sample("x", Normal(Tensor(Matrix::Zero(7, 1)), 1));
  };
  CHECK_THROWS_AS(model(), ShapeError);
  CHECK_THROWS_WITH(model(),
                    Contains("'x'") && Contains("'data'") && Contains("7x1") && Contains("10"));
  auto observed = [] {
    auto p = plate("data", 10);
    sample("x", Normal(0, 1), Tensor(Matrix::Zero(4, 1)));
  };
  CHECK_THROWS_WITH(observed(), Contains("'x'") && Contains("'data'") && Contains("4x1"));
  CHECK(handler_stack().empty());
  CHECK_THROWS_WITH(plate("bad", 5, 6), Contains("'bad'"));
}

TEST_CASE("plate subsampling gives an unbiased estimate of the full-data log-likelihood",
          "[core][handlers]") {
  FreshState fresh;
  const Index N = 200, n = 20;
  Rng rng(99);
  const Matrix data = rng.normal(N, 1) * 2 + Matrix::Constant(N, 1, 1);
  auto model = [&](std::optional<Index> subsample) {
    auto p = plate("data", N, subsample);
    sample("x", Normal(0.5, 1.5), Tensor(gather_rows(Tensor(data), p.indices())));
  };
  const double full = trace(seed(model, 0)).get_trace(std::nullopt).log_prob_sum().item();
  // The mean of the subsampled (N/n-scaled) estimates, over many subsamples, is the full value.
  const int runs = 4000;
  double mean = 0, sq = 0;
  auto s = seed(1);
  for (int r = 0; r < runs; ++r) {
    const double est = trace(model).get_trace(n).log_prob_sum().item();
    mean += est;
    sq += est * est;
    tape().reset();
  }
  mean /= runs;
  const double sd = std::sqrt(sq / runs - mean * mean);
  const double se = sd / std::sqrt(double(runs));
  INFO("full " << full << ", mean of estimates " << mean << ", standard error " << se);
  CHECK(sd > 0);  // the estimates do vary
  CHECK(std::abs(mean - full) < 4 * se);
}

TEST_CASE("a trace of thousands of sites finds each by name and names a repeated one",
          "[core][handlers]") {
  constexpr int kSites = 3000;
  std::vector<std::string> names;
  for (int k = 0; k < kSites; ++k) names.push_back("z_" + std::to_string(k));
  auto model = [&] {
    for (const std::string& n : names) sample(n, Normal(0, 1));
  };
  Trace t("model");
  {
    TraceMessenger tr(t, "model");
    model();
  }
  REQUIRE(t.size() == kSites);
  int found = 0;
  for (int k = 0; k < kSites; ++k) {
    found += t.find(names[static_cast<std::size_t>(k)]) == &t.sites()[static_cast<std::size_t>(k)];
  }
  CHECK(found == kSites);
  // Out of the trace's order too (a lookup looks first a few places past the last one found).
  found = 0;
  for (int k = kSites - 1; k >= 0; k -= 7) {
    found += t.find(names[static_cast<std::size_t>(k)]) == &t.sites()[static_cast<std::size_t>(k)];
  }
  CHECK(found == (kSites + 6) / 7);
  CHECK(t.find("z_3000") == nullptr);
  CHECK_FALSE(t.contains("z"));
  // Recording into the same trace again starts it afresh.
  {
    TraceMessenger tr(t, "guide");
    sample("w", Normal(0, 1));
  }
  CHECK(t.size() == 1);
  CHECK(t.program() == "guide");
  CHECK(t.find("z_7") == nullptr);
  CHECK(t.contains("w"));
  auto repeated = [&] {
    model();
    sample("z_1717", Normal(0, 1));
  };
  CHECK_THROWS_WITH(trace(repeated).get_trace(), Contains("'z_1717'") && Contains("unique"));
  tape().reset();
}

TEST_CASE("a trace filled anew finds, and refuses, names as a trace made afresh would",
          "[core][handlers]") {
  // A trace filled again takes a site that repeats the earlier run's site in its slot without
  // a lookup: whatever order the runs make their sites in, lookups and repeated names must
  // come out as for a new trace.
  auto record = [](Trace& t, const std::vector<std::string>& names) {
    TraceMessenger tr(t, "model");
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string& n = names[i];
      // While the run goes on, the trace holds only what it has made so far.
      const auto made_so_far = names.begin() + std::ptrdiff_t(i);
      CHECK(t.contains(n) == (std::find(names.begin(), made_so_far, n) != made_so_far));
      if (n.rfind("p_", 0) == 0) {
        param(n, Matrix::Zero(1, 1));
      } else {
        sample(n, Normal(0, 1));
      }
    }
  };
  auto holds_exactly = [](const Trace& t, const std::vector<std::string>& names) {
    std::vector<std::string> in_order;
    for (const Site& s : t.sites()) in_order.push_back(s.name);
    bool found_all = true;
    for (std::size_t i = 0; i < t.size(); ++i) {
      found_all = found_all && t.find(in_order[i]) == &t.sites()[i];
    }
    return in_order == names && found_all;
  };
  const std::vector<std::vector<std::string>> runs = {
      {"a", "b", "c", "d"},  // first run
      {"a", "b", "c", "d"},  // the same sites again
      {"a", "c", "b", "d"},  // two swapped
      {"a", "c"},            // fewer: 'b' and 'd' are gone
      {"a", "c", "d", "b", "e"},
      {"x", "a", "c", "d", "b", "e"},  // a new first site shifts every other
  };
  Trace t;
  for (const auto& run : runs) {
    record(t, run);
    CHECK(holds_exactly(t, run));
    for (const char* gone : {"a", "b", "c", "d", "e", "x"}) {
      const bool in_run = std::find(run.begin(), run.end(), gone) != run.end();
      CHECK(t.contains(gone) == in_run);
    }
  }
  // A name repeated within a run is refused wherever the earlier run had it, also when it
  // repeats a site that the earlier run made later in its order.
  for (const std::vector<std::string>& repeated :
       {std::vector<std::string>{"a", "a"}, std::vector<std::string>{"x", "a", "c", "a"},
        std::vector<std::string>{"x", "b", "a", "b"}}) {
    record(t, {"x", "a", "c", "d", "b", "e"});
    CHECK_THROWS_WITH(record(t, repeated), Contains("unique"));
  }
  // A param met twice in a run is one site (its second use is the same param), run after run.
  for (int r = 0; r < 3; ++r) {
    record(t, {"p_loc", "a", "p_loc", "b"});
    CHECK(holds_exactly(t, {"p_loc", "a", "b"}));
  }
  // A copy indexes only the sites it holds.
  record(t, {"x", "a", "c", "d", "b", "e"});
  record(t, {"x", "a"});
  const Trace copy = t;
  CHECK(holds_exactly(copy, {"x", "a"}));
  CHECK_FALSE(copy.contains("c"));
  param_store().clear();
  tape().reset();
}

TEST_CASE("a trace filled anew holds only its own run's sites and what they refer to",
          "[core][handlers]") {
  // Each site's distribution is watched through a weak_ptr: a trace keeps it alive exactly as
  // long as it keeps the site.
  std::vector<std::weak_ptr<Distribution>> watched;
  auto site = [&](const std::string& name) {
    auto d = std::make_shared<Normal>(0, 1);
    watched.push_back(d);
    sample(name, DistributionPtr(std::move(d)));
  };
  auto alive = [&](std::size_t i) { return !watched[i].expired(); };
  Trace t;
  {
    TraceMessenger tr(t, "model");
    for (const char* n : {"a", "b", "c"}) site(n);
  }
  REQUIRE(t.size() == 3);
  CHECK((alive(0) && alive(1) && alive(2)));
  {
    TraceMessenger tr(t, "model");
    site("x");
    // 'x' took the place of 'a'; 'b' and 'c' wait for the run to end.
    CHECK_FALSE(alive(0));
    CHECK(t.size() == 1);
    CHECK(t.sites().size() == 1);
    CHECK_FALSE(t.contains("b"));
  }
  CHECK_FALSE(alive(1));
  CHECK_FALSE(alive(2));
  CHECK(alive(3));
  CHECK(t.site("x").dist.get() == watched[3].lock().get());
  // Copies and moves carry the sites only.
  const Trace copy = t;
  CHECK(copy.size() == 1);
  CHECK(copy.contains("x"));
  Trace moved = std::move(t);
  CHECK(moved.size() == 1);
  CHECK(t.size() == 0);  // NOLINT(bugprone-use-after-move): a moved-from trace is empty
  CHECK_FALSE(t.contains("x"));
  {
    TraceMessenger tr(t, "model");  // the moved-from trace records afresh
    site("y");
  }
  CHECK(t.size() == 1);
  CHECK(t.contains("y"));
  tape().reset();
}

namespace {
// Whether two records of a site agree in every member.
bool same_record(const Site& a, const Site& b) {
  auto same_tensor = [](const Tensor& x, const Tensor& y) {
    return x.rows() == y.rows() && x.cols() == y.cols() && (x.empty() || x.value() == y.value());
  };
  bool same_frames = a.frames.size() == b.frames.size();
  for (std::size_t i = 0; same_frames && i < a.frames.size(); ++i) {
    same_frames = a.frames[i].name == b.frames[i].name && a.frames[i].size == b.frames[i].size &&
                  a.frames[i].subsample_size == b.frames[i].subsample_size;
  }
  const SiteExtras &ax = a.extras(), &bx = b.extras();
  return a.kind == b.kind && a.name == b.name && a.fn == b.fn && a.dist == b.dist &&
         same_tensor(a.value, b.value) && a.observed == b.observed && a.auxiliary == b.auxiliary &&
         a.has_extras() == b.has_extras() && ax.rng.has_value() == bx.rng.has_value() &&
         (!ax.rng || ax.rng->state() == bx.rng->state()) && a.scale == b.scale &&
         same_tensor(ax.mask, bx.mask) && a.keep == b.keep && same_frames && a.param == b.param &&
         ax.plate_size == bx.plate_size && ax.subsample_size == bx.subsample_size &&
         ax.indices == bx.indices && a.enumerate == b.enumerate && a.enumerated == b.enumerated &&
         ax.markov_chain == bx.markov_chain && ax.markov_step == bx.markov_step &&
         a.stop == b.stop && a.log_prob.empty() == b.log_prob.empty();
}
}  // namespace

TEST_CASE("a trace filled anew records each site whole, whatever its place held before",
          "[core][handlers]") {
  // A reused trace copies each site over the earlier run's site in its place, leaving alone the
  // members both leave empty: a run of sites with plates, masks, seeds and markov chains and a
  // run of plain sites, of the same names, alternate, and each record must equal the record
  // a fresh trace makes of the same run.
  FreshState fresh;
  auto rich = [] {
    auto s = seed(3);
    auto p = plate("data", 10, 4);
    auto m = mask(Tensor(Matrix::Ones(4, 1)));
    auto sc = scale(2.0);
    for (const Index k : markov(1, "chain")) {
      (void)k;
      sample("z", Normal(0, 1));
    }
  };
  auto plain = [] {
    deterministic("data", Tensor(Scalar(1)));
    sample("z", Normal(0, 1), Tensor(Scalar(0.5)));
  };
  Trace reused;
  int agree = 0, runs = 0;
  for (const bool is_rich : {true, false, true, false}) {
    Trace made;
    {
      TraceMessenger outer(made, "model");
      TraceMessenger inner(reused, "model");
      is_rich ? rich() : plain();
    }
    ++runs;
    REQUIRE(reused.size() == made.size());
    bool all = true;
    for (std::size_t i = 0; i < made.size(); ++i) {
      all = all && same_record(reused.sites()[i], made.sites()[i]);
    }
    agree += all;
    // The earlier run's log_prob must not survive in the record.
    CHECK(reused.site("z").log_prob.empty());
    reused.compute_log_prob();
  }
  CHECK(agree == runs);
  tape().reset();
}

namespace {
// Calls a primitive of its own while another site is on its way: the two sites are sent at
// once, one inside the other.
class NestingHandler : public Messenger {
 public:
  void process(Site& site) override {
    if (site.name != "outer") return;
    inner_value = sample("inner", Normal(5, 1), Tensor(Scalar(5.5)));
    CHECK(site.name == "outer");  // the outer site is untouched by the inner one
  }
  Tensor inner_value;
};
}  // namespace

TEST_CASE("a primitive's site lets go of what it refers to when the primitive returns",
          "[core][handlers]") {
  // After each primitive, nothing it was given stays alive but through the handlers that
  // keep its site (a trace), also when the site threw; a site sent while another is on its
  // way is a site of its own.
  auto d = std::make_shared<Normal>(0, 1);
  const std::weak_ptr<Distribution> watched = d;
  {
    const TraceMessenger tr;  // a handler, so the site is sent
    sample("z", DistributionPtr(std::move(d)), Tensor(Scalar(0.5)));
    CHECK_FALSE(watched.expired());  // the trace keeps its site
  }
  CHECK(watched.expired());

  const TraceMessenger outer_trace;
  auto bad = std::make_shared<Normal>(0, 1);
  const std::weak_ptr<Distribution> watched_bad = bad;
  sample("w", Normal(0, 1), Tensor(Scalar(0.5)));
  // A second 'w' is refused by the trace, on the site's way back.
  CHECK_THROWS_WITH(sample("w", DistributionPtr(std::move(bad)), Tensor(Scalar(0.5))),
                    Contains("unique"));
  CHECK(watched_bad.expired());  // the failed site kept nothing

  NestingHandler nesting;
  const Tensor outer = sample("outer", Normal(0, 1), Tensor(Scalar(0.25)));
  CHECK(outer.item() == 0.25);
  CHECK(nesting.inner_value.item() == 5.5);
  const Trace& t = outer_trace.get_trace();
  REQUIRE(t.contains("inner"));
  REQUIRE(t.contains("outer"));
  CHECK(t.site("inner").value.item() == 5.5);
  CHECK(t.site("outer").value.item() == 0.25);
  CHECK(t.site("inner").dist->describe() != "");
  // Sites after the nesting start clean: no frames, scale or observation carried over.
  const Tensor after = sample("after", Normal(0, 1));
  CHECK(t.site("after").observed == false);
  CHECK(t.site("after").frames.empty());
  CHECK(t.site("after").scale == 1);
  CHECK(std::isfinite(after.item()));
  tape().reset();
}
