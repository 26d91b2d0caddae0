#include <vesta/inference/distributed/data_parallel.hpp>

#include <chrono>

#include <fmt/format.h>

#include <vesta/core/random.hpp>

namespace vesta {

namespace {

// FNV-1a over the params' names and shapes, in store order: equal on ranks holding the same
// params.
std::uint64_t layout_of(const ParamStore& store) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::uint64_t byte) {
    h ^= byte;
    h *= 1099511628211ULL;
  };
  for (const auto& [name, e] : store.entries()) {
    for (char c : name) mix(static_cast<unsigned char>(c));
    mix(0);
    for (Index n : {e.unconstrained.rows(), e.unconstrained.cols()}) {
      for (int k = 0; k < 8; ++k) mix((static_cast<std::uint64_t>(n) >> (8 * k)) & 0xff);
    }
  }
  return h;
}

Index entry_count(const ParamStore& store) {
  Index n = 0;
  for (const auto& entry : store.entries()) n += entry.second.unconstrained.size();
  return n;
}

void clear_grads(const ParamStore& store) {
  for (const auto& entry : store.entries()) entry.second.unconstrained.zero_grad();
}

using Clock = std::chrono::steady_clock;

}  // namespace

DataParallel::DataParallel(Communicator comm) : comm_(std::move(comm)) {}

void DataParallel::seed(std::uint64_t seed) const {
  thread_rng() = comm_.rank() == 0 ? Rng(seed) : Rng(seed).fork(std::uint64_t(comm_.rank()));
}

std::vector<Index> DataParallel::shard(const std::vector<Index>& global_rows) {
  const auto B = static_cast<Index>(global_rows.size());
  const Index R = comm_.size(), r = comm_.rank();
  const Index base = B / R, extra = B % R;
  const Index first = r * base + std::min(r, extra);
  const Index count = base + (r < extra ? 1 : 0);
  weight_ = B > 0 ? double(count) / double(B) : 0;
  weight_set_ = true;
  return {global_rows.begin() + first, global_rows.begin() + first + count};
}

void DataParallel::check_step(std::exception_ptr error, const ParamStore& store,
                              std::uint64_t store_layout) {
  // One all-reduce of maxima: the lowest failing rank (as size - rank), and each value of the
  // layout with its negation, so that max == -max(-x) says every rank has the same.
  const auto layout = static_cast<std::int64_t>(store_layout >> 1);
  const auto count = static_cast<std::int64_t>(store.size());
  std::vector<std::int64_t> v = {error ? std::int64_t(comm_.size() - comm_.rank()) : 0, layout,
                                 -layout, count, -count};
  comm_.all_reduce_max(v);
  if (v[0] != 0) {
    clear_grads(store);
    const int root = comm_.size() - static_cast<int>(v[0]);
    const std::string message =
        comm_.broadcast(root == comm_.rank() ? error_message(error) : std::string(), root);
    throw DistributedError(fmt::format("rank {} of {} failed: {}", root, comm_.size(), message));
  }
  if (v[1] != -v[2] || v[3] != -v[4]) {
    clear_grads(store);
    throw DistributedError(fmt::format(
        "DataParallel: the ranks hold different params (between {} and {} params, or the same "
        "number with other names or shapes); every rank must make the same params",
        -v[4], v[3]));
  }
}

void DataParallel::broadcast_params(ParamStore& store) const {
  // check_step is not const (it clears gradients on a throw); the check is the same.
  const std::uint64_t layout = layout_of(store);
  const_cast<DataParallel*>(this)->check_step(nullptr, store, layout);
  std::vector<Scalar> values(static_cast<std::size_t>(entry_count(store)));
  std::size_t offset = 0;
  for (const auto& entry : store.entries()) {
    MatrixMap x = entry.second.unconstrained.leaf_values();
    std::copy(x.data(), x.data() + x.size(), values.begin() + std::ptrdiff_t(offset));
    offset += std::size_t(x.size());
  }
  comm_.broadcast(values.data(), values.size(), 0);
  offset = 0;
  for (const auto& entry : store.entries()) {
    MatrixMap x = entry.second.unconstrained.leaf_values();
    std::copy(values.begin() + std::ptrdiff_t(offset),
              values.begin() + std::ptrdiff_t(offset) + x.size(), x.data());
    offset += std::size_t(x.size());
  }
  auto* self = const_cast<DataParallel*>(this);
  self->synced_layout_ = layout;
  self->synced_ = true;
}

double DataParallel::reduce(double loss, ParamStore& store) {
  const auto start = Clock::now();
  const std::uint64_t layout = layout_of(store);
  check_step(nullptr, store, layout);
  if (!synced_ || layout != synced_layout_) {
    clear_grads(store);
    throw DistributedError(
        "DataParallel: the params are not those of the last broadcast_params() (a param made "
        "inside a step starts from a different value on each rank); make every param before "
        "training (one svi.evaluate_loss(...) does) and call broadcast_params()");
  }
  // One buffer: weight x gradient of every param (zeros where a rank has none), a flag per
  // param saying a rank had a gradient, then weight x loss and the weight.
  const double w = weight_set_ ? weight_ : 1.0;
  weight_set_ = false;
  const auto& entries = store.entries();
  const std::size_t size = std::size_t(entry_count(store)) + entries.size() + 2;
  buffer_.assign(size, Scalar(0));
  std::size_t offset = 0;
  for (const auto& entry : entries) {
    const Tensor& leaf = entry.second.unconstrained;
    if (leaf.has_grad()) {
      MatrixMap g = leaf.leaf_grad();
      for (Index k = 0; k < g.size(); ++k)
        buffer_[offset + std::size_t(k)] = Scalar(w) * g.data()[k];
    }
    offset += std::size_t(leaf.size());
  }
  for (std::size_t p = 0; p < entries.size(); ++p) {
    buffer_[offset + p] = entries[p].second.unconstrained.has_grad() ? 1 : 0;
  }
  buffer_[size - 2] = Scalar(w * loss);
  buffer_[size - 1] = Scalar(w);
  comm_.all_reduce_sum(buffer_);
  const Scalar total_weight = buffer_[size - 1];
  if (!(total_weight > 0)) {
    clear_grads(store);
    throw DistributedError("DataParallel: every rank's share of the batch was empty");
  }
  offset = 0;
  for (std::size_t p = 0; p < entries.size(); ++p) {
    const Tensor& leaf = entries[p].second.unconstrained;
    const std::size_t n = std::size_t(leaf.size());
    if (buffer_[size - 2 - entries.size() + p] > 0) {
      MatrixMap g = leaf.leaf_grad();
      for (std::size_t k = 0; k < n; ++k) g.data()[k] = buffer_[offset + k] / total_weight;
    } else {
      leaf.zero_grad();
    }
    offset += n;
  }
  ++stats_.steps;
  stats_.bytes = size * sizeof(Scalar);
  stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  return double(buffer_[size - 2] / total_weight);
}

void DataParallel::fail(std::exception_ptr error, ParamStore& store) {
  weight_set_ = false;
  check_step(error, store, layout_of(store));
  // check_step throws for every error; not reached.
  throw DistributedError("rank failed: " + error_message(error));
}

}  // namespace vesta
