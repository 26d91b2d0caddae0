#include <vesta/core/param_store.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace vesta {

namespace {
ParamStore& process_store() {
  static ParamStore store;
  return store;
}
// The store a ParamStoreScope bound to this thread, if any.
thread_local ParamStore* bound_store = nullptr;
}  // namespace

std::uint64_t ParamStore::new_layout() {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

ParamStore& param_store() { return bound_store != nullptr ? *bound_store : process_store(); }

ParamStoreScope::ParamStoreScope(ParamStore& store) : previous_(bound_store) {
  bound_store = &store;
}

ParamStoreScope::~ParamStoreScope() { bound_store = previous_; }

bool ParamStore::held_by_this_thread() const {
  return claim_ != nullptr && claim_->holder.load(std::memory_order_acquire) == &tape();
}

void ParamStore::require_not_held_elsewhere(const char* what, const std::string& name) const {
  if (claim_ == nullptr) return;  // a moved-from store
  const Tape* holder = claim_->holder.load(std::memory_order_acquire);
  if (holder == nullptr || holder == &tape()) return;
  throw ConcurrentUseError(fmt::format(
      "{}{}: the param store is in use by another thread, in a step that has not ended (it read "
      "a param and has not reset its tape since); a store belongs to one thread at a time: give "
      "each thread its own (ParamStoreScope), or wait for the other thread's step to end",
      what, name.empty() ? std::string() : fmt::format(" '{}'", name)));
}

std::ptrdiff_t ParamStore::position(const std::string& name) const {
  const std::size_t last = last_found_.at.load(std::memory_order_relaxed);
  // The one after the last found first: a model reads its params in order.
  for (const std::size_t guess : {last + 1, last}) {
    if (guess < entries_.size() && detail::same_name(entries_[guess].first, name)) {
      last_found_.at.store(guess, std::memory_order_relaxed);
      return static_cast<std::ptrdiff_t>(guess);
    }
  }
  const std::ptrdiff_t at =
      index_.find(name, [this](std::size_t i) -> const std::string& { return entries_[i].first; });
  if (at >= 0) last_found_.at.store(static_cast<std::size_t>(at), std::memory_order_relaxed);
  return at;
}

void ParamStore::rebuild_index() {
  index_ = detail::NameIndex();
  auto name_at = [this](std::size_t i) -> const std::string& { return entries_[i].first; };
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    index_.insert(entries_[i].first, detail::NameIndex::hash(entries_[i].first), i, i + 1, name_at);
  }
}

const ParamStore::Entry* ParamStore::find(const std::string& name) const {
  const std::ptrdiff_t at = position(name);
  return at < 0 ? nullptr : &entries_[static_cast<std::size_t>(at)].second;
}

const ParamStore::Entry& ParamStore::get_or_create(const std::string& name,
                                                   const ConstMatrixMap& init,
                                                   const ConstraintPtr& constraint) {
  if (claim_ != nullptr && !tape().hold(claim_)) require_not_held_elsewhere("param", name);
  return find_or_create(name, init, constraint);
}

const ParamStore::Entry& ParamStore::find_or_create(const std::string& name,
                                                    const ConstMatrixMap& init,
                                                    const ConstraintPtr& constraint) {
  if (const Entry* found = find(name)) {
    const Entry& e = *found;
    if (constraint && constraint != e.constraint && e.constraint->name() != constraint->name()) {
      throw ValueError(
          fmt::format("param '{}' exists with constraint {} but was asked for with constraint {}",
                      name, e.constraint->name(), constraint->name()));
    }
    if (init.size() != 0) {
      const Index rows = e.unconstrained.rows();
      const Index cols = e.constraint->constrained_cols(e.unconstrained.cols());
      if (init.rows() != rows || init.cols() != cols) {
        throw ShapeError(fmt::format(
            "param '{}' exists with shape {} but was asked for with an initial value of shape {} "
            "(a store loaded from another model, or two params sharing a name?)",
            name, shape_str(rows, cols), shape_str(init.rows(), init.cols())));
      }
    }
    return e;
  }
  const ConstraintPtr c = constraint ? constraint : constraints::real();
  if (init.size() == 0) {
    throw ValueError(fmt::format("param '{}' does not exist yet and has no initial value", name));
  }
  if (!c->check(init)) {
    throw ValueError(fmt::format("param '{}': the initial value ({}) is outside its constraint {}",
                                 name, shape_str(init.rows(), init.cols()), c->name()));
  }
  Matrix u = c->inverse(Matrix(init));
  if (!u.allFinite()) {
    throw ValueError(fmt::format(
        "param '{}': the initial value lies on the boundary of {} (its unconstrained value is "
        "infinite); start strictly inside",
        name, c->name()));
  }
  entries_.emplace_back(name, Entry{Tensor::variable(std::move(u)), c});
  layout_ = new_layout();
  index_.insert(name, detail::NameIndex::hash(name), entries_.size() - 1, entries_.size(),
                [this](std::size_t i) -> const std::string& { return entries_[i].first; });
  return entries_.back().second;
}

const ParamStore::Entry& ParamStore::entry(const std::string& name) const {
  const Entry* e = find(name);
  if (e == nullptr) throw ValueError(fmt::format("there is no param '{}' in the store", name));
  return *e;
}

Tensor ParamStore::get(const std::string& name) const {
  const Entry& e = entry(name);
  return e.constraint->transform(e.unconstrained);
}

void ParamStore::set(const std::string& name, const Matrix& value,
                     const ConstraintPtr& constraint) {
  require_not_held_elsewhere("ParamStore::set", name);
  if (const std::ptrdiff_t at = position(name); at >= 0) {
    Entry& e = entries_[static_cast<std::size_t>(at)].second;
    if (constraint && constraint->name() != e.constraint->name()) {
      throw ValueError(fmt::format("param '{}' has constraint {}, not {}", name,
                                   e.constraint->name(), constraint->name()));
    }
    if (!e.constraint->check(value)) {
      throw ValueError(fmt::format("param '{}': the new value is outside its constraint {}", name,
                                   e.constraint->name()));
    }
    const Matrix u = e.constraint->inverse(value);
    if (!u.allFinite()) {
      throw ValueError(fmt::format(
          "param '{}': the new value is not finite in unconstrained space (a NaN, an infinity, or "
          "a value on the boundary of {})",
          name, e.constraint->name()));
    }
    if (u.rows() != e.unconstrained.rows() || u.cols() != e.unconstrained.cols()) {
      throw ShapeError(fmt::format("param '{}' is {}, the new value {}", name,
                                   e.unconstrained.shape(), shape_str(value.rows(), value.cols())));
    }
    e.unconstrained.set_value(u);
    return;
  }
  find_or_create(name, ConstMatrixMap(value.data(), value.rows(), value.cols()), constraint);
}

ParamStore ParamStore::clone() const {
  ParamStore out;
  out.entries_.reserve(entries_.size());
  for (const auto& [name, e] : entries_) {
    out.entries_.emplace_back(
        name, Entry{Tensor::variable(Matrix(e.unconstrained.value())), e.constraint});
  }
  out.rebuild_index();
  out.layout_ = new_layout();
  return out;
}

std::vector<std::string> ParamStore::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

void ParamStore::clear() {
  require_not_held_elsewhere("ParamStore::clear", "");
  entries_.clear();
  index_.clear();
  layout_ = new_layout();
}

void ParamStore::erase(const std::string& name) {
  require_not_held_elsewhere("ParamStore::erase", name);
  const std::ptrdiff_t at = position(name);
  if (at < 0) return;
  entries_.erase(entries_.begin() + at);
  layout_ = new_layout();
  rebuild_index();
}

// ---- file format -----------------------------------------------------------------------
//
//   "VESTAPS1"                       8 bytes
//   count                            u64
//   per parameter: name (u32 length + bytes), constraint spec (u32 length + bytes),
//                  rows, cols (i64 each), rows*cols unconstrained values (f64, column-major)
//   checksum                         u64, FNV-1a of everything before it
//
// Values are stored as f64 whatever the build's Scalar, so files move between builds.

namespace {

constexpr char kMagic[8] = {'V', 'E', 'S', 'T', 'A', 'P', 'S', '1'};

std::uint64_t fnv1a(const char* data, std::size_t n) {
  std::uint64_t h = 1469598103934665603ULL;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

class Writer {
 public:
  template <class T>
  void put(const T& v) {
    const char* p = reinterpret_cast<const char*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  std::vector<char> bytes;
};

class Reader {
 public:
  Reader(const std::vector<char>& bytes, std::size_t end, const std::string& path)
      : bytes_(bytes), end_(end), path_(path) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string(const char* what) {
    const auto n = get<std::uint32_t>(what);
    need(n, what);
    std::string s(bytes_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  bool at_end() const { return pos_ == end_; }
  std::size_t remaining() const { return end_ - pos_; }

 private:
  void need(std::size_t n, const char* what) {
    if (end_ - pos_ < n) {
      throw ValueError(
          fmt::format("param store file '{}' is corrupt: it ends inside {}", path_, what));
    }
  }
  const std::vector<char>& bytes_;
  std::size_t end_;
  std::size_t pos_ = 0;
  const std::string& path_;
};

struct Loaded {
  std::string name;
  ConstraintPtr constraint;
  Matrix unconstrained;
};

}  // namespace

void ParamStore::save(const std::string& path) const {
  require_not_held_elsewhere("ParamStore::save", path);
  Writer w;
  for (char c : kMagic) w.put(c);
  w.put(static_cast<std::uint64_t>(entries_.size()));
  for (const auto& [name, e] : entries_) {
    w.put_string(name);
    w.put_string(e.constraint->name());
    const Matrix u = e.unconstrained.matrix();
    w.put(static_cast<std::int64_t>(u.rows()));
    w.put(static_cast<std::int64_t>(u.cols()));
    for (Index k = 0; k < u.size(); ++k) w.put(static_cast<double>(u.data()[k]));
  }
  w.put(fnv1a(w.bytes.data(), w.bytes.size()));

  // Write a temporary file beside the target, flush it to disk, then rename it over the
  // target: rename is atomic, so readers see the old file or the whole new one.
  const std::string tmp = fmt::format("{}.tmp-{}", path, static_cast<long>(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    throw Error(fmt::format("cannot write param store file '{}': {}", tmp, std::strerror(errno)));
  std::size_t done = 0;
  while (done < w.bytes.size()) {
    const ssize_t n = ::write(fd, w.bytes.data() + done, w.bytes.size() - done);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(fmt::format("cannot write param store file '{}': {}", tmp, std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw Error(fmt::format("cannot flush param store file '{}'", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(fmt::format("cannot replace '{}': {}", path, std::strerror(err)));
  }
}

void ParamStore::load(const std::string& path) {
  require_not_held_elsewhere("ParamStore::load", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open param store file '{}'", path));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof(kMagic) + 16 ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw ValueError(fmt::format("'{}' is not a vesta param store file (or is truncated)", path));
  }
  const std::size_t body = bytes.size() - sizeof(std::uint64_t);
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + body, sizeof(stored));
  if (stored != fnv1a(bytes.data(), body)) {
    throw ValueError(fmt::format(
        "param store file '{}' is corrupt or truncated (its checksum does not match)", path));
  }

  Reader r(bytes, body, path);
  for (std::size_t i = 0; i < sizeof(kMagic); ++i) r.get<char>("the header");
  const auto count = r.get<std::uint64_t>("the header");
  std::vector<Loaded> loaded;
  for (std::uint64_t k = 0; k < count; ++k) {
    Loaded p;
    p.name = r.get_string("a parameter name");
    p.constraint = constraints::from_name(r.get_string("a constraint"));
    const auto rows = r.get<std::int64_t>("a shape");
    const auto cols = r.get<std::int64_t>("a shape");
    // The shape is checked against the bytes left before anything is allocated: a corrupt
    // shape must neither overflow rows * cols nor ask for more memory than the file backs.
    // Every param has at least one entry (a store creates none without an initial value), so
    // an empty shape is corrupt too (0 x 2^60 would also have Eigen loop over 2^60 columns).
    const auto values_left = static_cast<std::int64_t>(r.remaining() / sizeof(double));
    if (rows < 1 || cols < 1 || cols > values_left / rows) {
      throw ValueError(fmt::format(
          "param store file '{}' is corrupt: param '{}' has shape {}, but the file holds at most "
          "{} more values",
          path, p.name, shape_str(rows, cols), values_left));
    }
    p.unconstrained.resize(rows, cols);
    for (Index e = 0; e < p.unconstrained.size(); ++e) {
      p.unconstrained.data()[e] = static_cast<Scalar>(r.get<double>("parameter values"));
    }
    if (!p.unconstrained.allFinite()) {
      throw ValueError(fmt::format(
          "param store file '{}': param '{}' has a value that is not finite", path, p.name));
    }
    loaded.push_back(std::move(p));
  }
  if (!r.at_end())
    throw ValueError(fmt::format("param store file '{}' is corrupt: trailing data", path));

  // Check everything before changing anything.
  for (const Loaded& p : loaded) {
    const Entry* found = find(p.name);
    if (found == nullptr) continue;
    const Entry& e = *found;
    if (e.constraint->name() != p.constraint->name()) {
      throw ValueError(fmt::format("param '{}' in '{}' has constraint {}, the store's has {}",
                                   p.name, path, p.constraint->name(), e.constraint->name()));
    }
    if (e.unconstrained.rows() != p.unconstrained.rows() ||
        e.unconstrained.cols() != p.unconstrained.cols()) {
      throw ShapeError(fmt::format("param '{}' in '{}' is {}, the store's is {}", p.name, path,
                                   shape_str(p.unconstrained.rows(), p.unconstrained.cols()),
                                   e.unconstrained.shape()));
    }
  }
  for (Loaded& p : loaded) {
    if (const Entry* e = find(p.name)) {
      e->unconstrained.set_value(p.unconstrained);
    } else {
      entries_.emplace_back(p.name,
                            Entry{Tensor::variable(std::move(p.unconstrained)), p.constraint});
      layout_ = new_layout();
      index_.insert(p.name, detail::NameIndex::hash(p.name), entries_.size() - 1, entries_.size(),
                    [this](std::size_t i) -> const std::string& { return entries_[i].first; });
    }
  }
}

}  // namespace vesta
