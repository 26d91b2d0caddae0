// A bump allocator for the autodiff tape: each op's node and matrices are carved out of
// large blocks, and reset() releases everything at once in O(1) while keeping the blocks,
// so a training loop that builds the same graph every step allocates nothing after step one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vesta::detail {

class Arena {
 public:
  /// Alignment of every matrix buffer: one cache line, enough for any SIMD width.
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

  template <class T>
  T* allocate_array(std::size_t n) {
    return static_cast<T*>(allocate(n * sizeof(T), kBufferAlign));
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
