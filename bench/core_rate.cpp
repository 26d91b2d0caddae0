// Whether this machine gives a second thread a core of its own, now, and how fast two threads
// hand work to each other.
// - The multiply-add rate of one thread alone, then of each of two threads running at once. A
//   virtual machine's two vCPUs may share one physical core (or a busy host) for a while; a
//   two-thread measurement (bench/bnn_step, bench/vae_step with VESTA_NUM_THREADS=2) means
//   something only when "each_of_two_over_one" is close to 1.
// - The hand-off: "round_trip_ns", the time for one thread to see a flag the other set and
//   answer it (as the thread pool posts a part and waits for it), and "handoff_gb_per_s", the
//   rate at which one thread reads 256 KB the other has just written (as an op reads the
//   entries a worker computed). Both depend on where the host puts the two vCPUs: on cores
//   that share a cache, or not. The multiply-add rate cannot see that.
// Run it before and after a two-thread measurement.
//
//   build/bench/core_rate [--seconds S]
#include <algorithm>
#include <atomic>
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

// Spins until `flag` holds `value`; yields after a while, so that a machine with one core
// still finishes.
void wait_for(const std::atomic<long>& flag, long value) {
  for (int spins = 0; flag.load(std::memory_order_acquire) != value; ++spins) {
    if (spins > 10000) std::this_thread::yield();
  }
}

// Two threads take turns: this one runs `first` then hands over, another runs `second` then hands
// back, `turns` times. Returns the seconds per turn (median of 5 batches).
template <class First, class Second>
double seconds_per_turn(int turns, First first, Second second) {
  using clock = std::chrono::steady_clock;
  alignas(64) std::atomic<long> flag{0};
  std::vector<double> batches;
  for (int batch = 0; batch < 5; ++batch) {
    flag.store(0);
    std::thread b([&] {
      for (long t = 0; t < turns; ++t) {
        wait_for(flag, 2 * t + 1);
        second();
        flag.store(2 * t + 2, std::memory_order_release);
      }
    });
    const auto start = clock::now();
    for (long t = 0; t < turns; ++t) {
      first();
      flag.store(2 * t + 1, std::memory_order_release);
      wait_for(flag, 2 * t + 2);
    }
    batches.push_back(std::chrono::duration<double>(clock::now() - start).count() / turns);
    b.join();
  }
  std::nth_element(batches.begin(), batches.begin() + 2, batches.end());
  return batches[2];
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

  const double round_trip = seconds_per_turn(
      20000, [] {}, [] {});
  // 256 KB written by one thread, then read (summed) by the other: the second thread's read
  // is the hand-off; the first thread's write is timed with it, so the rate is of both.
  std::vector<float> data(64 * 1024);
  float total = 0;
  const double turn = seconds_per_turn(
      2000, [&] { std::fill(data.begin(), data.end(), 1.0f); },
      [&] {
        // 16 independent sums, so that the read is not bound by the latency of one chain.
        alignas(64) float s[16] = {};
        for (std::size_t i = 0; i < data.size(); i += 16) {
          for (int k = 0; k < 16; ++k) s[k] += data[i + std::size_t(k)];
        }
        for (float v : s) total += v;
      });
  if (total == 42.0f) fmt::print("{}\n", total);
  const double bytes = double(data.size() * sizeof(float));
  fmt::print(R"({{"bench": "core_rate", "gflops_one": {:.1f}, "gflops_each_of_two": {:.1f}, )"
             R"("each_of_two_over_one": {:.2f}, "round_trip_ns": {:.0f}, )"
             R"("handoff_gb_per_s": {:.1f}}})"
             "\n",
             2e-9 * one, 2e-9 * each, each / one, round_trip * 1e9, 2 * bytes / turn * 1e-9);
}
