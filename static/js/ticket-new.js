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
      markStep("3");
      var first = details.querySelector("select, input, textarea");
      if (first) {
        first.focus();
      }
    });
  }

  // The step marker follows the merchant: step 3 once the details are open.
  function markStep(number) {
    var items = document.querySelectorAll("#filing-steps [data-step]");
    Array.prototype.forEach.call(items, function (item) {
      var current = item.dataset.step === number;
      item.classList.toggle("fw-semibold", current);
      item.classList.toggle("text-body", current);
      if (current) {
        item.setAttribute("aria-current", "step");
      } else {
        item.removeAttribute("aria-current");
      }
    });
  }

  // Only the checks that fit the chosen symptom: no "paper roll" for a dead screen.
  var symptom = document.querySelector("#filing-form select[name=symptom]");
  var checks = document.querySelectorAll(".self-help-check");
  function fitChecks() {
    var chosen = symptom ? symptom.value : "";
    Array.prototype.forEach.call(checks, function (check) {
      var only = check.dataset.symptoms ? check.dataset.symptoms.split(" ") : [];
      var fits = !chosen || only.length === 0 || only.indexOf(chosen) !== -1;
      check.classList.toggle("d-none", !fits);
      if (!fits) {
        check.querySelector("input").checked = false;
      }
    });
  }
  if (symptom) {
    symptom.addEventListener("change", fitChecks);
    fitChecks();
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
