#include <vesta/core/buffer_pool.hpp>

#include <vesta/core/small_blocks.hpp>

#include <bit>
#include <cstdlib>
#include <new>
#include <vector>

namespace vesta::detail {

namespace {

constexpr std::size_t kAlign = 64;
// Size classes: (4 + k) * 2^e Scalars for k = 0..3, from 8 Scalars up: a buffer is at most a
// quarter larger than asked for.
constexpr int kClasses = 4 * 60;
// What a thread's pool keeps at most; a buffer freed beyond it goes back to the C library. A
// training step's working set is far below it; a one-off phase with larger matrices (a big
// Predictive run) should not pin its memory for the rest of the program.
constexpr std::size_t kMaxPooledBytes = std::size_t{256} << 20;

int size_class(std::size_t n, std::size_t& capacity) {
  if (n <= 8) {
    capacity = 8;
    return 0;
  }
  // n lies in (2^(e+2), 2^(e+3)] for e = bit_width(n - 1) - 3 >= 1; of the classes
  // (4 + k) * 2^e, k = 0..3, and 2^(e+3) (the first of the next octave), take the smallest
  // that holds n.
  const int e = static_cast<int>(std::bit_width(n - 1)) - 3;
  const std::size_t k = (n - 1) >> e;  // 4..7: n <= (k + 1) * 2^e
  capacity = (k + 1) << e;
  return k == 7 ? (e + 1) * 4 : e * 4 + static_cast<int>(k + 1 - 4);
}

struct Pool {
  std::vector<Scalar*> free[kClasses];
  std::size_t bytes = 0;

  void clear() {
    for (auto& list : free) {
      for (Scalar* p : list) std::free(p);
      list.clear();
    }
    bytes = 0;
  }
  ~Pool() { clear(); }
};

// The thread's pool, and whether it is still alive: a Tensor freed during thread (or program)
// exit, after the pool, goes straight back to the C library.
thread_local bool pool_dead = false;
struct PoolHolder {
  Pool pool;
  ~PoolHolder() { pool_dead = true; }
};

Pool* thread_pool() {
  if (pool_dead) return nullptr;
  thread_local PoolHolder holder;
  return &holder.pool;
}

}  // namespace

Scalar* acquire_buffer(std::size_t n, std::size_t& capacity) {
  capacity = 0;
  if (n == 0) return nullptr;
  const int c = size_class(n, capacity);
  if (Pool* pool = thread_pool(); pool != nullptr && c < kClasses && !pool->free[c].empty()) {
    Scalar* p = pool->free[c].back();
    pool->free[c].pop_back();
    pool->bytes -= capacity * sizeof(Scalar);
    return p;
  }
  const std::size_t bytes = (capacity * sizeof(Scalar) + kAlign - 1) & ~(kAlign - 1);
  void* p = std::aligned_alloc(kAlign, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<Scalar*>(p);
}

void release_buffer(Scalar* p, std::size_t capacity) {
  if (p == nullptr) return;
  std::size_t check = 0;
  const int c = size_class(capacity, check);
  Pool* pool = thread_pool();
  if (pool == nullptr || c >= kClasses ||
      pool->bytes + capacity * sizeof(Scalar) > kMaxPooledBytes) {
    std::free(p);
    return;
  }
  pool->free[c].push_back(p);
  pool->bytes += capacity * sizeof(Scalar);
}

}  // namespace vesta::detail

namespace vesta {

std::size_t pooled_bytes() {
  const detail::Pool* pool = detail::thread_pool();
  return (pool != nullptr ? pool->bytes : 0) + detail::small_block_bytes();
}

void release_pooled_memory() {
  if (detail::Pool* pool = detail::thread_pool()) pool->clear();
  detail::release_small_blocks();
}

}  // namespace vesta
