// The small-block lists that distributions of sample sites and Tensors' storages are allocated
// from: reuse on the thread that freed a block, and the sizes and alignments they serve (blocks
// that cross threads: tests/threads).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <vesta/vesta.hpp>

using namespace vesta;
using vesta::detail::acquire_small_block;
using vesta::detail::release_small_block;
using vesta::detail::SmallBlockAllocator;

namespace {
bool aligned(const void* p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a == 0; }
}  // namespace

TEST_CASE("a freed small block is the next one given of its size", "[core][small_blocks]") {
  for (std::size_t bytes : {1, 16, 17, 160, 500, 512}) {
    INFO(bytes << " bytes");
    const std::size_t other_bytes = bytes + 64 <= 512 ? bytes + 64 : 8;  // another size
    void* a = acquire_small_block(bytes);
    void* other = acquire_small_block(other_bytes);
    REQUIRE(a != nullptr);
    CHECK(aligned(a, 16));
    std::memset(a, 0xab, bytes);  // the whole request is writable (ASan checks it)
    release_small_block(a, bytes);
    void* b = acquire_small_block(bytes);
    CHECK(b == a);
    release_small_block(b, bytes);
    release_small_block(other, other_bytes);
  }
}

TEST_CASE("the small-block allocator serves large and over-aligned objects elsewhere",
          "[core][small_blocks]") {
  struct alignas(64) Wide {
    double x[8];
  };
  struct Large {
    char bytes[1000];
  };
  SmallBlockAllocator<Wide> wide;
  Wide* w = wide.allocate(3);
  CHECK(aligned(w, 64));
  std::memset(static_cast<void*>(w), 1, 3 * sizeof(Wide));
  wide.deallocate(w, 3);
  SmallBlockAllocator<Large> large;
  Large* l = large.allocate(1);
  std::memset(l, 2, sizeof(Large));
  large.deallocate(l, 1);
  // Rebinding keeps the allocator usable for shared_ptr's control block.
  auto p = std::allocate_shared<std::vector<int>>(SmallBlockAllocator<std::vector<int>>{}, 5, 7);
  CHECK(p->size() == 5);
  CHECK((*p)[4] == 7);
}

TEST_CASE("release_pooled_memory also returns the thread's small blocks", "[core][small_blocks]") {
  release_pooled_memory();
  const std::size_t before = pooled_bytes();
  {
    auto tr = trace();
    for (int k = 0; k < 10; ++k) sample("z_" + std::to_string(k), Normal(0, 1));
  }  // the trace goes, and its ten distributions' blocks join the lists
  CHECK(pooled_bytes() >= before + 10 * sizeof(Normal));
  release_pooled_memory();
  CHECK(pooled_bytes() == 0);
}

TEST_CASE("a dropped constant's storage joins the thread's small-block lists",
          "[core][small_blocks]") {
  release_pooled_memory();
  { const Tensor c(Matrix::Constant(3, 2, 1.5)); }
  CHECK(detail::small_block_bytes() >= sizeof(detail::Storage));
  // The next constant takes it back.
  const Tensor again(Matrix::Constant(3, 2, 2.5));
  CHECK(detail::small_block_bytes() == 0);
  CHECK(again.matrix() == Matrix::Constant(3, 2, 2.5));
  {
    std::vector<Tensor> many;
    for (int k = 0; k < 10; ++k) many.emplace_back(Matrix::Constant(2, 2, k));
  }
  CHECK(detail::small_block_bytes() >= 10 * sizeof(detail::Storage));
  release_pooled_memory();
  CHECK(detail::small_block_bytes() == 0);
}
