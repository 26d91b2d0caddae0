// Soak: long training runs in steady memory and at a steady speed. Runs 10^6 SVI steps of the
// smallest model (z ~ N(0, 1), ten x_i ~ N(z, 1), guide N(loc, scale), Adam) and 10^5 steps
// of the toy BNN (HiddenLayers 1(+bias)-50-50-1 on 200 points, as bnn_toy_step), sampling the
// process's resident set size (RSS, /proc/self/statm) a hundred times per run. Prints, per
// workload, the RSS at 1%, 50% and 100% of the run (after the first 1% the arena, the buffer
// pool and the optimizer's state are warm: no growth is expected after it) and the steps per
// second of each tenth of the run (no drift expected), one JSON line each.
//
// `--small-steps N` and `--bnn-steps N` shorten the runs (for a quick look).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"
#include "toy_bnn.hpp"

using namespace vesta;

namespace {

// Resident set size in MB: the second field of /proc/self/statm, in pages.
double rss_mb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  const int read = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (read != 2) return -1;
  return double(resident) * double(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

struct Soak {
  std::vector<double> rss;            // after each hundredth of the run
  std::vector<double> steps_per_sec;  // over each tenth of the run
  double seconds = 0;
  double last_loss = 0;
};

// Runs `steps` calls of `step` (which returns the loss), sampling RSS every steps / 100.
template <class Step>
Soak soak(long steps, Step&& step) {
  using Clock = std::chrono::steady_clock;
  Soak out;
  const long hundredth = std::max(1L, steps / 100), tenth = std::max(1L, steps / 10);
  const auto start = Clock::now();
  auto tenth_start = start;
  for (long t = 1; t <= steps; ++t) {
    out.last_loss = step();
    if (t % hundredth == 0) out.rss.push_back(rss_mb());
    if (t % tenth == 0) {
      const auto now = Clock::now();
      out.steps_per_sec.push_back(double(tenth) /
                                  std::chrono::duration<double>(now - tenth_start).count());
      tenth_start = now;
    }
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

void report(const char* name, long steps, const Soak& s) {
  const double at1 = s.rss.front(), at50 = s.rss[s.rss.size() / 2 - 1], at100 = s.rss.back();
  double lo = s.steps_per_sec.front(), hi = lo;
  for (double v : s.steps_per_sec) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  fmt::print(
      "{}: {} steps in {:.1f} s; RSS {:.2f} MB at 1%, {:.2f} MB at 50%, {:.2f} MB at 100%; "
      "steps/s per tenth {:.0f} to {:.0f}\n",
      name, steps, s.seconds, at1, at50, at100, lo, hi);
  std::vector<long> rounded;
  for (double v : s.steps_per_sec) rounded.push_back(std::lround(v));
  fmt::print(
      R"({{"bench": "soak", "workload": "{}", "scalar": "{}", "steps": {}, "seconds": {:.1f}, )"
      R"("rss_mb_1pct": {:.2f}, "rss_mb_50pct": {:.2f}, "rss_mb_100pct": {:.2f}, )"
      R"("rss_growth_after_warmup_mb": {:.2f}, "steps_per_sec_by_tenth": [{}], "last_loss": {:.4g}}})"
      "\n",
      name, bench::scalar_name(), steps, s.seconds, at1, at50, at100, at100 - at1,
      fmt::join(rounded, ", "), s.last_loss);
  std::fflush(stdout);
}

void small_model(const Matrix& x) {
  const Tensor z = sample("z", Normal(0, 1));
  auto p = plate("data", x.rows());
  sample("x", Normal(z, 1), Tensor(x));
}

void small_guide(const Matrix&) {
  const Tensor loc = param("loc", Matrix::Zero(1, 1));
  const Tensor scale = param("scale", Matrix::Ones(1, 1), constraints::positive());
  sample("z", Normal(loc, scale));
}

long option(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::max(100L, std::atol(argv[i + 1]));
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long small_steps = option(argc, argv, "--small-steps", 1000000);
  const long bnn_steps = option(argc, argv, "--bnn-steps", 100000);
  fmt::print("RSS at start {:.2f} MB\n", rss_mb());

  {
    ParamStore store;
    ParamStoreScope use(store);
    Matrix x(10, 1);
    x << 0.9, 1.4, 0.2, 1.1, 0.7, 1.8, 0.5, 1.2, 0.95, 1.3;
    set_rng_seed(1);
    Adam adam(0.01);
    SVI svi(small_model, small_guide, adam);
    svi.set_progress(nullptr);
    report("svi_small", small_steps, soak(small_steps, [&] { return svi.step(x); }));
  }

  {
    ParamStore store;
    ParamStoreScope use(store);
    const bench::ToyBnn model;
    auto guide = [](const std::optional<Tensor>&) {};
    set_rng_seed(2);
    Adam adam(0.01);
    SVI svi(model, guide, adam);
    svi.set_progress(nullptr);
    const std::optional<Tensor> observed(model.y_t);
    report("bnn_toy", bnn_steps, soak(bnn_steps, [&] { return svi.step(observed); }));
  }
}
