// Whether this machine gives a second thread a core of its own, now: the multiply-add rate of
// one thread alone, then of each of two threads running at once. A virtual machine's two
// vCPUs may share one physical core (or a busy host) for a while; a two-thread measurement
// (bench/bnn_step, bench/vae_step with VESTA_NUM_THREADS=2) means something only when
// "each_of_two_over_one" is close to 1. Run it before and after such a measurement.
//
//   build/bench/core_rate [--seconds S]
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <vesta/vesta.hpp>

#include "timing.hpp"

namespace {

// Independent multiply-add chains, enough to hide the latency of each: the compiler keeps
// them in vector registers (-march=native) and the loop is bound by the multiply-add units.
constexpr int kLanes = 256;

// Runs the chains for about `seconds` and returns the multiply-adds per second.
double multiply_add_rate(double seconds) {
  using clock = std::chrono::steady_clock;
  alignas(64) float acc[kLanes];
  for (int i = 0; i < kLanes; ++i) acc[i] = 1.0f + float(i) * 1e-6f;
  const float a = 0.999999f, b = 1e-7f;
  long rounds = 0;
  const auto start = clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int r = 0; r < 10000; ++r) {
      for (int i = 0; i < kLanes; ++i) acc[i] = std::fma(acc[i], a, b);
    }
    rounds += 10000;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  }
  float sum = 0;
  for (float v : acc) sum += v;
  // Keeps the chains from being optimised away.
  if (sum == 42.0f) fmt::print("{}\n", sum);
  return double(rounds) * kLanes / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = double(vesta::bench::option(argc, argv, "--seconds", 1));
  const double one = multiply_add_rate(seconds);
  std::vector<double> rates(2);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < rates.size(); ++t) {
    threads.emplace_back([&, t] { rates[t] = multiply_add_rate(seconds); });
  }
  for (std::thread& t : threads) t.join();
  const double each = (rates[0] + rates[1]) / 2;
  fmt::print(R"({{"bench": "core_rate", "gflops_one": {:.1f}, "gflops_each_of_two": {:.1f}, )"
             R"("each_of_two_over_one": {:.2f}}})"
             "\n",
             2e-9 * one, 2e-9 * each, each / one);
}
