#include <vesta/core/tape.hpp>

#include <atomic>

namespace vesta {

namespace {
// Generations are unique across all tapes of all threads, so a Tensor recorded on one
// thread's tape is also recognised as foreign (stale) on another's.
std::uint64_t next_generation() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}
}  // namespace

Tape::Tape() : generation_(next_generation()) {}

Tape& tape() {
  thread_local Tape t;
  return t;
}

void Tape::reset() {
  nodes_.clear();
  leaves_.clear();
  retained_.clear();
  arena_.reset();
  generation_ = next_generation();
}

void Tape::release_memory() {
  reset();
  arena_.release();
  nodes_.shrink_to_fit();
  leaves_.shrink_to_fit();
  retained_.shrink_to_fit();
}

Node* Tape::leaf_node(const std::shared_ptr<detail::Storage>& storage) {
  detail::Storage& s = *storage;
  if (s.node != nullptr && s.node_generation == generation_) return s.node;
  if (s.grad.rows() != s.value.rows() || s.grad.cols() != s.value.cols()) {
    s.grad.resize(s.value.rows(), s.value.cols());
    s.grad_live = false;
  }
  void* mem = arena_.allocate(sizeof(detail::LeafNode), alignof(detail::LeafNode));
  auto* node = new (mem) detail::LeafNode(s.value.data(), s.grad.data(), s.value.rows(),
                                          s.value.cols(), nodes_.size());
  nodes_.push_back(node);
  leaves_.push_back(storage);
  s.node = node;
  s.node_generation = generation_;
  return node;
}

const Scalar* Tape::retain(const std::shared_ptr<detail::Storage>& storage) {
  retained_.push_back(storage);
  return storage->value.data();
}

const Scalar* Tape::retain(Scalar inline_value) {
  Scalar* p = arena_.allocate_array<Scalar>(1);
  *p = inline_value;
  return p;
}

void Tape::backward(Node* root) {
  const std::size_t end = root->index + 1;
  for (std::size_t i = 0; i < end; ++i) nodes_[i]->touched = false;
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
