// Checks that a tutorial chapter and its compiled program agree, so that neither can drift:
//
//   check_chapter <chapter.md> <chapter.cpp> <program> [<argument>...]
//
// 1. Code. Every ```cpp block of the chapter must be, line for line, one snippet of the
//    program's source: the lines between `// [snippet NAME]` and `// [end]`, with the
//    indentation they share removed. A snippet the chapter never shows is an error too (a
//    block deleted from the text would leave its code behind unexplained).
// 2. Numbers. The program is run with its arguments (in the current directory, where it
//    writes its PNGs; <program> may be a launcher such as mpiexec, with the chapter's program
//    among its arguments) and prints lines `value NAME = NUMBER`. Wherever the chapter writes a
//    number followed by the marker `<!-- check NAME tol=T -->` (absolute) or
//    `<!-- check NAME rel=R -->` (relative), the number must be within that tolerance of the
//    run's value of NAME.
// 3. Outputs. The program prints `[output NAME]` ... `[end]` around text a chapter shows
//    (a trace table). A ```text block right after the marker `<!-- output NAME tol=T -->`
//    must equal it word for word, numbers within T.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

int failures = 0;

void fail(const std::string& what) {
  std::cerr << "check_chapter: " << what << "\n";
  ++failures;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "check_chapter: cannot read " << path << "\n";
    std::exit(2);
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  return s;
}

// Lines with their shared indentation removed, joined by newlines.
std::string dedent(const std::vector<std::string>& lines) {
  std::size_t common = std::string::npos;
  for (const std::string& l : lines) {
    if (rstrip(l).empty()) continue;
    common = std::min(common, l.find_first_not_of(' '));
  }
  std::string out;
  for (const std::string& l : lines) {
    const std::string r = rstrip(l);
    out += (r.size() > common ? r.substr(common) : std::string()) + "\n";
  }
  return out;
}

std::map<std::string, std::string> snippets(const std::vector<std::string>& source) {
  static const std::regex open(R"(^\s*// \[snippet ([A-Za-z0-9_]+)\]\s*$)");
  static const std::regex close(R"(^\s*// \[end\]\s*$)");
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < source.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(source[i], m, open)) continue;
    const std::string name = m[1];
    std::vector<std::string> body;
    std::size_t j = i + 1;
    while (j < source.size() && !std::regex_match(source[j], close)) body.push_back(source[j++]);
    if (j == source.size()) fail("snippet '" + name + "' has no // [end]");
    if (out.count(name) != 0) fail("snippet '" + name + "' is defined twice");
    out[name] = dedent(body);
    i = j;
  }
  return out;
}

struct Block {
  std::string lang;
  std::string text;
  std::size_t line;       // 1-based line of the opening fence
  std::string preceding;  // the last non-empty line before the fence
};

std::vector<Block> fenced_blocks(const std::vector<std::string>& md) {
  std::vector<Block> out;
  for (std::size_t i = 0; i < md.size(); ++i) {
    const std::string l = rstrip(md[i]);
    if (l.rfind("```", 0) != 0) continue;
    Block b{l.substr(3), "", i + 1, ""};
    for (std::size_t k = i; k-- > 0;) {
      if (!rstrip(md[k]).empty()) {
        b.preceding = md[k];
        break;
      }
    }
    std::size_t j = i + 1;
    for (; j < md.size() && rstrip(md[j]) != "```"; ++j) b.text += rstrip(md[j]) + "\n";
    out.push_back(b);
    i = j;
  }
  return out;
}

// `word` as one word of a POSIX shell command, whatever characters it holds (a build path
// with spaces): in single quotes, each ' in it written '\''.
std::string shell_quoted(const std::string& word) {
  std::string q = "'";
  for (const char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string run(const std::string& program, int& status) {
  std::FILE* p = popen(program.c_str(), "r");
  if (p == nullptr) {
    std::cerr << "check_chapter: cannot run " << program << "\n";
    std::exit(2);
  }
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  status = pclose(p);
  return out;
}

bool is_number(const std::string& w, double& v) {
  char* end = nullptr;
  v = std::strtod(w.c_str(), &end);
  return !w.empty() && end == w.c_str() + w.size();
}

// Equal word for word, numbers within tol (a trailing comma or parenthesis is split off).
bool same_text(const std::string& a, const std::string& b, double tol, std::string& why) {
  auto words = [](const std::string& s) {
    std::vector<std::string> w;
    std::string cur;
    for (char c : s) {
      if (c == ' ' || c == '\n' || c == ',' || c == '(' || c == ')' || c == '=') {
        if (!cur.empty()) w.push_back(cur);
        cur.clear();
        if (c != ' ' && c != '\n') w.push_back(std::string(1, c));
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) w.push_back(cur);
    return w;
  };
  const auto wa = words(a), wb = words(b);
  if (wa.size() != wb.size()) {
    why = "different number of words (" + std::to_string(wa.size()) + " in the chapter, " +
          std::to_string(wb.size()) + " in the run)";
    return false;
  }
  for (std::size_t i = 0; i < wa.size(); ++i) {
    double x, y;
    if (is_number(wa[i], x) && is_number(wb[i], y)) {
      if (std::abs(x - y) > tol) {
        why = "'" + wa[i] + "' in the chapter, '" + wb[i] + "' in the run";
        return false;
      }
    } else if (wa[i] != wb[i]) {
      why = "'" + wa[i] + "' in the chapter, '" + wb[i] + "' in the run";
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: check_chapter <chapter.md> <chapter.cpp> <program> [<argument>...]\n";
    return 2;
  }
  const std::string md_path = argv[1], cpp_path = argv[2];
  std::string program = shell_quoted(argv[3]);
  for (int i = 4; i < argc; ++i) {
    program += ' ';
    program += shell_quoted(argv[i]);
  }
  const auto md = read_lines(md_path);
  const auto regions = snippets(read_lines(cpp_path));
  const auto blocks = fenced_blocks(md);

  // 1. Code blocks against snippets.
  std::map<std::string, int> shown;
  for (const Block& b : blocks) {
    if (b.lang != "cpp") continue;
    bool found = false;
    for (const auto& [name, text] : regions) {
      if (text == b.text) {
        shown[name]++;
        found = true;
      }
    }
    if (!found) {
      fail(md_path + ":" + std::to_string(b.line) + ": this ```cpp block is no snippet of " +
           cpp_path + " (copy it from a // [snippet NAME] region, or change the region)");
    }
  }
  for (const auto& [name, text] : regions) {
    if (shown.count(name) == 0) fail("snippet '" + name + "' is not shown in " + md_path);
  }
  std::cout << "check_chapter: " << shown.size() << " snippets of " << cpp_path
            << " shown in the chapter, word for word\n";

  // 2. Run the program.
  int status = 0;
  const std::string out = run(program, status);
  std::cout << out;
  if (status != 0) {
    fail(program + " exited with status " + std::to_string(status));
    return 1;
  }
  std::map<std::string, double> values;
  std::map<std::string, std::string> outputs;
  {
    static const std::regex value_line(R"(^value ([A-Za-z0-9_.]+) = (\S+)$)");
    static const std::regex output_open(R"(^\[output ([A-Za-z0-9_]+)\]$)");
    std::istringstream in(out);
    std::string line, current;
    bool inside = false;
    for (; std::getline(in, line);) {
      std::smatch m;
      if (inside) {
        if (line == "[end]") {
          inside = false;
        } else {
          outputs[current] += rstrip(line) + "\n";
        }
      } else if (std::regex_match(line, m, value_line)) {
        double v;
        if (!is_number(m[2], v)) fail("the run printed a value that is no number: " + line);
        values[m[1]] = v;
      } else if (std::regex_match(line, m, output_open)) {
        current = m[1];
        outputs[current];
        inside = true;
      }
    }
  }

  // 3. Numbers in the prose.
  static const std::regex marker(
      R"(([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)[*`%]*\s*<!-- check ([A-Za-z0-9_.]+) (tol|rel)=([0-9.eE+-]+) -->)");
  static const std::regex any_marker(R"(<!-- check )");
  int numbers = 0;
  for (std::size_t i = 0; i < md.size(); ++i) {
    const std::string& l = md[i];
    const auto n_markers =
        std::distance(std::sregex_iterator(l.begin(), l.end(), any_marker), std::sregex_iterator());
    long n_matched = 0;
    for (auto it = std::sregex_iterator(l.begin(), l.end(), marker); it != std::sregex_iterator();
         ++it, ++n_matched) {
      const std::string name = (*it)[2];
      const double shown_value = std::stod((*it)[1]);
      const double tol = std::stod((*it)[4]);
      const bool relative = (*it)[3] == "rel";
      const std::string where = md_path + ":" + std::to_string(i + 1);
      auto v = values.find(name);
      if (v == values.end()) {
        fail(where + ": the run printed no value '" + name + "'");
        continue;
      }
      const double allowed = relative ? tol * std::abs(v->second) : tol;
      if (!(std::abs(shown_value - v->second) <= allowed)) {
        std::ostringstream msg;
        msg << where << ": the chapter shows " << name << " = " << (*it)[1] << ", the run gives "
            << v->second << " (tolerance " << allowed << ")";
        fail(msg.str());
      }
      ++numbers;
    }
    if (n_matched != n_markers)
      fail(md_path + ":" + std::to_string(i + 1) + ": a check marker with no number before it");
  }

  // 4. Output blocks.
  static const std::regex output_marker(R"(<!-- output ([A-Za-z0-9_]+) tol=([0-9.eE+-]+) -->)");
  int texts = 0;
  for (const Block& b : blocks) {
    std::smatch m;
    if (!std::regex_search(b.preceding, m, output_marker)) continue;
    const std::string where = md_path + ":" + std::to_string(b.line);
    auto o = outputs.find(m[1]);
    if (o == outputs.end()) {
      fail(where + ": the run printed no output '" + std::string(m[1]) + "'");
      continue;
    }
    std::string why;
    if (!same_text(b.text, o->second, std::stod(m[2]), why))
      fail(where + ": output '" + std::string(m[1]) + "' differs: " + why);
    ++texts;
  }
  std::cout << "check_chapter: " << numbers << " numbers and " << texts
            << " outputs of the chapter compared with the run\n";
  return failures == 0 ? 0 : 1;
}
