/* The inbox's keyboard shortcuts and canned replies typed as /shortcut.
 *
 * Plain script, no build. Everything here is a shortcut to something the page already does
 * without it: links to the previous and next conversation, a "Done, next" form, the reply
 * box, and a canned-reply select list.
 *
 * Shortcuts (listed behind "?"): j / k next and previous conversation, r reply, e done.
 * They wait while the person types in a field, and leave Ctrl, Alt and Cmd combinations to
 * the browser.
 */
(function () {
  "use strict";

  function typingIn(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // --- the list: a cursor over the rows ---------------------------------------------------

  var cursorId = null;  // the chosen row's conversation id, kept across the list's refreshes

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-inbox=list] [data-conversation]"));
  }

  function choose(row) {
    rows().forEach(function (each) {
      each.classList.remove("current");
      each.removeAttribute("aria-current");
    });
    if (!row) return;
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    cursorId = row.getAttribute("data-conversation");
    var link = row.querySelector("a");
    if (link) link.focus({preventScroll: true});
    row.scrollIntoView({block: "nearest"});
  }

  function currentRow() {
    return rows().filter(function (row) {
      return row.getAttribute("data-conversation") === cursorId;
    })[0] || null;
  }

  function step(by) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(currentRow());
    if (at === -1) {
      choose(all[by > 0 ? 0 : all.length - 1]);
      return;
    }
    choose(all[Math.min(all.length - 1, Math.max(0, at + by))]);
  }

  function listDone() {
    var row = currentRow();
    if (!row) return;
    fetch(row.getAttribute("data-done-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "HX-Request": "true"},
    }).then(function (response) {
      if (!response.ok) return;
      row.classList.remove("unread");
      var badge = row.querySelector("[data-testid=unread-badge]");
      if (badge) badge.remove();
    });
    step(1);
  }

  function listKey(key) {
    if (key === "j") step(1);
    else if (key === "k") step(-1);
    else if (key === "e") listDone();
    else if (key === "r") {
      var row = currentRow();
      var link = row && row.querySelector("a");
      if (link) window.location.href = link.href + "#reply";
    } else return false;
    return true;
  }

  // --- a thread: the links and forms it already has ---------------------------------------

  function threadKey(key) {
    var nav = document.querySelector("[data-inbox=thread]");
    if (!nav) return false;
    if (key === "j" || key === "k") {
      var link = nav.querySelector(key === "j" ? "a[rel=next]" : "a[rel=prev]");
      if (link) link.click();
    } else if (key === "r") {
      focusReply();
    } else if (key === "e") {
      var done = nav.querySelector("[data-done-form]");
      if (done) done.requestSubmit ? done.requestSubmit() : done.submit();
    } else return false;
    return true;
  }

  function focusReply() {
    var box = document.getElementById("reply-text") || document.getElementById("reply-template");
    if (!box) return;
    box.focus();
    box.scrollIntoView({block: "center"});
  }

  // --- "?": the list of shortcuts -----------------------------------------------------------

  function showHelp() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingIn(event.target)) return;
    var dialog = document.getElementById("shortcut-help");
    if (dialog && dialog.open) return;  // Escape closes it; nothing else acts behind it
    if (event.key === "?") {
      showHelp();
      event.preventDefault();
      return;
    }
    if (event.shiftKey) return;
    var handled = document.querySelector("[data-inbox=thread]") ? threadKey(event.key)
      : document.querySelector("[data-inbox=list]") ? listKey(event.key) : false;
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcut-help]")) showHelp();
  });

  // --- canned replies: "/" + shortcut in the reply box ---------------------------------------

  var TOKEN = /(^|\s)\/([a-z0-9_-]*)$/i;
  var active = 0;

  function replies() {
    var data = document.getElementById("canned-replies");
    if (!data) return [];
    try {
      return JSON.parse(data.textContent);
    } catch (error) {
      return [];
    }
  }

  function typedToken(box) {
    var before = box.value.slice(0, box.selectionStart);
    var found = TOKEN.exec(before);
    if (!found) return null;
    return {word: found[2].toLowerCase(), start: before.length - found[2].length - 1};
  }

  function matches(word) {
    var all = replies();
    var starts = all.filter(function (r) { return r.shortcut.indexOf(word) === 0; });
    var contains = all.filter(function (r) {
      return starts.indexOf(r) === -1
        && (r.shortcut.indexOf(word) !== -1 || r.title.toLowerCase().indexOf(word) !== -1);
    });
    return starts.concat(contains);
  }

  function suggestions() {
    return document.getElementById("canned-suggestions");
  }

  function closeSuggestions(box) {
    var list = suggestions();
    if (list) {
      list.hidden = true;
      list.textContent = "";
    }
    if (box) {
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
    }
  }

  function markActive(box) {
    var options = suggestions().querySelectorAll("[role=option]");
    Array.prototype.forEach.call(options, function (option, index) {
      option.setAttribute("aria-selected", index === active ? "true" : "false");
    });
    if (options[active]) {
      box.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({block: "nearest"});
    }
  }

  function openSuggestions(box, found) {
    var list = suggestions();
    if (!list) return;
    list.textContent = "";
    if (!found.length) {
      closeSuggestions(box);
      return;
    }
    found.forEach(function (reply, index) {
      var option = document.createElement("li");
      option.id = "canned-option-" + reply.id;
      option.setAttribute("role", "option");
      option.setAttribute("data-canned-id", reply.id);
      var shortcut = document.createElement("strong");
      shortcut.textContent = "/" + reply.shortcut;
      var title = document.createElement("span");
      title.textContent = " " + reply.title;
      var body = document.createElement("span");
      body.className = "canned-body";
      body.textContent = reply.body;
      option.append(shortcut, title, body);
      // mousedown, not click: the box must keep its focus and caret.
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        insertReply(box, reply);
      });
      list.append(option);
    });
    active = 0;
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    markActive(box);
  }

  function insertReply(box, reply, atCaretOnly) {
    var token = atCaretOnly ? null : typedToken(box);
    var start = token ? token.start : box.selectionStart;
    var end = box.selectionEnd;
    box.value = box.value.slice(0, start) + reply.body + box.value.slice(end);
    var caret = start + reply.body.length;
    box.focus();
    box.setSelectionRange(caret, caret);
    closeSuggestions(box);
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (box.id !== "reply-text" || !suggestions()) return;
    var token = typedToken(box);
    if (token === null) closeSuggestions(box);
    else openSuggestions(box, matches(token.word));
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    var list = suggestions();
    if (box.id !== "reply-text" || !list || list.hidden) return;
    var options = list.querySelectorAll("[role=option]");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
      markActive(box);
    } else if (event.key === "Enter" || event.key === "Tab") {
      var id = options[active] && options[active].getAttribute("data-canned-id");
      var reply = replies().filter(function (r) { return String(r.id) === id; })[0];
      if (!reply) return;
      insertReply(box, reply);
    } else if (event.key === "Escape") {
      closeSuggestions(box);
    } else return;
    event.preventDefault();
    event.stopPropagation();
  });

  document.addEventListener("focusout", function (event) {
    if (event.target.id === "reply-text") closeSuggestions(event.target);
  });

  // The select list works without this script (the page comes back with the reply in the
  // box); with it, the reply goes in at the caret and what was typed stays.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-canned-pick")) return;
    var box = document.getElementById("reply-text");
    var chosen = form.querySelector("select").value;
    var reply = replies().filter(function (r) { return String(r.id) === chosen; })[0];
    if (!box || !reply) return;
    event.preventDefault();
    insertReply(box, reply, true);
  });

  // --- on every page load and htmx swap -----------------------------------------------------

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-shortcut-help]"), function (button) {
      button.hidden = false;
    });
    if (cursorId !== null) {
      var row = currentRow();
      if (row) row.classList.add("current");
    }
    if (window.location.hash === "#reply") focusReply();
  }

  document.addEventListener("htmx:afterSwap", function () {
    if (cursorId === null) return;
    var row = currentRow();
    if (row) {
      row.classList.add("current");
      row.setAttribute("aria-current", "true");
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
