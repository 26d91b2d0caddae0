// Checks a generated HTML site for broken links: every href and src of every page that
// points inside the site must name an existing file, and an #anchor must be an id (or a
// name) in the page it points to. Links to other sites are not followed.
//
//   check_links <site folder>     (exit status 1 and a list of the broken links, or 0)
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The values of the attributes `names` in an HTML text: each `name="value"` that follows a
// white-space character, scanned left to right; empty values only when `keep_empty`.
std::vector<std::string> attribute_values(const std::string& text,
                                          std::initializer_list<std::string_view> names,
                                          bool keep_empty) {
  std::vector<std::string> out;
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t next = i + 1;
    if (space(text[i])) {
      const std::string_view rest = std::string_view(text).substr(i + 1);
      for (const std::string_view name : names) {
        if (rest.size() <= name.size() + 1 || rest.substr(0, name.size()) != name ||
            rest.substr(name.size(), 2) != "=\"")
          continue;
        const std::size_t first = i + 1 + name.size() + 2;
        const std::size_t last = text.find('"', first);
        if (last == std::string::npos || (last == first && !keep_empty)) continue;
        out.push_back(text.substr(first, last - first));
        next = last + 1;
        break;
      }
    }
    i = next;
  }
  return out;
}

// The ids and names defined in a page (cached).
const std::set<std::string>& anchors(const fs::path& page) {
  static std::map<fs::path, std::set<std::string>> cache;
  auto it = cache.find(page);
  if (it != cache.end()) return it->second;
  std::set<std::string> found;
  for (std::string& value : attribute_values(read(page), {"id", "name"}, false))
    found.insert(std::move(value));
  return cache.emplace(page, std::move(found)).first->second;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: check_links <site folder>\n";
    return 2;
  }
  const fs::path root = fs::canonical(argv[1]);
  int pages = 0, links = 0, broken = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".html") continue;
    ++pages;
    for (const std::string& target : attribute_values(read(entry.path()), {"href", "src"}, true)) {
      if (target.empty() || target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0 ||
          target.rfind("mailto:", 0) == 0 || target.rfind("javascript:", 0) == 0)
        continue;
      ++links;
      std::string file = target, anchor;
      if (const auto hash = target.find('#'); hash != std::string::npos) {
        file = target.substr(0, hash);
        anchor = target.substr(hash + 1);
      }
      if (const auto query = file.find('?'); query != std::string::npos) file.resize(query);
      const fs::path resolved = file.empty() ? entry.path() : entry.path().parent_path() / file;
      std::string why;
      if (!fs::exists(resolved)) {
        why = "no such file";
      } else if (!anchor.empty() && resolved.extension() == ".html" &&
                 anchors(fs::canonical(resolved)).count(anchor) == 0) {
        why = "no anchor '" + anchor + "'";
      }
      if (!why.empty()) {
        ++broken;
        std::cerr << fs::relative(entry.path(), root).string() << ": " << target << " (" << why
                  << ")\n";
      }
    }
  }
  std::cout << "check_links: " << pages << " pages, " << links << " links inside the site, "
            << broken << " broken\n";
  return broken == 0 && pages > 0 ? 0 : 1;
}
