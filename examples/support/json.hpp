// A small JSON reader for the tests' data files (posteriordb's data and reference posteriors):
// objects, arrays, numbers, strings (with the simple escapes), true, false, null. It reads
// bytes from outside, so every malformed input is a std::runtime_error naming the byte
// offset and what was expected; nesting is limited so that no input can exhaust the stack.
#pragma once

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace vesta::examples {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::map<std::string, Json>;

  Json() = default;
  explicit Json(double v) : value_(v) {}
  explicit Json(bool v) : value_(v) {}
  explicit Json(std::string v) : value_(std::move(v)) {}
  explicit Json(Array v) : value_(std::make_shared<Array>(std::move(v))) {}
  explicit Json(Object v) : value_(std::make_shared<Object>(std::move(v))) {}

  bool is_number() const { return std::holds_alternative<double>(value_); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(value_); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(value_); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }

  double number() const {
    if (!is_number()) throw std::runtime_error("json: expected a number");
    return std::get<double>(value_);
  }
  const std::string& string() const {
    if (!is_string()) throw std::runtime_error("json: expected a string");
    return std::get<std::string>(value_);
  }
  const Array& array() const {
    if (!is_array()) throw std::runtime_error("json: expected an array");
    return *std::get<std::shared_ptr<Array>>(value_);
  }
  const Object& object() const {
    if (!is_object()) throw std::runtime_error("json: expected an object");
    return *std::get<std::shared_ptr<Object>>(value_);
  }
  /// The member `key` of an object; throws naming the key when it is absent.
  const Json& operator[](const std::string& key) const {
    const Object& o = object();
    auto it = o.find(key);
    if (it == o.end()) throw std::runtime_error("json: no member '" + key + "'");
    return it->second;
  }
  bool contains(const std::string& key) const { return is_object() && object().count(key) != 0; }
  /// An array of numbers.
  std::vector<double> numbers() const {
    std::vector<double> out;
    for (const Json& v : array()) out.push_back(v.number());
    return out;
  }

  static Json parse(const std::string& text) {
    Parser p{text, 0};
    Json v = p.value(0);
    p.skip_space();
    if (p.pos != text.size()) p.fail("the end of the input");
    return v;
  }
  static Json parse_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("json: cannot open " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
      return parse(ss.str());
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(path + ": " + e.what());
    }
  }

 private:
  struct Parser {
    const std::string& s;
    std::size_t pos;

    [[noreturn]] void fail(const std::string& expected) const {
      throw std::runtime_error("json: at byte " + std::to_string(pos) + ", expected " + expected);
    }
    void skip_space() {
      while (pos < s.size() &&
             (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t'))
        ++pos;
    }
    bool literal(const char* word) {
      const std::string w(word);
      if (s.compare(pos, w.size(), w) != 0) return false;
      pos += w.size();
      return true;
    }
    Json value(int depth) {
      if (depth > 64) fail("less nesting (at most 64 levels)");
      skip_space();
      if (pos >= s.size()) fail("a value");
      const char c = s[pos];
      if (c == '{') return object(depth);
      if (c == '[') return array(depth);
      if (c == '"') return Json(string());
      if (literal("true")) return Json(true);
      if (literal("false")) return Json(false);
      if (literal("null")) return Json();
      return number();
    }
    Json number() {
      const std::size_t start = pos;
      if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ++pos;
      while (pos < s.size() &&
             (std::isdigit(static_cast<unsigned char>(s[pos])) != 0 || s[pos] == '.' ||
              s[pos] == 'e' || s[pos] == 'E' || s[pos] == '-' || s[pos] == '+'))
        ++pos;
      const std::string text = s.substr(start, pos - start);
      if (text.empty()) {
        pos = start;
        fail("a value");
      }
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) {
        pos = start;
        fail("a number");
      }
      return Json(v);
    }
    std::string string() {
      ++pos;  // the opening quote
      std::string out;
      while (pos < s.size() && s[pos] != '"') {
        char c = s[pos++];
        if (c == '\\') {
          if (pos >= s.size()) fail("an escaped character");
          const char e = s[pos++];
          switch (e) {
            case 'n':
              c = '\n';
              break;
            case 't':
              c = '\t';
              break;
            case 'r':
              c = '\r';
              break;
            case 'b':
              c = '\b';
              break;
            case 'f':
              c = '\f';
              break;
            case 'u':
              if (pos + 4 > s.size()) fail("four hex digits");
              pos += 4;
              c = '?';  // the data files need no code points beyond ASCII
              break;
            default:
              c = e;
          }
        }
        out += c;
      }
      if (pos >= s.size()) fail("a closing quote");
      ++pos;
      return out;
    }
    Json array(int depth) {
      ++pos;
      Array out;
      skip_space();
      if (pos < s.size() && s[pos] == ']') {
        ++pos;
        return Json(std::move(out));
      }
      for (;;) {
        out.push_back(value(depth + 1));
        skip_space();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == ']') {
          ++pos;
          return Json(std::move(out));
        }
        fail("',' or ']'");
      }
    }
    Json object(int depth) {
      ++pos;
      Object out;
      skip_space();
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        return Json(std::move(out));
      }
      for (;;) {
        skip_space();
        if (pos >= s.size() || s[pos] != '"') fail("a member name");
        std::string key = string();
        skip_space();
        if (pos >= s.size() || s[pos] != ':') fail("':'");
        ++pos;
        out[key] = value(depth + 1);
        skip_space();
        if (pos < s.size() && s[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < s.size() && s[pos] == '}') {
          ++pos;
          return Json(std::move(out));
        }
        fail("',' or '}'");
      }
    }
  };

  std::variant<std::monostate, double, bool, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      value_;
};

}  // namespace vesta::examples
