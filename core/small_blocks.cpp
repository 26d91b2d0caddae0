#include <vesta/core/small_blocks.hpp>

#include <array>
#include <cstdint>

namespace vesta::detail {

namespace {

constexpr std::size_t kStep = 16;
constexpr std::size_t kClasses = kSmallBlockMax / kStep;
// Enough for the churn of a step (a freed block is usually taken again by the next site), and
// at most kClasses * kMaxKept * kSmallBlockMax bytes kept per thread.
constexpr std::uint32_t kMaxKept = 4096;

struct FreeBlock {
  FreeBlock* next;
};

struct Lists {
  std::array<FreeBlock*, kClasses> head{};
  std::array<std::uint32_t, kClasses> kept{};
  ~Lists();
};

// The thread's lists, made on first use; the pointer goes with them when the thread ends, so a
// block freed later (by another thread-local object's destructor) goes to the C library.
thread_local Lists* thread_lists = nullptr;
thread_local bool lists_gone = false;

Lists& lists() {
  if (thread_lists == nullptr) [[unlikely]] {
    thread_local Lists owned;
    thread_lists = &owned;
  }
  return *thread_lists;
}

Lists::~Lists() {
  for (FreeBlock* b : head) {
    while (b != nullptr) {
      FreeBlock* next = b->next;
      ::operator delete(b);
      b = next;
    }
  }
  thread_lists = nullptr;
  lists_gone = true;
}

std::size_t size_class(std::size_t bytes) { return bytes == 0 ? 0 : (bytes - 1) / kStep; }

}  // namespace

void* acquire_small_block(std::size_t bytes) {
  const std::size_t c = size_class(bytes);
  Lists& l = lists();
  if (FreeBlock* b = l.head[c]) {
    l.head[c] = b->next;
    --l.kept[c];
    return b;
  }
  return ::operator new((c + 1) * kStep);
}

void release_small_block(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  const std::size_t c = size_class(bytes);
  Lists* l = thread_lists;
  if (l == nullptr && !lists_gone) l = &lists();
  if (l == nullptr || l->kept[c] >= kMaxKept) {
    ::operator delete(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = l->head[c];
  l->head[c] = b;
  ++l->kept[c];
}

}  // namespace vesta::detail
