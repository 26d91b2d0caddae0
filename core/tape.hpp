// The reverse-mode tape. Every differentiable op appends one node (for a whole matrix) in
// creation order, so creation order is a topological order and the backward pass is a single
// reverse loop. Nodes and their matrices live in an arena that reset() releases in O(1).
// Parameters (leaf Tensors) live outside the tape and enter each graph as leaf nodes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__GLIBCXX__)
#include <ext/atomicity.h>
#endif

#include <vesta/core/arena.hpp>
#include <vesta/core/scalar.hpp>
#include <vesta/core/small_blocks.hpp>

namespace vesta {

class Tape;

/// One recorded op (ops are written with <vesta/core/op_support.hpp>): its output value and adjoint
/// (rows x cols), and how to pass the adjoint back to its inputs. `touched` says whether `adj`
/// holds a gradient yet; the first contribution assigns instead of adding, so adjoints never need
/// zero-filling.
struct Node {
  Scalar* value;  ///< The forward values, column-major.
  Scalar* adj;    ///< The adjoints (d output / d this), column-major.
  // 40 bytes in all with the vtable pointer: a step of a model of many small sites makes
  // several nodes per site. The tape refuses a dimension past 2^31 - 1, as a Tensor does, and
  // a 2^32-th node (Tape::check_dims, Tape::next_index).
  std::int32_t rows;     ///< Number of rows.
  std::int32_t cols;     ///< Number of columns.
  std::uint32_t index;   ///< position on the tape
  bool touched = false;  ///< Whether the backward pass has reached it.

  /// A node of shape r x c with its value and adjoint storage, at tape position i.
  Node(Scalar* v, Scalar* a, Index r, Index c, std::size_t i)
      : value(v),
        adj(a),
        rows(static_cast<std::int32_t>(r)),
        cols(static_cast<std::int32_t>(c)),
        index(static_cast<std::uint32_t>(i)) {}
  /// Number of entries.
  Index size() const { return Index(rows) * cols; }

  /// The values as an Eigen array map.
  ConstArrayMap value_array() const { return {value, rows, cols}; }
  /// The adjoints as an Eigen array map (to accumulate into).
  ArrayMap adj_array() { return {adj, rows, cols}; }
  /// The adjoints as an Eigen matrix map.
  MatrixMap adj_matrix() { return {adj, rows, cols}; }

  /// adj += e (or adj = e for the first contribution); e is an array expression of this shape.
  template <class Expr>
  void accumulate(const Expr& e) {
    if (touched) {
      adj_array() += e;
    } else {
      adj_array() = e;
      touched = true;
    }
  }
  /// accumulate() of one number into a 1x1 node.
  void accumulate_scalar(Scalar d) {
    if (touched) {
      adj[0] += d;
    } else {
      adj[0] = d;
      touched = true;
    }
  }
  /// Zero-fills adj unless it already holds a gradient (for ops that scatter into it).
  void touch() {
    if (!touched) {
      adj_array().setZero();
      touched = true;
    }
  }

  /// Passes adj back to the op's inputs (called once, by the backward pass, if touched).
  virtual void backward() = 0;

 protected:
  ~Node() = default;  // nodes live in the arena and are never destroyed one by one
};

namespace detail {

/// Which thread's tape holds a parameter (or a whole ParamStore) in the current step: null when
/// none does. A tape takes hold on first use and lets go when it is reset or destroyed, so a
/// parameter used by a second thread while the first is still in its step is an error
/// (ConcurrentUseError) instead of a data race.
struct Claim {
  std::atomic<const Tape*> holder{nullptr};
};

/// The values a Tensor owns on the heap: a constant's, or a leaf's (a parameter that
/// requires a gradient). They live in a buffer from the thread's pool (buffer_pool.hpp), so
/// that the constants a training step makes and drops (copies of data, results computed from
/// constants, draws) reuse the same memory every step, or in a Matrix a caller moved in; one
/// number lives in the Storage itself. For a leaf the tape also keeps its bookkeeping here: the
/// gradient that backward passes accumulate into until zeroed, and the leaf's node on the
/// current tape.
struct Storage {
 private:
  // The StorageRefs to it (a new Storage has the one its maker holds), counted as libstdc++'s
  // std::shared_ptr counts: atomically once the program has a second thread, with plain adds
  // before. First, in the cache line that `data` is in: a copy of a Tensor touches no other.
  int refs_ = 1;

 public:
  Scalar* data = nullptr;
  Index rows = 0;
  Index cols = 0;
  bool requires_grad = false;
  bool grad_live = false;  // false: the gradient holds nothing yet (reads as zeros)
  Node* node = nullptr;    // leaves: this leaf's node on the tape that holds `claim`
  Claim claim;             // leaves: the tape that holds the leaf in its current step

  /// Uninitialised values of shape rows x cols, from the pool (one number: held here).
  Storage(Index r, Index c);
  /// Takes over the buffer of `m` (one number: copies it here).
  explicit Storage(Matrix&& m);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  // A step makes and drops Storages of constants at every op on constants and every draw: they
  // come from the thread's small-block lists, as sample's distributions do, not from malloc.
  static void* operator new(std::size_t bytes) { return acquire_small_block(bytes); }
  static void operator delete(void* p, std::size_t bytes) noexcept {
    release_small_block(p, bytes);
  }

  /// Counts one more StorageRef to this Storage.
  void add_ref() noexcept {
#if defined(__GLIBCXX__)
    __gnu_cxx::__atomic_add_dispatch(&refs_, 1);
#else
    __atomic_fetch_add(&refs_, 1, __ATOMIC_RELAXED);
#endif
  }
  /// Counts one StorageRef fewer, and deletes the Storage when it was the last.
  void release() noexcept {
#if defined(__GLIBCXX__)
    const bool last = __gnu_cxx::__exchange_and_add_dispatch(&refs_, -1) == 1;
#else
    const bool last = __atomic_fetch_sub(&refs_, 1, __ATOMIC_ACQ_REL) == 1;
#endif
    if (last) delete this;
  }

  MatrixMap values() { return {data, rows, cols}; }
  ConstMatrixMap values() const { return {data, rows, cols}; }
  /// Exchanges the values with `other` (rows x cols): an optimizer commits a step's new values
  /// this way, without copying them. A node of the current tape keeps reading the old values,
  /// which the graph was recorded with.
  void swap_values(Matrix& other);
  /// The same for one number (holds_one()): the other slot takes `other`, which gets the old
  /// value back.
  void swap_value(Scalar& other) {
    Scalar* next = data == &one_[0] ? &one_[1] : &one_[0];
    *next = other;
    other = *data;
    data = next;
  }

  /// The gradient's rows x cols entries (a leaf's), made on first use; their values mean
  /// something only while grad_live is set.
  Scalar* grad_data() {
    if (grad_ == nullptr) [[unlikely]] {
      make_grad();
    }
    return grad_;
  }
  /// The gradient as a matrix (see grad_data()).
  MatrixMap grad_values() { return {grad_data(), rows, cols}; }

 private:
  std::size_t pooled_ = 0;  // the pool's size class of `data`; 0 when it lives in owned_ or one_
  Matrix owned_;
  Scalar* grad_ = nullptr;  // grad_one_ or grad_owned_'s entries
  Matrix grad_owned_;
  // One number's values and gradient, here rather than in buffers of their own: a model of
  // many scalar params reads each one's Storage, values and gradient every step. The values
  // take turns in two slots, so that swap_values leaves the old ones readable, as an exchange
  // of buffers does.
  Scalar one_[2] = {0, 0};
  Scalar grad_one_ = 0;
  bool holds_one() const { return data == &one_[0] || data == &one_[1]; }
  void make_grad();
};

static_assert(sizeof(Storage) <= kSmallBlockMax && alignof(Storage) <= 16,
              "a Storage comes from the small-block lists (Storage::operator new)");

/// A counted reference to a Storage: what a Tensor holds for a constant or a leaf, and what the
/// tape keeps of the leaves and constants a step reads. One pointer, where a std::shared_ptr is
/// two: a Tensor is 32 bytes, and every trace record, distribution and ELBO row holds some.
class StorageRef {
 public:
  StorageRef() noexcept = default;
  /// Takes over the one reference of a Storage just made with `new`.
  explicit StorageRef(Storage* fresh) noexcept : p_(fresh) {}
  StorageRef(const StorageRef& other) noexcept : p_(other.p_) {
    if (p_ != nullptr) p_->add_ref();
  }
  StorageRef(StorageRef&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  StorageRef& operator=(const StorageRef& other) noexcept {
    StorageRef(other).swap(*this);
    return *this;
  }
  StorageRef& operator=(StorageRef&& other) noexcept {
    StorageRef(std::move(other)).swap(*this);
    return *this;
  }
  ~StorageRef() {
    if (p_ != nullptr) p_->release();
  }
  void swap(StorageRef& other) noexcept { std::swap(p_, other.p_); }

  Storage* get() const noexcept { return p_; }
  Storage& operator*() const noexcept { return *p_; }
  Storage* operator->() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  friend bool operator==(const StorageRef& a, const StorageRef& b) noexcept { return a.p_ == b.p_; }

 private:
  Storage* p_ = nullptr;
};

template <class F>
struct FnNode final : Node {
  F fn;
  FnNode(Scalar* v, Scalar* a, Index r, Index c, std::size_t i, F&& f)
      : Node(v, a, r, c, i), fn(std::move(f)) {}
  void backward() override { fn(*this); }
};

#if defined(__x86_64__) || defined(__aarch64__)
static_assert(sizeof(Node) == 40, "a Node is 40 bytes on 64-bit targets (see its members)");
#endif

/// A parameter's node: its adjoint is the parameter's own gradient buffer.
struct LeafNode final : Node {
  using Node::Node;
  void backward() override {}
};

}  // namespace detail

/// The thread's recording of differentiable computation. Tensors computed from leaves that
/// require a gradient are recorded here; `Tensor::backward()` walks it in reverse.
/// `reset()` releases every recorded Tensor at once: using one afterwards throws
/// StaleTensorError. A training loop resets once per step and so holds steady memory.
class Tape {
 public:
  Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  /// Lets go of every parameter and store this tape holds (a thread that ends mid-step).
  ~Tape();

  /// Forgets every recorded node (O(1) in their number of bytes) and starts a new generation.
  void reset();
  /// reset(), and also returns to the system the arena's memory beyond its first block and
  /// the buffers the thread's pool keeps for reuse (buffer_pool.hpp).
  void release_memory();

  /// Incremented by every reset: stamps the Tensors recorded since.
  std::uint64_t generation() const { return generation_; }
  /// Nodes recorded since the last reset.
  std::size_t num_nodes() const { return nodes_.size(); }
  /// Bytes the arena holds (kept across resets).
  std::size_t bytes_reserved() const { return arena_.bytes_reserved(); }

  /// Records a node of shape rows x cols whose backward step is `fn(Node&)`. Its value is
  /// left uninitialised for the op to fill. `fn` is stored in the arena and never destroyed,
  /// so it may only capture trivially destructible things (pointers, numbers).
  template <class F>
  Node* record(Index rows, Index cols, F&& fn) {
    check_dims(rows, cols);
    Scalar* value = arena_.allocate_array<Scalar>(static_cast<std::size_t>(rows * cols));
    return make_node(value, rows, cols, std::forward<F>(fn));
  }

  /// Like record(), but the node's value aliases `value` (which must stay alive and unchanged
  /// for this generation) instead of owning a copy: reshape uses this.
  template <class F>
  Node* record_alias(const Scalar* value, Index rows, Index cols, F&& fn) {
    // A recorded value is never written after its op computed it.
    check_dims(rows, cols);
    return make_node(const_cast<Scalar*>(value), rows, cols, std::forward<F>(fn));
  }

  /// The leaf node of a parameter in this generation, created on first use. Throws
  /// ConcurrentUseError if another thread's tape holds the parameter (it read it in a step
  /// that has not ended).
  Node* leaf_node(const detail::StorageRef& storage);

  /// Holds `claim` for this tape until reset(): true if it is held now (also when it was
  /// already), false if another thread's tape holds it.
  bool hold(const std::shared_ptr<detail::Claim>& claim);

  /// Keeps a constant's values alive and unchanged until reset(), for a backward step that
  /// reads them; returns where they are.
  const Scalar* retain(const detail::StorageRef& storage);
  /// Keeps a scalar alive until the next reset and returns its address.
  const Scalar* retain(Scalar inline_value);

  /// Uninitialised memory for n objects valid until reset(), for what a backward step needs
  /// beyond its captures (index lists, temporaries). T must be trivially destructible.
  template <class T = Scalar>
  T* allocate(std::size_t n) {
    static_assert(std::is_trivially_destructible_v<T>);
    return arena_.allocate_array<T>(n);
  }

  /// Runs the backward pass from `root` (a 1x1 node) with seed adjoint 1.
  void backward(Node* root);

 private:
  template <class F>
  Node* make_node(Scalar* value, Index rows, Index cols, F&& fn) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_trivially_destructible_v<Fn>,
                  "a backward closure must capture only pointers and numbers");
    Scalar* adj = arena_.allocate_array<Scalar>(static_cast<std::size_t>(rows * cols));
    void* mem = arena_.allocate(sizeof(detail::FnNode<Fn>), alignof(detail::FnNode<Fn>));
    auto* node =
        new (mem) detail::FnNode<Fn>(value, adj, rows, cols, next_index(), std::forward<F>(fn));
    nodes_.push_back(node);
    return node;
  }

  // A Node keeps its dimensions and its position in 32 bits: a larger one is an error here
  // (before any allocation), never a truncation.
  static void check_dims(Index rows, Index cols) {
    if (rows > kMaxDim || cols > kMaxDim) [[unlikely]] {
      throw_too_large(rows, cols);
    }
  }
  // The position of the next node.
  std::size_t next_index() const {
    if (nodes_.size() >= kMaxNodes) [[unlikely]] {
      throw_too_many_nodes();
    }
    return nodes_.size();
  }
  static constexpr Index kMaxDim = 0x7fffffff;
  static constexpr std::size_t kMaxNodes = 0xffffffff;
  [[noreturn]] static void throw_too_large(Index rows, Index cols);
  [[noreturn]] static void throw_too_many_nodes();

  detail::Arena arena_;
  std::vector<Node*> nodes_;
  std::vector<detail::StorageRef> leaves_;            // parameters seen this generation
  std::vector<detail::StorageRef> retained_;          // constants read by backward steps
  std::vector<std::shared_ptr<detail::Claim>> held_;  // stores held this generation
  void let_go();
  std::uint64_t generation_;
  bool backward_ran_ = false;  // whether backward() ran in this generation
};

namespace detail {
// The calling thread's tape once its first use has made it (null before). A pointer with a
// constant initial value is read without the guard that a thread_local object needs, so
// tape(), which every op calls, stays a load and a test.
inline thread_local Tape* thread_tape = nullptr;
Tape& make_thread_tape();
}  // namespace detail

/// The calling thread's tape.
inline Tape& tape() {
  Tape* t = detail::thread_tape;
  return t != nullptr ? *t : detail::make_thread_tape();
}

/// One step of a training loop as a scope: the thread's tape is reset when it ends (also
/// when an exception leaves it), releasing every value the step recorded at once.
///
///     for (...) { TapeStep step; Tensor loss = ...; loss.backward(); optimizer.step(); }
class TapeStep {
 public:
  TapeStep() = default;
  ~TapeStep() { tape().reset(); }
  TapeStep(const TapeStep&) = delete;
  TapeStep& operator=(const TapeStep&) = delete;
};

}  // namespace vesta
