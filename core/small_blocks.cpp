#include <vesta/core/small_blocks.hpp>

#include <array>

namespace vesta::detail {

namespace {

constexpr std::size_t kStep = 16;
constexpr std::size_t kClasses = kSmallBlockMax / kStep;
// Enough for the churn of a step (a freed block is usually taken again by the next site) and
// for a dropped trace's distributions; beyond it, a freed block goes back to the C library.
constexpr std::size_t kMaxKeptBytes = std::size_t{4} << 20;

struct FreeBlock {
  FreeBlock* next;
};

struct Lists {
  std::array<FreeBlock*, kClasses> head{};
  std::size_t bytes = 0;  // held in the lists

  void clear() {
    for (FreeBlock*& b : head) {
      while (b != nullptr) {
        FreeBlock* next = b->next;
        ::operator delete(b);
        b = next;
      }
    }
    bytes = 0;
  }
  ~Lists();
};

// The thread's lists, made on first use; the pointer goes with them when the thread ends, so a
// block freed later (by another thread-local object's destructor) goes to the C library.
thread_local Lists* thread_lists = nullptr;
thread_local bool lists_gone = false;

Lists* lists() {
  if (thread_lists == nullptr && !lists_gone) [[unlikely]] {
    thread_local Lists owned;
    thread_lists = &owned;
  }
  return thread_lists;
}

Lists::~Lists() {
  clear();
  thread_lists = nullptr;
  lists_gone = true;
}

std::size_t size_class(std::size_t bytes) { return bytes == 0 ? 0 : (bytes - 1) / kStep; }

}  // namespace

void* acquire_small_block(std::size_t bytes) {
  const std::size_t c = size_class(bytes);
  if (Lists* l = lists(); l != nullptr) {
    if (FreeBlock* b = l->head[c]) {
      l->head[c] = b->next;
      l->bytes -= (c + 1) * kStep;
      return b;
    }
  }
  return ::operator new((c + 1) * kStep);
}

void release_small_block(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  const std::size_t c = size_class(bytes);
  const std::size_t block = (c + 1) * kStep;
  Lists* l = lists();
  if (l == nullptr || l->bytes + block > kMaxKeptBytes) {
    ::operator delete(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = l->head[c];
  l->head[c] = b;
  l->bytes += block;
}

std::size_t small_block_bytes() {
  const Lists* l = thread_lists;
  return l != nullptr ? l->bytes : 0;
}

void release_small_blocks() {
  if (Lists* l = thread_lists) l->clear();
}

}  // namespace vesta::detail
