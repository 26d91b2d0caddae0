// The pool that Tensor values are allocated from. A training step makes and drops the same
// matrices every time (copies of data, constant results, draws); freeing them to the C library
// would return large ones to the system and fault them in afresh next step, which costs more
// than the arithmetic on them. The pool keeps each freed buffer, on the thread that freed it,
// for the next request of its size class, so a loop in steady state allocates nothing. A pool
// keeps at most 256 MiB; release_pooled_memory() (or Tape::release_memory()) empties it.
#pragma once

#include <cstddef>

#include <vesta/core/scalar.hpp>

namespace vesta::detail {

/// A buffer of at least `n` Scalars, aligned to 64 bytes; `capacity` receives its size class
/// (what release_buffer needs). n = 0 gives nullptr.
Scalar* acquire_buffer(std::size_t n, std::size_t& capacity);
/// Returns a buffer from acquire_buffer to the calling thread's pool.
void release_buffer(Scalar* p, std::size_t capacity);

/// A buffer of at least n Scalars (uninitialised) from the calling thread's pool, returned to
/// it when the PooledBuffer goes or takes another.
class PooledBuffer {
 public:
  PooledBuffer() = default;
  explicit PooledBuffer(std::size_t n) : data_(acquire_buffer(n, capacity_)) {}
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  ~PooledBuffer() { release_buffer(data_, capacity_); }

  /// Returns the buffer held, if any, and takes one of at least n Scalars.
  void reset(std::size_t n) {
    release_buffer(data_, capacity_);
    data_ = nullptr;
    data_ = acquire_buffer(n, capacity_);
  }
  Scalar* get() const { return data_; }

 private:
  std::size_t capacity_ = 0;
  Scalar* data_ = nullptr;
};

/// A rows x cols matrix (uninitialised) in a buffer of the calling thread's pool, returned to
/// it when the PooledMatrix goes: the temporaries of an op that runs every step (Eigen's
/// Matrix would take them from the C library, which may return them to the system).
class PooledMatrix {
 public:
  PooledMatrix(Index rows, Index cols)
      : buffer_(static_cast<std::size_t>(rows * cols)), map_(buffer_.get(), rows, cols) {}

  MatrixMap& operator*() { return map_; }
  MatrixMap* operator->() { return &map_; }

 private:
  PooledBuffer buffer_;
  MatrixMap map_;
};

}  // namespace vesta::detail

namespace vesta {

/// Bytes the calling thread's pool holds for reuse (freed buffers not yet taken again), with
/// the small blocks its sample sites' distributions came from (core/small_blocks.hpp).
std::size_t pooled_bytes();
/// Returns every buffer and small block the calling thread's pool holds to the system (after a
/// phase that used unusually large matrices, say).
void release_pooled_memory();

}  // namespace vesta
