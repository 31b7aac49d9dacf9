// Filing page, progressive: the page works without this file. With it, the fault
// details stay folded until the merchant says the quick checks did not help, and
// attachments are checked for count and size before a long upload starts.
(function () {
  "use strict";

  var details = document.getElementById("fault-details");
  var reveal = document.getElementById("reveal-details");
  if (details && reveal && details.dataset.collapsible === "true") {
    details.classList.add("d-none");
    reveal.classList.remove("d-none");
    reveal.addEventListener("click", function () {
      details.classList.remove("d-none");
      reveal.classList.add("d-none");
      var first = details.querySelector("select, input, textarea");
      if (first) {
        first.focus();
      }
    });
  }

  var script = document.getElementById("ticket-new-script");
  var input = document.querySelector("#filing-form input[type=file]");
  var warning = document.getElementById("attachment-warning");
  if (!script || !input || !warning) {
    return;
  }
  var maxFiles = parseInt(script.dataset.maxFiles, 10);
  var maxBytes = parseInt(script.dataset.maxBytes, 10);
  input.addEventListener("change", function () {
    var problems = [];
    if (input.files.length > maxFiles) {
      problems.push(warning.dataset.tooMany);
    }
    var large = Array.prototype.filter.call(input.files, function (file) {
      return file.size > maxBytes;
    });
    if (large.length) {
      problems.push(
        warning.dataset.tooLarge + " " + large.map(function (file) { return file.name; }).join(", ")
      );
    }
    warning.textContent = problems.join(" ");
    warning.classList.toggle("d-none", problems.length === 0);
    input.setCustomValidity(problems.join(" "));
  });
})();
