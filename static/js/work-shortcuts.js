// Keyboard shortcuts of the technician's workspace, progressive: every page works
// without this file (the overlay's text is in the page, hidden; links and forms do the
// rest). Keys are ignored while typing in a field or with Ctrl, Alt or Meta held.
//   /  search        ?  this help        Esc  close it
//   j / k  next / previous ticket (on a list: move; on a ticket: the list's next one)
//   Enter  open the chosen ticket        x  select it for a bulk action
//   c  claim        r  reply        n  internal note        a  ask the merchant
(function () {
  "use strict";

  var LIST_KEY = "posdesk.work.list";
  var help = document.getElementById("shortcuts-help");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.work-row"));
  var current = -1;

  // A list page remembers its tickets in order, so a ticket page knows the next one.
  if (rows.length) {
    var urls = rows
      .map(function (row) {
        var link = row.querySelector("a[href]");
        return link ? link.getAttribute("href") : null;
      })
      .filter(Boolean);
    try {
      window.sessionStorage.setItem(LIST_KEY, JSON.stringify(urls));
    } catch (error) {
      // Storage refused (private mode): j/k still move on the list itself.
    }
  }

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function choose(index) {
    if (!rows.length) {
      return;
    }
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0) {
      rows[current].classList.remove("table-active");
    }
    current = index;
    rows[current].classList.add("table-active");
    var link = rows[current].querySelector("a[href]");
    if (link) {
      link.focus();
    }
  }

  function neighbour(step) {
    var urls;
    try {
      urls = JSON.parse(window.sessionStorage.getItem(LIST_KEY) || "[]");
    } catch (error) {
      return;
    }
    var here = urls.indexOf(window.location.pathname);
    if (here >= 0 && urls[here + step]) {
      window.location.assign(urls[here + step]);
    }
  }

  function openAction(name) {
    var block = document.getElementById("action-" + name);
    if (!block) {
      return;
    }
    block.open = true;
    var field = block.querySelector("textarea, input:not([type=hidden]), select");
    if (field) {
      field.focus();
    }
    block.scrollIntoView({ block: "nearest" });
  }

  function toggleHelp(show) {
    if (help) {
      help.hidden = show === undefined ? !help.hidden : !show;
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) {
      return;
    }
    var key = event.key;
    if (key === "Escape") {
      toggleHelp(false);
      return;
    }
    var handled = true;
    if (key === "?") {
      toggleHelp();
    } else if (key === "/") {
      var search = document.getElementById("work-search-q");
      if (search) {
        search.focus();
        search.select();
      }
    } else if (key === "j" || key === "k") {
      if (rows.length) {
        choose(current + (key === "j" ? 1 : -1));
      } else {
        neighbour(key === "j" ? 1 : -1);
      }
    } else if (key === "x" && current >= 0) {
      var box = rows[current].querySelector("input[type=checkbox]");
      if (box) {
        box.checked = !box.checked;
      }
    } else if (key === "c") {
      var claim = document.querySelector('#actions form[action$="/claim/"] button');
      if (claim) {
        claim.click();
      }
    } else if (key === "r") {
      openAction("reply");
    } else if (key === "n") {
      openAction("note");
    } else if (key === "a") {
      openAction("ask");
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
