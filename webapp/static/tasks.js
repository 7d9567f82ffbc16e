// The Tasks page keeps its list up to date: every few seconds it reads the list from /api/tasks and
// redraws the rows that changed, in place (a row that did not change keeps its node, so nothing
// flickers and keyboard focus stays where it was). Without JavaScript the page works as rendered.
"use strict";
(function () {
  var table = document.getElementById("task-list");
  if (!table) return;
  var rows = document.getElementById("task-rows");
  var empty = document.getElementById("no-tasks");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var EVERY_MS = 3000;

  function amount(seconds) {
    if (seconds < 90) return Math.floor(seconds) + " s";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    if (seconds < 129600) return Math.round(seconds / 3600) + " h";
    return Math.round(seconds / 86400) + " d";
  }

  function dueText(iso) {  // what task_pages.due_text says
    if (!iso) return "";
    var seconds = (new Date(iso) - new Date()) / 1000;
    return seconds >= 0 ? "due in " + amount(seconds) : "overdue by " + amount(-seconds);
  }

  function signature(t) {  // the same fields _task_row.html puts in data-sig
    return [t.name || t.element, t.assignee || "", t.due_at || "", t.priority, t.may.claim ? 1 : 0,
            t.may.unclaim ? 1 : 0, t.overdue ? 1 : 0].join("|");
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function actionForm(t, action, label, classes) {
    var base = table.dataset.taskUrl + "/" + encodeURIComponent(t.instance_id) + "/" + encodeURIComponent(t.task_id);
    var form = element("form", {method: "post", action: base + "/" + action});
    form.appendChild(element("input", {type: "hidden", name: "csrf_token", value: csrf}));
    form.appendChild(element("input", {type: "hidden", name: "back", value: table.dataset.back}));
    form.appendChild(element("button", {type: "submit", "class": classes}, label));
    return form;
  }

  function drawRow(t) {
    var row = element("tr", {"data-key": t.instance_id + "/" + t.task_id, "data-sig": signature(t)});
    if (t.overdue) row.className = "overdue";
    var link = element("a", {"class": "task-link", href: table.dataset.taskUrl + "/" +
      encodeURIComponent(t.instance_id) + "/" + encodeURIComponent(t.task_id)}, t.name || t.element);
    var name = element("td"); name.appendChild(link); row.appendChild(name);
    var process = element("td", {}, (t.process_name || t.key) + " ");
    process.appendChild(element("span", {"class": "muted"}, "v" + t.version)); row.appendChild(process);
    row.appendChild(element("td", {}, t.business_key || ""));
    var assignee = element("td");
    if (t.assignee) assignee.textContent = t.assignee;
    else assignee.appendChild(element("span", {"class": "muted"},
      "offered to " + (t.candidate_users.concat(t.candidate_groups).join(", ") || "anyone")));
    row.appendChild(assignee);
    var due = element("td", {"class": "due", "data-due": t.due_at || "", title: t.due_at || ""});
    if (t.overdue) { due.appendChild(element("span", {"class": "badge failed"}, "overdue")); due.appendChild(document.createTextNode(" ")); }
    due.appendChild(document.createTextNode(dueText(t.due_at)));
    row.appendChild(due);
    row.appendChild(element("td", {"class": "priority"}, String(t.priority)));
    var created = element("td", {"class": "time created", "data-time": t.created_at, title: t.created_at},
                          new Date(t.created_at).toLocaleString());
    row.appendChild(created);
    var actions = element("td", {"class": "row-actions"});
    if (t.may.claim) actions.appendChild(actionForm(t, "claim", "Claim", "claim"));
    if (t.may.unclaim) actions.appendChild(actionForm(t, "unclaim", "Unclaim", "unclaim secondary"));
    row.appendChild(actions);
    return row;
  }

  // Which control of a row has the focus, to give it back in the row drawn anew.
  function focusedIn(row) {
    var active = document.activeElement;
    if (!active || !row.contains(active)) return null;
    return ["a.task-link", "button.claim", "button.unclaim"].filter(function (selector) {
      return active.matches(selector);
    })[0] || "a.task-link";
  }

  function redraw(tasks) {
    var existing = {};
    Array.prototype.forEach.call(rows.children, function (row) { existing[row.dataset.key] = row; });
    var wanted = tasks.map(function (t) {
      var key = t.instance_id + "/" + t.task_id;
      var row = existing[key];
      delete existing[key];
      if (row && row.dataset.sig === signature(t)) {
        var dueCell = row.querySelector("td.due");  // the relative text moves on with the clock
        if (dueCell && dueCell.lastChild) dueCell.lastChild.textContent = dueText(t.due_at);
        return row;
      }
      var fresh = drawRow(t);
      if (row) {
        var focus = focusedIn(row);
        rows.replaceChild(fresh, row);
        if (focus && fresh.querySelector(focus)) fresh.querySelector(focus).focus();
      }
      return fresh;
    });
    var lostFocus = Object.keys(existing).some(function (key) { return focusedIn(existing[key]); });
    Object.keys(existing).forEach(function (key) { existing[key].remove(); });
    wanted.forEach(function (row, position) {
      if (rows.children[position] !== row) rows.insertBefore(row, rows.children[position] || null);
    });
    if (lostFocus && wanted.length) wanted[0].querySelector("a.task-link").focus();  // its row is gone
    empty.hidden = tasks.length > 0;
    table.parentNode.hidden = tasks.length === 0;  // no header row over nothing
  }

  function poll() {
    if (document.hidden) {  // nobody looks: ask again when the tab is back
      document.addEventListener("visibilitychange", poll, {once: true});
      return;
    }
    fetch(table.dataset.api, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (page) { if (page) redraw(page.tasks); })
      .catch(function () { /* the server is away for a moment: the next poll tries again */ })
      .then(function () { window.setTimeout(poll, EVERY_MS); });
  }

  // A page further down the list is left as it is: redrawing it from the first page would jump.
  if (!table.dataset.paged && !new URLSearchParams(window.location.search).get("after")) {
    window.setTimeout(poll, EVERY_MS);
  }
})();
