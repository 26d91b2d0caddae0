#include <vesta/core/parallel.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <vesta/core/error.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VESTA_CPU_RELAX() _mm_pause()
#else
#define VESTA_CPU_RELAX() ((void)0)
#endif

namespace vesta {

namespace {

constexpr int kMaxThreads = 64;

// VESTA_NUM_THREADS, read once: a positive integer, else 1 (a malformed value is an error the
// first op reports, rather than a silent default).
int threads_from_environment() {
  const char* text = std::getenv("VESTA_NUM_THREADS");
  if (text == nullptr || *text == '\0') return 1;
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  if (*end != '\0' || n < 1) {
    throw ValueError(fmt::format(
        "VESTA_NUM_THREADS is '{}', but must be a positive whole number of threads", text));
  }
  return static_cast<int>(std::min<long>(n, kMaxThreads));
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> n{threads_from_environment()};
  return n;
}

// How long a worker (or the caller waiting for the workers) spins before it sleeps: a training
// step's large ops follow each other within tens of microseconds, and a spinning worker starts
// the next one without the system's wake-up latency; a longer wait is not worth a busy core.
constexpr auto kSpin = std::chrono::microseconds(100);

// Spins until done() or kSpin has passed; returns done().
template <class Done>
bool spin_until(const Done& done) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      VESTA_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() > until) return done();
    // Let another program have this core if it wants it: spinning must not slow it down.
    std::this_thread::yield();
  }
}

// How many more ops that parts_for would cut run whole on their caller, because the pool's
// workers did not help (detail::HelpJudge): read and counted down by parts_for on any thread,
// hence atomic; an approximate count is enough.
std::atomic<int> ops_alone{0};
// Set by set_num_threads: the pool starts judging its workers afresh at its next job.
std::atomic<bool> judge_afresh{false};

// The clock's verdict (detail::SpeedJudge): ops that could be cut are counted in windows of
// SpeedJudge::kOps, the op that ends a window reads the clock and asks the judge whether the
// next window's ops run whole. Ops of several threads at once share the windows: an
// approximate count and verdict are enough.
struct Clock {
  std::mutex mutex;  // held by the op that ends a window
  detail::SpeedJudge judge;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};
Clock& clock_judge() {
  static Clock c;
  return c;
}
std::atomic<std::uint64_t> ops_counted{0};  // ops that could be cut, counted by the clock
std::atomic<bool> whole_by_clock{false};    // the judge's verdict for the current window
// Set when HelpJudge's countdown ran ops whole in the current window, which then tells nothing.
std::atomic<bool> window_spoiled{false};
// Set by set_num_threads: the clock's judge starts afresh at the end of the current window.
std::atomic<bool> clock_afresh{false};

void end_window() {
  Clock& c = clock_judge();
  std::unique_lock<std::mutex> lock(c.mutex, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread's op ends the same window
  const auto now = std::chrono::steady_clock::now();
  const bool spoiled = window_spoiled.exchange(false, std::memory_order_relaxed);
  if (clock_afresh.exchange(false, std::memory_order_relaxed)) {
    c.judge = detail::SpeedJudge();  // a window begun before the new thread count tells nothing
    whole_by_clock.store(false, std::memory_order_relaxed);
  } else if (!spoiled) {
    const double seconds = std::chrono::duration<double>(now - c.start).count();
    whole_by_clock.store(c.judge.next(seconds), std::memory_order_relaxed);
  }
  c.start = now;
}

// Counts an op that could be cut; true when the clock's verdict runs it whole.
bool whole_by_the_clock() {
  const std::uint64_t n = ops_counted.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n % detail::SpeedJudge::kOps == 0) end_window();
  return whole_by_clock.load(std::memory_order_relaxed);
}

// The workers. A job is published in `ticket_`: its number, its count of parts and the next
// unclaimed part, in one word, so that a worker claims a part of the job it was woken for or of
// none (a worker that wakes after its job ended finds another number and claims nothing). The
// caller and the workers that wake in time claim parts one by one and count each one done in
// `finished_`.
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  // Runs the job if the pool is free; returns false (having run nothing) if another thread's
  // op holds it. Parts are claimed, not assigned: a worker that the system has not scheduled
  // (the other core busy with another program) leaves its part to the caller instead of
  // holding it up.
  bool try_run(int parts, const detail::PartFn& body) {
    std::unique_lock<std::mutex> use(use_, std::try_to_lock);
    if (!use.owns_lock()) return false;
    grow(parts - 1);
    job_ = &body;
    error_ = nullptr;
    finished_.store(0, std::memory_order_relaxed);
    const std::uint64_t job = ++jobs_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ticket_.store(pack(job, parts, 0), std::memory_order_release);
    }
    wake_.notify_all();
    const int by_caller = claim_parts(job);
    if (!spin_until([&] { return finished_.load(std::memory_order_acquire) == parts; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return finished_.load(std::memory_order_acquire) == parts; });
    }
    if (judge_afresh.exchange(false, std::memory_order_relaxed)) judge_ = detail::HelpJudge();
    if (judge_.count(parts, parts - by_caller)) {
      ops_alone.store(detail::kOpsAlone, std::memory_order_relaxed);
    }
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  static std::uint64_t pack(std::uint64_t job, int parts, int next) {
    return (job << 32) | (std::uint64_t(parts) << 16) | std::uint64_t(next);
  }
  static std::uint64_t job_of(std::uint64_t ticket) { return ticket >> 32; }

  void grow(int workers) {
    while (static_cast<int>(workers_.size()) < workers) {
      workers_.emplace_back([this, seen = jobs_] { work(seen); });
    }
  }

  void record(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::move(e);
  }

  void work(std::uint64_t seen) {
    for (;;) {
      std::uint64_t job = seen;
      const auto posted = [&] {
        return (job = job_of(ticket_.load(std::memory_order_acquire))) != seen;
      };
      if (!spin_until(posted)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || posted(); });
        if (stop_) return;
      }
      seen = job;
      claim_parts(job);
    }
  }

  // Runs unclaimed parts of job `job` until none is left (or another job has replaced it);
  // returns how many it ran.
  int claim_parts(std::uint64_t job) {
    int ran = 0;
    std::uint64_t ticket = ticket_.load(std::memory_order_acquire);
    for (;;) {
      const int parts = static_cast<int>((ticket >> 16) & 0xffff);
      const int part = static_cast<int>(ticket & 0xffff);
      if (job_of(ticket) != job || part >= parts) return ran;
      if (!ticket_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
        continue;
      }
      ++ran;
      try {
        (*job_)(part);
      } catch (...) {
        record(std::current_exception());
      }
      if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
      ticket = ticket_.load(std::memory_order_acquire);
    }
  }

  std::mutex use_;    // held by the thread whose op the pool runs
  std::mutex mutex_;  // guards sleeping and waking, and error_
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::uint64_t jobs_ = 0;                // jobs posted (under use_)
  detail::HelpJudge judge_;               // under use_
  std::atomic<std::uint64_t> ticket_{0};  // job << 32 | parts << 16 | next unclaimed part
  std::atomic<int> finished_{0};          // parts of the current job done
  const detail::PartFn* job_ = nullptr;
  std::exception_ptr error_;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1) {
    throw ValueError(fmt::format("set_num_threads: {} threads; give at least 1", n));
  }
  thread_setting().store(std::min(n, kMaxThreads), std::memory_order_relaxed);
  ops_alone.store(0, std::memory_order_relaxed);
  judge_afresh.store(true, std::memory_order_relaxed);
  whole_by_clock.store(false, std::memory_order_relaxed);
  clock_afresh.store(true, std::memory_order_relaxed);
}

int num_threads() { return thread_setting().load(std::memory_order_relaxed); }

namespace detail {

int parts_for(double work, double min_work) {
  const int n = num_threads();
  if (n == 1 || work < 2 * min_work) return 1;
  const int parts = static_cast<int>(std::min<double>(n, work / min_work));
  if (ops_alone.load(std::memory_order_relaxed) > 0) {
    ops_alone.fetch_sub(1, std::memory_order_relaxed);
    window_spoiled.store(true, std::memory_order_relaxed);
    return 1;
  }
  return whole_by_the_clock() ? 1 : parts;
}

void run_ops_alone(int ops) { ops_alone.store(std::max(ops, 0), std::memory_order_relaxed); }

void run_parts(int parts, const PartFn& body) {
  if (parts > 1 && pool().try_run(parts, body)) return;
  for (int part = 0; part < parts; ++part) body(part);
}

}  // namespace detail

}  // namespace vesta
