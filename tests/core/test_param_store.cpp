// The ParamStore: param() creates once and then reads; gradients reach the unconstrained
// leaf; save/load round-trips, writes atomically and rejects corrupt or mismatched files.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;
using Catch::Matchers::Contains;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("vesta_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}
struct Fresh {
  Fresh() { param_store().clear(); }
  ~Fresh() {
    param_store().clear();
    tape().reset();
  }
};
}  // namespace

TEST_CASE("param creates on first use, then reads, through its constraint", "[core][params]") {
  Fresh fresh;
  const Tensor s = param("scale", Matrix::Constant(2, 1, 0.5), constraints::positive());
  CHECK(s.matrix().isApprox(Matrix::Constant(2, 1, 0.5)));
  const ParamStore::Entry& e = param_store().entry("scale");
  CHECK(e.unconstrained.matrix().isApprox(Matrix::Constant(2, 1, std::log(0.5))));
  // A second call ignores init and reads the stored value.
  CHECK(param("scale", Matrix::Constant(2, 1, 9), constraints::positive())
            .matrix()
            .isApprox(s.matrix()));
  CHECK(param("scale").matrix().isApprox(s.matrix()));
  // The gradient flows through exp to the unconstrained leaf: d/du sum(exp(u)) = exp(u).
  sum(param("scale")).backward();
  CHECK(e.unconstrained.grad().isApprox(Matrix::Constant(2, 1, 0.5)));
  CHECK(param_store().names() == std::vector<std::string>{"scale"});
  CHECK_THROWS_WITH(param("missing"), Contains("'missing'"));
  CHECK_THROWS_WITH(param("scale", Matrix::Ones(2, 1), constraints::real()),
                    Contains("positive") && Contains("real"));
  CHECK_THROWS_WITH(param("bad", Matrix::Constant(1, 1, -1), constraints::positive()),
                    Contains("'bad'") && Contains("positive"));
  param_store().set("scale", Matrix::Constant(2, 1, 2));
  CHECK(param("scale")(1, 0) == Approx(2));
  param_store().erase("scale");
  CHECK_FALSE(param_store().contains("scale"));
}

TEST_CASE("a 1x1 param takes its initial value as a number", "[core][params]") {
  Fresh fresh;
  const Tensor s = param("s", 0.5, constraints::positive());
  CHECK(s.rows() == 1);
  CHECK(s.cols() == 1);
  CHECK(s.item() == Approx(0.5));
  CHECK(param_store().entry("s").unconstrained.item() == Approx(std::log(0.5)));
  // Later reads ignore the number, as they ignore a Matrix init, and read the stored value.
  param_store().set("s", Matrix::Constant(1, 1, 2));
  CHECK(param("s", 0.5, constraints::positive()).item() == Approx(2));
  CHECK(param("loc", 0).item() == 0);  // an integer literal reads as the number it is
  // The same checks as with a Matrix: a value outside the constraint, another shape, another
  // constraint.
  CHECK_THROWS_WITH(param("bad", -1.0, constraints::positive()),
                    Contains("'bad'") && Contains("positive"));
  param("column", Matrix::Zero(3, 1));
  CHECK_THROWS_WITH(param("column", 0.0),
                    Contains("'column'") && Contains("3x1") && Contains("1x1"));
  CHECK_THROWS_WITH(param("s", 1.0, constraints::real()), Contains("positive") && Contains("real"));
  // A substitute handler checks a given value's shape against the number's 1x1.
  {
    SubstituteMessenger sub({{"fresh", Tensor(Matrix::Zero(2, 1))}});
    CHECK_THROWS_WITH(param("fresh", 1.0), Contains("'fresh'") && Contains("1x1"));
  }
}

TEST_CASE("params read in any order, or after an erase, are the ones asked for", "[core][params]") {
  // Lookups look first where the last name was found (reads in creation order); every other
  // order, and positions moved by erase(), must find the same entries.
  Fresh fresh;
  constexpr int kParams = 40;
  auto name = [](int k) { return fmt::format("p{}", k); };
  for (int k = 0; k < kParams; ++k) param(name(k), Matrix::Constant(1, 1, k));
  auto reads_right = [&](const std::vector<int>& order) {
    int right = 0;
    for (const int k : order) right += param(name(k)).item() == Scalar(k);
    return right == int(order.size());
  };
  std::vector<int> order(kParams);
  std::iota(order.begin(), order.end(), 0);
  CHECK(reads_right(order));
  std::reverse(order.begin(), order.end());
  CHECK(reads_right(order));
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  CHECK(reads_right(order));
  CHECK(reads_right({5, 5, 6, 5, 7, 6}));  // the same name again, and back one
  param_store().erase(name(10));
  CHECK_FALSE(param_store().contains(name(10)));
  order.erase(std::find(order.begin(), order.end(), 10));
  CHECK(reads_right(order));
  std::sort(order.begin(), order.end());
  CHECK(reads_right(order));
  CHECK_THROWS_WITH(param(name(10)), Contains("'p10'"));
}

TEST_CASE("a store's layout changes with every param added or removed, and only then",
          "[core][params]") {
  ParamStore store;
  const auto none = store.layout();
  store.get_or_create("a", Matrix::Constant(1, 1, 1), nullptr);
  const auto with_a = store.layout();
  CHECK(with_a != none);
  // Reading, setting a value and taking a step's gradient leave it.
  store.get_or_create("a", Matrix(), nullptr);
  store.set("a", Matrix::Constant(1, 1, 2));
  CHECK(store.entry("a").unconstrained.matrix()(0, 0) == 2);
  CHECK(store.layout() == with_a);
  // A copy has the same names in the same order: the same layout, until either changes.
  ParamStore copy = store;
  CHECK(copy.layout() == with_a);
  store.get_or_create("b", Matrix::Constant(1, 1, 1), nullptr);
  const auto with_b = store.layout();
  CHECK(with_b != with_a);
  CHECK(copy.layout() == with_a);
  copy.get_or_create("c", Matrix::Constant(1, 1, 1), nullptr);
  CHECK(copy.layout() != with_b);  // never reused, though the copy also has two params now
  CHECK(copy.layout() != with_a);
  store.erase("a");
  CHECK(store.layout() != with_b);
  const auto before_clear = store.layout();
  store.clear();
  CHECK(store.layout() != before_clear);
  CHECK(store.clone().layout() != copy.clone().layout());
}

TEST_CASE("names are equal only when every character is, at every length", "[core][params]") {
  // Lookups of traces and the store compare names a word at a time (whole words, then the last
  // word, overlapping; or two overlapping halves; or byte by byte below four characters): a
  // difference at any position of any length must tell them apart.
  int wrong = 0, cases = 0;
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'x');
    for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + (i * 7) % 26);
    ++cases;
    wrong += !detail::same_name(a, std::string(a));
    wrong += detail::same_name(a, a + "y") || detail::same_name(a + "y", a);  // a prefix
    for (std::size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = static_cast<char>(b[i] ^ 0x20);
      ++cases;
      wrong += detail::same_name(a, b) || detail::same_name(b, a);
    }
  }
  CHECK(cases == 41 + 40 * 41 / 2);
  CHECK(wrong == 0);
}

TEST_CASE("param's initializer runs only when the parameter is created", "[core][params]") {
  Fresh fresh;
  int calls = 0;
  auto init = [&calls] {
    ++calls;
    return Matrix(Matrix::Constant(1, 3, 0.25));
  };
  const Tensor first = param("w", init, constraints::positive());
  CHECK(calls == 1);
  CHECK(first.matrix().isApprox(Matrix::Constant(1, 3, 0.25)));
  param_store().set("w", Matrix::Constant(1, 3, 4));
  CHECK(param("w", init, constraints::positive())(0, 2) == Approx(4));
  CHECK(calls == 1);
  // An initializer's bad value is refused like a given one, naming the parameter.
  CHECK_THROWS_WITH(
      param(
          "v", [] { return Matrix(Matrix::Constant(1, 1, -1)); }, constraints::positive()),
      Contains("'v'") && Contains("positive"));
}

TEST_CASE("the param store saves and loads every parameter", "[core][params]") {
  Fresh fresh;
  param("a", Matrix::Constant(2, 3, 1.25));
  param("b", Matrix::Constant(1, 4, 0.25), constraints::simplex());
  param("c", Matrix::Constant(1, 1, 0.7), constraints::interval(0.5, 2));
  const std::string path = temp_path("roundtrip.bin");
  param_store().save(path);
  const Matrix b_before = param("b").matrix();
  param_store().clear();
  param_store().load(path);
  CHECK(param_store().names() == std::vector<std::string>{"a", "b", "c"});
  CHECK(param("a").matrix() == Matrix::Constant(2, 3, 1.25));
  CHECK(param("b").matrix().isApprox(b_before));
  CHECK(param_store().entry("c").constraint->name() == "interval(0.5, 2)");
  CHECK(param("c").item() == Approx(0.7));
  // Loading into a store that has the parameters updates them in place (same leaves).
  const Tensor leaf = param_store().entry("a").unconstrained;
  leaf.set_value(Matrix::Zero(2, 3));
  param_store().load(path);
  CHECK(leaf.matrix() == Matrix::Constant(2, 3, 1.25));
  // No temporary file is left beside it.
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    if (entry.path().string().rfind(path, 0) == 0) ++files;
  }
  CHECK(files == 1);
  std::remove(path.c_str());
}

TEST_CASE("loading a corrupt, truncated or mismatched file is a clear error", "[core][params]") {
  Fresh fresh;
  param("w", Matrix::Constant(3, 2, 0.5));
  param("s", Matrix::Constant(1, 1, 2), constraints::positive());
  const std::string path = temp_path("bad.bin");
  param_store().save(path);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  };
  const std::string good = bytes;

  write(good.substr(0, good.size() / 2));
  CHECK_THROWS_WITH(param_store().load(path), Contains("truncated") || Contains("corrupt"));
  std::string flipped = good;
  flipped[40] ^= 0x10;
  write(flipped);
  CHECK_THROWS_WITH(param_store().load(path), Contains("corrupt"));
  write("not a param file at all");
  CHECK_THROWS_WITH(param_store().load(path), Contains("not a vesta param store file"));
  CHECK_THROWS_WITH(param_store().load(temp_path("missing.bin")), Contains("cannot open"));

  // Mismatched shape or constraint: an error naming the parameter, and nothing changes.
  write(good);
  param_store().clear();
  param("w", Matrix::Constant(2, 2, 9));
  param("s", Matrix::Constant(1, 1, 2), constraints::positive());
  CHECK_THROWS_WITH(param_store().load(path),
                    Contains("'w'") && Contains("3x2") && Contains("2x2"));
  CHECK(param("w")(0, 0) == 9);
  param_store().clear();
  param("s", Matrix::Constant(1, 1, 2), constraints::real());
  CHECK_THROWS_WITH(param_store().load(path),
                    Contains("'s'") && Contains("positive") && Contains("real"));
  std::remove(path.c_str());
}

TEST_CASE("a corrupt shape behind a valid checksum is an error, before any allocation",
          "[core][params]") {
  // Found by fuzzing (tests/fuzz): rows * cols overflowed; a shape up to 2^40 entries was
  // allocated before the file was found to be too short for it; and a 0 x 2^60 shape hung in
  // Eigen's allFinite, which walks every (empty) column.
  Fresh fresh;
  auto file = [](std::int64_t rows, std::int64_t cols) {
    std::string b = "VESTAPS1";
    auto put = [&b](const auto& v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(std::uint64_t{1});
    put(std::uint32_t{1});
    b += "w";
    put(std::uint32_t{4});
    b += "real";
    put(rows);
    put(cols);
    put(1.5);
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a, the format's checksum
    for (unsigned char c : b) h = (h ^ c) * 1099511628211ULL;
    put(h);
    return b;
  };
  const std::string path = temp_path("shape.bin");
  for (const auto& [rows, cols] :
       {std::pair<std::int64_t, std::int64_t>{7566047373982433281, 2912810220355155054},
        {1 << 20, 1 << 19},
        {2, 1},
        {-1, 1},
        {0, std::int64_t{1} << 60}}) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << file(rows, cols);
    }
    INFO(rows << " x " << cols);
    CHECK_THROWS_WITH(param_store().load(path), Contains("corrupt") && Contains("'w'"));
    CHECK(param_store().size() == 0);
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << file(1, 1);
  }
  param_store().load(path);
  CHECK(param_store().entry("w").unconstrained.item() == 1.5);
  std::remove(path.c_str());
}

TEST_CASE("a save killed midway leaves the old file or the new one, never half",
          "[core][params][slow]") {
  Fresh fresh;
  const std::string path = temp_path("atomic.bin");
  param("big", Matrix::Constant(2000, 1000, 1));  // 16 MB: a write takes a while
  param_store().save(path);
  for (int attempt = 0; attempt < 6; ++attempt) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      param_store().set("big", Matrix::Constant(2000, 1000, 2 + attempt));
      for (;;) param_store().save(path);  // until killed
    }
    ::usleep(static_cast<useconds_t>(3000 + 7000 * attempt));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    param_store().load(path);  // throws if the file were half-written
    const Scalar v = param("big")(1999, 999);
    CHECK((v == 1 || v == 2 + attempt || (v >= 2 && v < 2 + attempt)));
    CHECK(param("big")(0, 0) == v);
  }
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    if (entry.path().string().rfind(path, 0) == 0) std::filesystem::remove(entry.path());
  }
}
