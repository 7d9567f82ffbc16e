// Small helpers for Maestro's pages: local times, the upload drop zone, live instance pages.
"use strict";
window.Maestro = window.Maestro || {};

(function () {
  // Times arrive in ISO 8601 (UTC); show them in the reader's time zone.
  document.querySelectorAll(".time[data-time]").forEach(function (cell) {
    if (!cell.dataset.time) return;
    var moment = new Date(cell.dataset.time);
    if (!isNaN(moment)) {
      cell.title = cell.dataset.time;
      cell.textContent = moment.toLocaleString();
    }
  });

  // "3 min ago" for when something happened (the exact time on hover), and a time of day for what is due.
  var relative = function (moment) {
    var seconds = Math.round((Date.now() - moment.getTime()) / 1000);
    var future = seconds < 0, size = Math.abs(seconds);
    var text = size < 45 ? "moments" : size < 5400 ? Math.round(size / 60) + " min"
      : size < 129600 ? Math.round(size / 3600) + " h" : Math.round(size / 86400) + " d";
    if (text === "moments") return future ? "in moments" : "moments ago";
    return future ? "in " + text : text + " ago";
  };
  document.querySelectorAll(".ago[data-time]").forEach(function (cell) {
    var moment = new Date(cell.dataset.time);
    if (!cell.dataset.time || isNaN(moment)) return;
    cell.title = moment.toLocaleString();
    cell.textContent = relative(moment);
  });
  document.querySelectorAll(".clock[data-time]").forEach(function (cell) {
    var moment = new Date(cell.dataset.time);
    if (!cell.dataset.time || isNaN(moment)) return;
    cell.title = moment.toLocaleString();
    cell.textContent = moment.toLocaleTimeString();
  });

  // Dropping files on the zone puts them in its file input and submits the form.
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("files");
  if (zone && input) {
    var chosen = document.getElementById("chosen");
    var showChosen = function () {
      chosen.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    };
    input.addEventListener("change", showChosen);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      input.files = event.dataTransfer.files;
      showChosen();
      zone.closest("form").submit();
    });
  }

  // A running instance's page reloads itself when the instance moves on.
  Maestro.followInstance = function (url, updatedAt, historyLength) {
    var check = function () {
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (shown) {
          if (shown && (shown.updated_at !== updatedAt || shown.history.length !== historyLength)) {
            window.location.reload();
          } else {
            window.setTimeout(check, 1500);
          }
        })
        .catch(function () { window.setTimeout(check, 5000); });
    };
    window.setTimeout(check, 1500);
  };

  // The page says what to follow in data attributes: its Content-Security-Policy runs no inline script.
  var follow = document.getElementById("follow");
  if (follow) {
    Maestro.followInstance(follow.dataset.url, follow.dataset.updatedAt, Number(follow.dataset.historyLength));
  }

  // The editor deploys and then opens the process page, leaving a note of what it deployed: the page
  // says so once, with the way to what changed. sessionStorage keeps it to this tab.
  var deployed = document.getElementById("just-deployed");
  if (deployed) {
    try {
      var note = JSON.parse(window.sessionStorage.getItem("maestro.deployed") || "null");
      if (note && note.key === deployed.dataset.key && String(note.version) === deployed.dataset.version) {
        deployed.hidden = false;
        window.sessionStorage.removeItem("maestro.deployed");
      }
    } catch (error) { /* storage refused (private mode): the page's own links remain */ }
  }

  // Forms whose action cannot be undone ask first (an inline onsubmit would be blocked by the CSP).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
