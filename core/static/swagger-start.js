// Starts Swagger UI on the API docs page (core/docs.py). A file, not an inline script, so the docs page runs
// under the same Content-Security-Policy as every other page.
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({ url: container.dataset.specUrl, dom_id: "#swagger-ui-container" });
})();
