/* The help block, reader's country first: the region in the browser's language setting
   (navigator.languages, e.g. en-IE -> IE) moves that country's emergency number to the top
   and shows its crisis and abuse lines beside it.  The setting is read here only: never
   stored, never sent.  Without JavaScript every country's number is shown anyway. */
(function () {
  "use strict";
  var block = document.getElementById("help");
  var list = block && block.querySelector(".help-sos");
  if (!list) return;
  var languages = navigator.languages || [navigator.language || ""];
  for (var i = 0; i < languages.length; i++) {
    var region = /-([a-z]{2})(?:-|$)/i.exec(languages[i]);
    var row = region && list.querySelector('[data-country="' + region[1].toUpperCase() + '"]');
    if (!row) continue;
    // The country's crisis and abuse lines: the same item of the collapsed list.
    var lines = block.querySelectorAll(".help-lines > li")[[].indexOf.call(list.children, row)];
    list.insertBefore(row, list.firstChild);
    if (lines) {
      var local = document.createElement("ul");
      local.className = "help-local";
      local.appendChild(lines);
      list.parentNode.insertBefore(local, list.nextSibling);
    }
    return;
  }
})();
