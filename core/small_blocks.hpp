// Blocks for the small objects a model makes at every site of every step: the distribution of
// a `sample` (with its shared_ptr's count, one allocation) and the Storage of a constant Tensor
// (Storage::operator new). Each freed block goes to a list of
// its size on the thread that freed it, for the next request of that size: a pop and a push
// where the C library's malloc and free cost several times more, and blocks of the objects'
// own size (16-byte steps), so that a model of many sites keeps no more memory than with
// malloc. A thread's lists keep at most 4 MiB; the rest goes back to the C library, as does
// everything they hold on release_pooled_memory() (see buffer_pool.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <new>

namespace vesta::detail {

/// The largest block the lists serve; a larger request goes to operator new.
inline constexpr std::size_t kSmallBlockMax = 512;

/// Blocks come in steps of this many bytes, each step with its own list.
inline constexpr std::size_t kSmallBlockStep = 16;
/// A thread's lists: a free block holds the next one of its list in its first bytes.
struct SmallBlockLists {
  static constexpr std::size_t kClasses = kSmallBlockMax / kSmallBlockStep;
  /// Enough for the churn of a step (a freed block is usually taken again by the next site)
  /// and for a dropped trace's distributions; beyond it, a freed block goes to the C library.
  static constexpr std::size_t kMaxKeptBytes = std::size_t{4} << 20;
  std::array<void*, kClasses> head{};
  std::size_t bytes = 0;  ///< held in the lists
  /// The list of blocks of `bytes` (1 to kSmallBlockMax).
  static std::size_t size_class(std::size_t bytes) { return (bytes - 1) / kSmallBlockStep; }
};
/// The calling thread's lists once made (null before their first use and after the thread's
/// end). A pointer with a constant initial value: reading it takes no guard.
inline thread_local SmallBlockLists* thread_small_blocks = nullptr;
void* acquire_small_block_slow(std::size_t bytes);
void release_small_block_slow(void* p, std::size_t bytes) noexcept;

/// `bytes` (1 to kSmallBlockMax) of uninitialised memory aligned to 16, from the calling
/// thread's list of its size (or operator new when the list is empty). Inline: a site's
/// distribution and a constant's Storage take one each.
inline void* acquire_small_block(std::size_t bytes) {
  if (SmallBlockLists* l = thread_small_blocks; l != nullptr && bytes != 0) {
    const std::size_t c = SmallBlockLists::size_class(bytes);
    if (void* b = l->head[c]) {
      l->head[c] = *static_cast<void**>(b);
      l->bytes -= (c + 1) * kSmallBlockStep;
      return b;
    }
  }
  return acquire_small_block_slow(bytes);
}
/// Returns a block from acquire_small_block (of the same `bytes`) to the calling thread's list.
inline void release_small_block(void* p, std::size_t bytes) noexcept {
  if (SmallBlockLists* l = thread_small_blocks; l != nullptr && p != nullptr && bytes != 0) {
    const std::size_t c = SmallBlockLists::size_class(bytes);
    const std::size_t block = (c + 1) * kSmallBlockStep;
    if (l->bytes + block <= SmallBlockLists::kMaxKeptBytes) {
      *static_cast<void**>(p) = l->head[c];
      l->head[c] = p;
      l->bytes += block;
      return;
    }
  }
  release_small_block_slow(p, bytes);
}

/// Bytes the calling thread's lists hold (counted by pooled_bytes()).
std::size_t small_block_bytes();
/// Returns the calling thread's listed blocks to the C library (release_pooled_memory() does).
void release_small_blocks();

/// An allocator over those blocks, for std::allocate_shared: objects too large or too aligned
/// for them take operator new.
template <class T>
struct SmallBlockAllocator {
  using value_type = T;
  SmallBlockAllocator() = default;
  template <class U>
  SmallBlockAllocator(const SmallBlockAllocator<U>&) noexcept {
  }  // NOLINT(google-explicit-constructor)

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if constexpr (alignof(T) > 16) {
      return static_cast<T*>(::operator new(bytes, std::align_val_t(alignof(T))));
    } else {
      if (bytes > kSmallBlockMax) return static_cast<T*>(::operator new(bytes));
      return static_cast<T*>(acquire_small_block(bytes));
    }
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if constexpr (alignof(T) > 16) {
      ::operator delete(p, std::align_val_t(alignof(T)));
    } else {
      if (bytes > kSmallBlockMax) {
        ::operator delete(p);
      } else {
        release_small_block(p, bytes);
      }
    }
  }
  template <class U>
  bool operator==(const SmallBlockAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace vesta::detail
