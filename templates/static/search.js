/* Search page: a progressive enhancement over a page that works without it.
   Pagefind (the index the build writes into pagefind/) is loaded only when a reader
   starts to use the box, and the query never goes into the URL, so it is not kept
   in the browser's history. */
(function () {
  "use strict";
  var form = document.querySelector("[data-search]");
  var input = document.getElementById("search-input");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  if (!form || !input || !status || !list || !("fetch" in window)) return;

  var pagefind = null;
  var latest = 0;
  var pause = null;

  form.hidden = false;
  document.querySelector("[data-search-off]").hidden = true;

  // A big site's index comes in several bundles (pagefind/parts.json lists the others,
  // beside pagefind/); they are merged into one search.
  function load() {
    if (!pagefind) {
      var script = new URL(form.getAttribute("data-pagefind"), document.baseURI);
      pagefind = import(script.href).then(function (api) {
        return fetch(new URL("parts.json", script)).then(function (response) {
          return response.ok ? response.json() : [];
        }).then(function (parts) {
          return Promise.all(parts.map(function (part) {
            return api.mergeIndex(new URL("../" + part, script).href);
          }));
        }).then(function () { return api; });
      });
    }
    return pagefind;
  }

  // Pagefind's excerpts are text with <mark> around matches: copy only those two things.
  function excerpt(html) {
    var out = document.createElement("p");
    var parsed = new DOMParser().parseFromString(html, "text/html").body.childNodes;
    for (var i = 0; i < parsed.length; i++) {
      var node = parsed[i];
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.appendChild(mark);
      } else {
        out.appendChild(document.createTextNode(node.textContent));
      }
    }
    return out;
  }

  function render(query, results) {
    list.textContent = "";
    results.forEach(function (result) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = result.url;
      link.textContent = result.meta.title || result.url;
      item.appendChild(link);
      item.appendChild(excerpt(result.excerpt));
      list.appendChild(item);
    });
    var n = results.length;
    status.textContent = n ? n + (n === 1 ? " page matches " : " pages match ") + "\u201c" + query + "\u201d."
                           : "No pages match \u201c" + query + "\u201d. Try fewer or different words.";
  }

  function run() {
    var query = input.value.trim();
    var ticket = ++latest;
    if (!query) {
      list.textContent = "";
      status.textContent = "";
      return;
    }
    status.textContent = "Searching\u2026";
    load().then(function (api) {
      return api.search(query);
    }).then(function (search) {
      return Promise.all(search.results.slice(0, 10).map(function (r) { return r.data(); }));
    }).then(function (results) {
      if (ticket === latest) render(query, results);
    }).catch(function () {
      if (ticket === latest) status.textContent = "Search is not working right now. Please browse the sections instead.";
    });
  }

  input.addEventListener("focus", function () { load().catch(function () {}); }, { once: true });
  input.addEventListener("input", function () {
    window.clearTimeout(pause);
    pause = window.setTimeout(run, 250);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(pause);
    run();
  });
})();
