// The tape's life cycle: recorded Tensors become invalid (a clear error) when the tape is
// reset, memory stays flat over a million small graphs, and tapes are per thread.
#include <cstdint>
#include <thread>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;
using Catch::Matchers::Contains;

TEST_CASE("using a Tensor after its tape was reset is a clear error", "[core][tape]") {
  const Tensor x = Tensor::variable(Matrix::Constant(2, 2, 1));
  const Tensor y = exp(x);
  const Tensor kept = y.detach();
  tape().reset();
  CHECK_THROWS_AS(y.value(), StaleTensorError);
  CHECK_THROWS_WITH(y + 1, Contains("reset") && Contains("detach"));
  CHECK_THROWS_AS(sum(y).backward(), StaleTensorError);
  // Leaves and constants are not on the tape: they stay usable.
  CHECK(kept(0, 0) == Approx(std::exp(1.0)));
  CHECK(exp(x)(0, 0) == Approx(std::exp(1.0)));
  tape().reset();
}

TEST_CASE("a recorded Tensor is foreign on another thread's tape", "[core][tape]") {
  const Tensor x = Tensor::variable(Matrix::Constant(1, 1, 2));
  const Tensor y = x * x;
  bool threw = false;
  std::thread other([&] {
    try {
      (void)(y + 1);
    } catch (const StaleTensorError&) {
      threw = true;
    }
  });
  other.join();
  CHECK(threw);
  tape().reset();
}

TEST_CASE("a million small graphs run in steady memory", "[core][tape]") {
  const Tensor a = Tensor::variable(Matrix::Constant(1, 1, 0.5));
  const Tensor b = Tensor::variable(Matrix::Constant(1, 1, -0.25));
  tape().release_memory();
  std::size_t reserved_after_first = 0;
  std::size_t max_nodes = 0;
  for (int step = 0; step < 1000000; ++step) {
    const Tensor x = Scalar(step % 7) * 0.1;
    const Tensor loss = square(a * x + b - 1) + 0.01 * square(a);
    loss.backward();
    max_nodes = std::max(max_nodes, tape().num_nodes());
    tape().reset();
    if (step == 0) reserved_after_first = tape().bytes_reserved();
  }
  CHECK(max_nodes < 20);
  CHECK(tape().bytes_reserved() == reserved_after_first);
  CHECK(std::isfinite(a.grad()(0, 0)));
}

TEST_CASE("the arena grows for a large graph and reuses its blocks afterwards", "[core][tape]") {
  tape().release_memory();
  const Tensor w = Tensor::variable(Matrix::Random(200, 200));
  std::size_t reserved = 0;
  for (int step = 0; step < 5; ++step) {
    Tensor h = w;
    for (int layer = 0; layer < 10; ++layer) h = tanh(matmul(h, w));
    sum(h).backward();
    tape().reset();
    if (step == 0) reserved = tape().bytes_reserved();
  }
  CHECK(reserved > std::size_t{200 * 200 * sizeof(Scalar) * 20});
  CHECK(tape().bytes_reserved() == reserved);
  tape().release_memory();
  CHECK(tape().bytes_reserved() < reserved);
}

TEST_CASE("the arena starts a buffer of a cache line or more on a line, and packs smaller ones",
          "[core][tape]") {
  detail::Arena arena;
  const auto at = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p); };
  // Small buffers take room of their size, aligned to it rounded up to a power of two: never
  // across two lines.
  const auto* a = arena.allocate_array<double>(1);
  const auto* b = arena.allocate_array<double>(1);
  CHECK(at(b) == at(a) + sizeof(double));
  const auto* c = arena.allocate_array<double>(3);
  CHECK(at(c) % 32 == 0);
  CHECK(at(c) / 64 == (at(c) + 3 * sizeof(double) - 1) / 64);
  const auto* d = arena.allocate_array<std::int32_t>(1);
  CHECK(at(d) % alignof(std::int32_t) == 0);
  // A buffer of a line or more starts on one, for SIMD loads.
  for (const std::size_t n : {8, 9, 100}) {
    CHECK(at(arena.allocate_array<double>(n)) % detail::Arena::kBufferAlign == 0);
    CHECK(at(arena.allocate_array<float>(2 * n)) % detail::Arena::kBufferAlign == 0);
  }
}

TEST_CASE("a constant's memory goes back to the thread's pool and serves the next one",
          "[core][tape]") {
  release_pooled_memory();
  REQUIRE(pooled_bytes() == 0);
  const Matrix data = Matrix::Random(5000, 1);
  const Scalar* first = nullptr;
  {
    const Tensor t(data);
    first = t.value().data();
    CHECK(pooled_bytes() == 0);
  }
  const std::size_t kept = pooled_bytes();
  CHECK(kept >= data.size() * sizeof(Scalar));
  for (int step = 0; step < 3; ++step) {
    const Tensor t(data);  // the next step's copy of the same data
    CHECK(t.value().data() == first);
    CHECK(pooled_bytes() == 0);
    CHECK(t.matrix() == data);
  }
  CHECK(pooled_bytes() == kept);
  tape().release_memory();  // empties the pool too
  CHECK(pooled_bytes() == 0);
}

TEST_CASE("a second backward pass on one tape runs only the nodes that reach its root",
          "[core][tape]") {
  // The first pass of a generation finds the nodes as made; a later one must clear what an
  // earlier pass touched, or the earlier graph would pass its adjoints back again.
  const Tensor x = Tensor::variable(Matrix::Constant(1, 1, 2));
  const Tensor y = x * x;
  y.backward();
  CHECK(x.grad()(0, 0) == 4);
  const Tensor z = x * Scalar(3) + y * Scalar(0);  // y's node is on this graph, with adjoint 0
  z.backward();
  CHECK(x.grad()(0, 0) == 4 + 3);
  const Tensor w = x * Scalar(5);  // a graph apart from y's
  w.backward();
  CHECK(x.grad()(0, 0) == 4 + 3 + 5);
  tape().reset();
  // A new generation's first pass again.
  (x * x).backward();
  CHECK(x.grad()(0, 0) == 4 + 3 + 5 + 4);
  tape().reset();
}

TEST_CASE("a node past the dimensions a Node keeps is refused before anything is allocated",
          "[core][tape]") {
  // A Node keeps its dimensions in 32 bits: a result of 2^31 rows (a reshape of a Tensor of
  // more entries than that, say) must be an error, not a node of another shape.
  const Index too_many = Index(1) << 31;
  const std::size_t nodes = tape().num_nodes();
  CHECK_THROWS_AS(tape().record(too_many, 1, [](Node&) {}), ShapeError);
  CHECK_THROWS_WITH(tape().record(1, too_many, [](Node&) {}),
                    Contains("2147483648") && Contains("2^31 - 1"));
  CHECK(tape().num_nodes() == nodes);
  Node* largest = tape().record(1, 1, [](Node&) {});
  CHECK(largest->rows == 1);
  tape().reset();
}
