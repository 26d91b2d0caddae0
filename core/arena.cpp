#include <vesta/core/arena.hpp>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace vesta::detail {

namespace {
char* new_block(std::size_t size) {
  void* p = std::aligned_alloc(Arena::kBufferAlign, size);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<char*>(p);
}
}  // namespace

Arena::Arena(std::size_t first_block_bytes) {
  const std::size_t size = std::max<std::size_t>(first_block_bytes, 4096) & ~(kBufferAlign - 1);
  blocks_.push_back({new_block(size), size});
  enter_block(0);
}

Arena::~Arena() {
  for (const Block& b : blocks_) std::free(b.data);
}

void Arena::enter_block(std::size_t index) {
  current_ = index;
  ptr_ = blocks_[index].data;
  end_ = ptr_ + blocks_[index].size;
}

void* Arena::allocate_slow(std::size_t bytes, std::size_t align) {
  const std::size_t need = bytes + align;
  // Reuse the blocks kept from earlier generations, in the same order, so a graph of the
  // same shape as the last one walks the same blocks and allocates nothing.
  for (std::size_t i = current_ + 1; i < blocks_.size(); ++i) {
    if (blocks_[i].size >= need) {
      enter_block(i);
      return allocate(bytes, align);
    }
  }
  std::size_t size = std::max(blocks_.back().size * 2, need);
  size = (size + kBufferAlign - 1) & ~(kBufferAlign - 1);
  blocks_.push_back({new_block(size), size});
  enter_block(blocks_.size() - 1);
  return allocate(bytes, align);
}

void Arena::reset() { enter_block(0); }

void Arena::release() {
  for (std::size_t i = 1; i < blocks_.size(); ++i) std::free(blocks_[i].data);
  blocks_.resize(1);
  enter_block(0);
}

std::size_t Arena::bytes_reserved() const {
  std::size_t total = 0;
  for (const Block& b : blocks_) total += b.size;
  return total;
}

}  // namespace vesta::detail
