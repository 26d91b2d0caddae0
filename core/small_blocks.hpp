// Blocks for the small objects a model makes at every site of every step: the distribution of
// a `sample` (with its shared_ptr's count, one allocation) and the Storage of a constant Tensor
// (Storage::operator new). Each freed block goes to a list of
// its size on the thread that freed it, for the next request of that size: a pop and a push
// where the C library's malloc and free cost several times more, and blocks of the objects'
// own size (16-byte steps), so that a model of many sites keeps no more memory than with
// malloc. A thread's lists keep at most 4 MiB; the rest goes back to the C library, as does
// everything they hold on release_pooled_memory() (see buffer_pool.hpp).
#pragma once

#include <cstddef>
#include <new>

namespace vesta::detail {

/// The largest block the lists serve; a larger request goes to operator new.
inline constexpr std::size_t kSmallBlockMax = 512;

/// `bytes` (at most kSmallBlockMax) of uninitialised memory aligned to 16, from the calling
/// thread's list of its size (or operator new when the list is empty).
void* acquire_small_block(std::size_t bytes);
/// Returns a block from acquire_small_block (of the same `bytes`) to the calling thread's list.
void release_small_block(void* p, std::size_t bytes) noexcept;

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
