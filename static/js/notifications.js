// The browser tab shows the bell's unread count before the page's title: "(3) My leads · Flexoraa".
(function () {
  "use strict";
  var counted = /^\(\d+\+?\) /;

  function showCount(bell) {
    var badge = bell.querySelector("[data-unread]");
    if (!badge) return;
    var plain = document.title.replace(counted, "");
    var unread = badge.getAttribute("data-unread") !== "0";
    document.title = unread ? "(" + badge.getAttribute("data-label") + ") " + plain : plain;
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var bell = event.target;
    if (bell && bell.id === "bell") showCount(bell);
  });
})();
