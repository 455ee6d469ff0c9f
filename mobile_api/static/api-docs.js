// Starts Swagger UI on /api/v1/docs. A file rather than an inline script, so that the page's
// Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null, // the online validator would send the document out of the network
    persistAuthorization: true,
  });
})();
