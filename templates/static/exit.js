/* Exit this page: the GOV.UK Design System component (govuk-frontend exit-this-page.mjs),
   rebuilt small.  The button, the skip link and Shift pressed three times all leave at once.

   Deliberate deviation from GOV.UK: we leave with location.replace(), not by assigning
   location.href, so the Back button does not return to this page.  The page still stays
   in the browser's history list; the "Exit this page" explanation page says so.

   Without JavaScript the button and skip link are plain links to the same neutral site. */
(function () {
  "use strict";
  var links = document.querySelectorAll("[data-exit]");
  var status = document.getElementById("exit-status");
  var button = document.querySelector(".exit-button");
  if (!links.length || !status || !button) return;

  var WAIT = 5000;          // ms allowed between Shift presses, as GOV.UK
  var presses = 0;
  var lastKeyWasModified = false;
  var timer = null;

  function leave(event) {
    if (event) event.preventDefault();
    // Hide everything first, so nothing stays readable (or focusable) on a slow connection.
    document.body.classList.add("exiting");
    var cover = document.createElement("div");
    cover.className = "exit-cover";
    cover.setAttribute("role", "alert");
    document.body.appendChild(cover);
    cover.textContent = "Loading.";
    window.location.replace(button.href);
  }

  function show(count, message) {
    presses = count;
    button.setAttribute("data-presses", String(count));
    status.textContent = message;
  }

  function expire() {
    timer = null;
    show(0, "Exit this page expired.");
  }

  // Only a Shift released on its own counts: Shift+A ends with a Shift keyup that follows
  // a keyup made with Shift held, so we remember whether the previous key was modified.
  document.addEventListener("keyup", function (event) {
    if (event.key === "Shift" && !lastKeyWasModified) {
      window.clearTimeout(timer);
      if (presses + 1 >= 3) {
        show(0, "");
        leave();
      } else {
        show(presses + 1, presses === 0 ? "Shift, press 2 more times to exit." : "Shift, press 1 more time to exit.");
        timer = window.setTimeout(expire, WAIT);
      }
    } else if (timer) {
      window.clearTimeout(timer);
      expire();
    }
    lastKeyWasModified = event.shiftKey;
  }, true);

  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", leave);
  }
  // role="button" promises Space works as well as Enter.
  button.addEventListener("keydown", function (event) {
    if (event.key === " ") leave(event);
  });
})();
