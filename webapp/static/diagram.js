// Renders the page's BPMN diagram with bpmn-js and colours each element by what happened to it.
"use strict";
(function () {
  var container = document.getElementById("diagram");
  if (!container || !window.BpmnJS) return;
  var elements = container.dataset.elements ? JSON.parse(container.dataset.elements) : {};
  var viewer = new window.BpmnJS({ container: container });

  fetch(container.dataset.xml)
    .then(function (response) {
      if (!response.ok) throw new Error("the diagram could not be loaded (" + response.status + ")");
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var overlays = viewer.get("overlays");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport", "auto");
      Object.keys(elements).forEach(function (id) {
        if (!registry.get(id)) return;  // e.g. an element of a called process in another file
        var found = elements[id];
        canvas.addMarker(id, "m-" + found.state);
        if (found.count > 1) {
          overlays.add(id, "count", {
            position: { top: -10, right: 10 },
            html: '<span class="visits" title="ran ' + found.count + ' times">' + found.count + "</span>"
          });
        }
        if (found.undo) {  // an undo activity: which undo it was, in the order the undos ran
          overlays.add(id, "undo-order", {
            position: { top: -10, left: -6 },
            html: '<span class="undo-number" title="undo ' + found.undo.join(", ") + ' in the order the undos ran">'
              + found.undo.join(", ") + "</span>"
          });
        }
      });
      addZoomButtons(canvas);
      container.classList.add("ready");
    })
    .catch(function (error) {
      container.classList.add("broken");
      container.textContent = String(error.message || error);
    });

  // Buttons to zoom (reachable by keyboard, and on a phone where the diagram is small).
  function addZoomButtons(canvas) {
    var bar = document.createElement("div");
    bar.className = "zoom";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Zoom the diagram");
    [["+", "Zoom in", function () { canvas.zoom(canvas.zoom() * 1.25); }],
     ["−", "Zoom out", function () { canvas.zoom(canvas.zoom() / 1.25); }],
     ["Fit", "Fit the diagram", function () { canvas.zoom("fit-viewport", "auto"); }]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = spec[0];
      button.title = spec[1];
      button.setAttribute("aria-label", spec[1]);
      button.addEventListener("click", spec[2]);
      bar.appendChild(button);
    });
    container.appendChild(bar);
  }
})();
