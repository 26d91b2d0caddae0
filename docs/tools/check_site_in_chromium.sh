#!/usr/bin/env bash
# Opens every page of the generated site in headless Chromium (Debian's `chromium`) and checks
# that it loads, has a title, and that every image on it has loaded (naturalWidth > 0); then
# takes a screenshot of one chapter to look at.
#
#   bash docs/tools/check_site_in_chromium.sh [site folder] [screenshot.png]
#
# Defaults: build/docs/html and build/docs/chapter_screenshot.png. Exit status 1 lists the
# pages that failed. A harness page loads the site's pages one by one in an iframe (file://
# pages may read each other with --allow-file-access-from-files) and writes its verdict into
# the DOM, which --dump-dom prints.
set -euo pipefail
site=$(cd "${1:-build/docs/html}" && pwd)
shot=${2:-build/docs/chapter_screenshot.png}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check_site_in_chromium: chromium not found (apt-get install chromium)" >&2
  exit 2
fi
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --allow-file-access-from-files)

harness="$site/zz_site_check.html"
trap 'rm -f "$harness"' EXIT
pages=$(cd "$site" && ls -1 *.html | grep -v '^zz_site_check.html$' | sed 's/.*/"&"/' | paste -sd, -)
cat > "$harness" <<HTML
<!DOCTYPE html><html><head><title>site check</title></head><body><div id="out">running</div>
<iframe id="f" style="width:1200px;height:900px"></iframe>
<script>
const pages = [$pages];
const failed = [];
let images = 0, i = 0;
const frame = document.getElementById('f');
function next() {
  if (i === pages.length) {
    document.getElementById('out').textContent =
        'RESULT pages=' + pages.length + ' images=' + images + ' failed=' + failed.length +
        (failed.length ? ' ' + failed.join(' ') : '');
    return;
  }
  const page = pages[i++];
  let done = false;
  const timer = setTimeout(() => { if (!done) { done = true; failed.push(page + ':timeout'); next(); } }, 10000);
  frame.onload = () => {
    // Give images a moment after the load event (it fires after them, but be safe).
    setTimeout(() => {
      if (done) return;
      done = true; clearTimeout(timer);
      const doc = frame.contentDocument;
      if (!doc || !doc.title) { failed.push(page + ':no-document'); next(); return; }
      for (const img of doc.images) {
        images++;
        if (!img.complete || img.naturalWidth === 0) failed.push(page + ':image:' + img.getAttribute('src'));
      }
      next();
    }, 50);
  };
  frame.src = page;
}
next();
</script></body></html>
HTML
result=$("$browser" "${flags[@]}" --virtual-time-budget=600000 --dump-dom "file://$harness" 2>/dev/null |
         grep -o 'RESULT pages=[0-9][^<]*' || true)
if [ -z "$result" ]; then
  echo "check_site_in_chromium: the harness gave no result" >&2
  exit 1
fi
echo "check_site_in_chromium: $result"
"$browser" "${flags[@]}" --window-size=1200,2400 --screenshot="$shot" \
  "file://$site/tutorial_07.html" > /dev/null 2>&1
echo "check_site_in_chromium: screenshot of chapter 7 in $shot"
case "$result" in *" failed=0"*) exit 0 ;; *) exit 1 ;; esac
