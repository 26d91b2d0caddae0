// A bump allocator for the autodiff tape: each op's node and matrices are carved out of
// large blocks, and reset() releases everything at once in O(1) while keeping the blocks,
// so a training loop that builds the same graph every step allocates nothing after step one.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vesta::detail {

class Arena {
 public:
  /// Alignment of every buffer of a cache line or more: one line, enough for any SIMD width.
  static constexpr std::size_t kBufferAlign = 64;

  explicit Arena(std::size_t first_block_bytes = std::size_t{1} << 16);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  /// `bytes` of uninitialised memory aligned to `align` (a power of two), valid until reset().
  void* allocate(std::size_t bytes, std::size_t align) {
    auto p = (reinterpret_cast<std::uintptr_t>(ptr_) + (align - 1)) & ~(std::uintptr_t{align} - 1);
    if (p + bytes <= reinterpret_cast<std::uintptr_t>(end_)) {
      ptr_ = reinterpret_cast<char*>(p + bytes);
      return reinterpret_cast<void*>(p);
    }
    return allocate_slow(bytes, align);
  }

  /// Uninitialised room for `n` objects of T, valid until reset(). A buffer of a cache line or
  /// more starts on a line (kBufferAlign); a smaller one is aligned to its size rounded up to
  /// a power of two, so it never straddles two lines yet a 1x1 value takes 8 bytes, not a
  /// line (a model of scalar sites records mostly 1x1 nodes).
  template <class T>
  T* allocate_array(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    const std::size_t align =
        bytes >= kBufferAlign ? kBufferAlign : std::max(alignof(T), std::bit_ceil(bytes));
    return static_cast<T*>(allocate(bytes, align));
  }

  /// Makes all memory available again; blocks are kept for reuse.
  void reset();
  /// Returns all blocks but the first to the system.
  void release();

  /// Bytes held from the system (the arena's whole footprint).
  std::size_t bytes_reserved() const;

 private:
  struct Block {
    char* data;
    std::size_t size;
  };
  void* allocate_slow(std::size_t bytes, std::size_t align);
  void enter_block(std::size_t index);

  std::vector<Block> blocks_;
  std::size_t current_ = 0;
  char* ptr_ = nullptr;
  char* end_ = nullptr;
};

}  // namespace vesta::detail
