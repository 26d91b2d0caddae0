// Checks a generated HTML site for broken links: every href and src of every page that
// points inside the site must name an existing file, and an #anchor must be an id (or a
// name) in the page it points to. Links to other sites are not followed.
//
//   check_links <site folder>     (exit status 1 and a list of the broken links, or 0)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The ids and names defined in a page (cached).
const std::set<std::string>& anchors(const fs::path& page) {
  static std::map<fs::path, std::set<std::string>> cache;
  auto it = cache.find(page);
  if (it != cache.end()) return it->second;
  static const std::regex id(R"re(\s(?:id|name)="([^"]+)")re");
  std::set<std::string> found;
  const std::string text = read(page);
  for (auto m = std::sregex_iterator(text.begin(), text.end(), id); m != std::sregex_iterator();
       ++m)
    found.insert((*m)[1]);
  return cache.emplace(page, std::move(found)).first->second;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: check_links <site folder>\n";
    return 2;
  }
  const fs::path root = fs::canonical(argv[1]);
  static const std::regex link(R"re(\s(?:href|src)="([^"]*)")re");
  int pages = 0, links = 0, broken = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".html") continue;
    ++pages;
    const std::string text = read(entry.path());
    for (auto m = std::sregex_iterator(text.begin(), text.end(), link); m != std::sregex_iterator();
         ++m) {
      std::string target = (*m)[1];
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
