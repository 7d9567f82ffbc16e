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
      });
      container.classList.add("ready");
    })
    .catch(function (error) {
      container.classList.add("broken");
      container.textContent = String(error.message || error);
    });
})();
