#include <vesta/core/small_blocks.hpp>

#include <array>

namespace vesta::detail {

namespace {

constexpr std::size_t kStep = kSmallBlockStep;

std::size_t size_class(std::size_t bytes) { return bytes == 0 ? 0 : (bytes - 1) / kStep; }

void*& next_of(void* block) { return *static_cast<void**>(block); }

thread_local bool lists_gone = false;

// The thread's lists, made on first use; the pointer goes with them when the thread ends, so a
// block freed later (by another thread-local object's destructor) goes to the C library.
struct OwnedLists : SmallBlockLists {
  void clear() {
    for (void*& b : head) {
      while (b != nullptr) {
        void* next = next_of(b);
        ::operator delete(b);
        b = next;
      }
    }
    bytes = 0;
  }
  OwnedLists() = default;
  OwnedLists(const OwnedLists&) = delete;
  OwnedLists& operator=(const OwnedLists&) = delete;
  ~OwnedLists() {
    clear();
    thread_small_blocks = nullptr;
    lists_gone = true;
  }
};

SmallBlockLists* lists() {
  if (thread_small_blocks == nullptr && !lists_gone) [[unlikely]] {
    thread_local OwnedLists owned;
    thread_small_blocks = &owned;
  }
  return thread_small_blocks;
}

}  // namespace

// The inline functions in the header serve a thread whose lists exist; these make them, and
// serve a request of 0 bytes, a thread that has ended and lists that are full.
void* acquire_small_block_slow(std::size_t bytes) {
  const std::size_t c = size_class(bytes);
  if (SmallBlockLists* l = lists(); l != nullptr) {
    if (void* b = l->head[c]) {
      l->head[c] = next_of(b);
      l->bytes -= (c + 1) * kStep;
      return b;
    }
  }
  return ::operator new((c + 1) * kStep);
}

void release_small_block_slow(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  const std::size_t c = size_class(bytes);
  const std::size_t block = (c + 1) * kStep;
  SmallBlockLists* l = lists();
  if (l == nullptr || l->bytes + block > SmallBlockLists::kMaxKeptBytes) {
    ::operator delete(p);
    return;
  }
  next_of(p) = l->head[c];
  l->head[c] = p;
  l->bytes += block;
}

std::size_t small_block_bytes() {
  const SmallBlockLists* l = thread_small_blocks;
  return l != nullptr ? l->bytes : 0;
}

void release_small_blocks() {
  if (SmallBlockLists* l = thread_small_blocks) static_cast<OwnedLists*>(l)->clear();
}

}  // namespace vesta::detail
