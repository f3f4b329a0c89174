// Renders the API reference from /api/openapi.json with swagger-ui (served from node_modules).
// Read-only: requests are not sent from this page (they need the session's CSRF token).
(function () {
  if (!window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger",
    deepLinking: false,
    supportedSubmitMethods: [],
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    validatorUrl: null,
  });
})();
