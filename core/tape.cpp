#include <vesta/core/tape.hpp>

#include <atomic>

#include <fmt/format.h>

#include <vesta/core/buffer_pool.hpp>
#include <vesta/core/error.hpp>

namespace vesta {

namespace {
// Generations are unique across all tapes of all threads, so a Tensor recorded on one
// thread's tape is also recognised as foreign (stale) on another's.
std::uint64_t next_generation() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}
}  // namespace

namespace detail {

Storage::Storage(Index r, Index c) : rows(r), cols(c) {
  data = r * c == 1 ? &one_[0] : acquire_buffer(static_cast<std::size_t>(r * c), pooled_);
}

Storage::Storage(Matrix&& m) : rows(m.rows()), cols(m.cols()) {
  if (m.size() == 1) {
    one_[0] = m(0, 0);
    data = &one_[0];
  } else {
    owned_ = std::move(m);
    data = owned_.data();
  }
}

void Storage::make_grad() {
  if (rows * cols == 1) {
    grad_ = &grad_one_;
  } else {
    grad_owned_.resize(rows, cols);
    grad_ = grad_owned_.data();
  }
}

void Storage::swap_values(Matrix& other) {
  if (holds_one()) {  // the other slot takes the new value; `other` gets the old one
    swap_value(other(0, 0));
    return;
  }
  if (pooled_ != 0) {  // the first exchange: the values move to a Matrix of their own
    owned_ = values();
    release_buffer(data, pooled_);
    pooled_ = 0;
  }
  owned_.swap(other);
  data = owned_.data();
}

Storage::~Storage() {
  if (pooled_ != 0) release_buffer(data, pooled_);
}

}  // namespace detail

Tape::Tape() : generation_(next_generation()) {}

Tape& detail::make_thread_tape() {
  thread_local Tape t;
  thread_tape = &t;
  return t;
}

Tape::~Tape() {
  let_go();
  if (detail::thread_tape == this) detail::thread_tape = nullptr;
}

void Tape::let_go() {
  for (const auto& leaf : leaves_) leaf->claim.holder.store(nullptr, std::memory_order_release);
  for (const auto& claim : held_) claim->holder.store(nullptr, std::memory_order_release);
  held_.clear();
}

void Tape::reset() {
  let_go();
  nodes_.clear();
  leaves_.clear();
  retained_.clear();
  arena_.reset();
  backward_ran_ = false;
  generation_ = next_generation();
}

void Tape::release_memory() {
  reset();
  release_pooled_memory();
  arena_.release();
  nodes_.shrink_to_fit();
  leaves_.shrink_to_fit();
  retained_.shrink_to_fit();
  held_.shrink_to_fit();
}

bool Tape::hold(const std::shared_ptr<detail::Claim>& claim) {
  if (claim->holder.load(std::memory_order_acquire) == this) return true;
  const Tape* expected = nullptr;
  if (!claim->holder.compare_exchange_strong(expected, this, std::memory_order_acq_rel)) {
    return false;
  }
  held_.push_back(claim);
  return true;
}

Node* Tape::leaf_node(const detail::StorageRef& storage) {
  detail::Storage& s = *storage;
  // Held by this tape: the leaf entered this generation's graph already. Otherwise it must be
  // free: a leaf on two threads' tapes at once would have both backward passes write its
  // gradient and both optimizers its values.
  if (s.claim.holder.load(std::memory_order_acquire) == this) return s.node;
  const Tape* expected = nullptr;
  if (!s.claim.holder.compare_exchange_strong(expected, this, std::memory_order_acq_rel)) {
    throw ConcurrentUseError(
        "a parameter (a leaf Tensor) is in use on another thread's tape, in a step that has not "
        "ended; a leaf belongs to one thread at a time: give each thread its own parameters (its "
        "own ParamStore, bound with ParamStoreScope), or end the other thread's step "
        "(tape().reset()) before using them here");
  }
  void* mem = arena_.allocate(sizeof(detail::LeafNode), alignof(detail::LeafNode));
  auto* node = new (mem) detail::LeafNode(s.data, s.grad_data(), s.rows, s.cols, next_index());
  nodes_.push_back(node);
  leaves_.push_back(storage);
  s.node = node;
  return node;
}

const Scalar* Tape::retain(const detail::StorageRef& storage) {
  retained_.push_back(storage);
  return storage->data;
}

const Scalar* Tape::retain(Scalar inline_value) {
  Scalar* p = arena_.allocate_array<Scalar>(1);
  *p = inline_value;
  return p;
}

void Tape::throw_too_large(Index rows, Index cols) {
  throw ShapeError(fmt::format(
      "an op's result of {} has a dimension past the largest vesta keeps, {} (2^31 - 1)",
      shape_str(rows, cols), kMaxDim));
}

void Tape::throw_too_many_nodes() {
  throw ValueError(
      fmt::format("the tape holds {} nodes, the most one step may record; reset it (TapeStep, or "
                  "tape().reset()) between steps",
                  kMaxNodes));
}

void Tape::backward(Node* root) {
  const std::size_t end = root->index + 1;
  // A node is made untouched; only a backward pass touches it. The first pass of a generation
  // (a step's only one, usually) finds every node as made, and skips a pass over them all.
  if (backward_ran_) {
    for (std::size_t i = 0; i < end; ++i) nodes_[i]->touched = false;
  }
  backward_ran_ = true;
  // A parameter's adjoint is its gradient buffer: it keeps what earlier passes accumulated.
  for (const auto& leaf : leaves_) leaf->node->touched = leaf->grad_live;
  root->accumulate(Array::Ones(1, 1));
  for (std::size_t i = end; i-- > 0;) {
    Node* n = nodes_[i];
    if (n->touched) n->backward();
  }
  for (const auto& leaf : leaves_) leaf->grad_live = leaf->node->touched;
}

}  // namespace vesta
