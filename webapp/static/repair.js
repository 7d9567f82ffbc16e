// "Edit variables and retry" on a failed instance's page: says as one types whether the text is a
// JSON object, and where it is not (the server checks it again: this only saves a round trip).
(function () {
  "use strict";
  var text = document.getElementById("variables-text");
  var check = document.getElementById("variables-check");
  if (!text || !check) return;

  function position(error, source) {
    // Browsers name the place differently: "at position 12", or "line 2 column 5".
    var message = String(error.message);
    var lineColumn = /line (\d+) column (\d+)/.exec(message);
    if (lineColumn) return "line " + lineColumn[1] + ", column " + lineColumn[2];
    var at = /position (\d+)/.exec(message);
    if (!at) return null;
    var before = source.slice(0, Number(at[1])).split("\n");
    return "line " + before.length + ", column " + (before[before.length - 1].length + 1);
  }

  function verdict() {
    var source = text.value;
    try {
      var value = JSON.parse(source);
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return "The variables must be a JSON object: { \"name\": value, ... }";
      }
      return "";
    } catch (error) {
      var where = position(error, source);
      // The browser's own words, without the place it gives in its own way (said above).
      var words = String(error.message).replace(/\s*(in JSON )?at position \d+.*$/, "").replace(/^JSON\.parse: /, "");
      return "Not valid JSON" + (where ? " at " + where : "") + ": " + words;
    }
  }

  function show() {
    var problem = verdict();
    check.textContent = problem || "Valid JSON.";
    check.classList.toggle("problem", Boolean(problem));
    text.setAttribute("aria-invalid", problem ? "true" : "false");
  }

  var pending = null;
  text.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(show, 150);
  });
})();
