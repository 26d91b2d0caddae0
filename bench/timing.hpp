// Timing helpers shared by the benchmarks: the median of repeated timed batches, and for
// whole training steps also their thread CPU time, page faults and the peak resident memory.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include <sys/resource.h>

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

/// Peak resident set size in MB (VmHWM in /proc/self/status), or -1 where it cannot be read.
inline double peak_rss_mb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  double kb = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtod(line + 6, nullptr);
  }
  std::fclose(f);
  return kb / 1024;
}

inline double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

inline long minor_faults() {
  rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_minflt;
}

struct StepTiming {
  double wall;    // seconds per step, median over batches
  double cpu;     // thread CPU seconds per step, median over batches
  double faults;  // minor page faults per step, over all batches
};

/// Runs `step` in `batches` timed batches of `calls` calls, after one untimed batch. The
/// thread CPU time is steadier than the wall clock when other work shares the machine; the
/// minor page faults count buffers that the C library returned to the system and that must
/// be touched afresh.
template <class F>
StepTiming time_steps(F&& step, int calls, int batches) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < calls; ++i) step();
  std::vector<double> wall, cpu;
  const long faults_before = minor_faults();
  for (int b = 0; b < batches; ++b) {
    const auto w0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    for (int i = 0; i < calls; ++i) step();
    cpu.push_back((thread_cpu_seconds() - c0) / calls);
    wall.push_back(std::chrono::duration<double>(Clock::now() - w0).count() / calls);
  }
  const double faults = double(minor_faults() - faults_before) / double(calls * batches);
  const auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  return {median(wall), median(cpu), faults};
}

/// The value of `--name N` among the arguments, or `fallback`.
inline long option(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace vesta::bench
