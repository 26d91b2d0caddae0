// Timing helpers shared by the benchmarks: the median of repeated timed batches.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace vesta::bench {

/// Seconds per call of `fn`: runs batches of `calls_per_batch` calls, `batches` times after
/// one warm-up batch, and returns the median batch time divided by the batch size.
template <class F>
double median_seconds_per_call(F&& fn, int calls_per_batch, int batches) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < calls_per_batch; ++i) fn();
  std::vector<double> times;
  for (int b = 0; b < batches; ++b) {
    const auto start = clock::now();
    for (int i = 0; i < calls_per_batch; ++i) fn();
    times.push_back(std::chrono::duration<double>(clock::now() - start).count() / calls_per_batch);
  }
  std::nth_element(times.begin(), times.begin() + batches / 2, times.end());
  return times[static_cast<std::size_t>(batches / 2)];
}

inline const char* scalar_name() { return sizeof(Scalar) == 4 ? "float" : "double"; }

}  // namespace vesta::bench
