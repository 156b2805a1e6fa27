// The REST reference: Swagger UI on the service's own OpenAPI document.
// "Try it out" sends real requests to this server; "Authorize" logs in
// with the password flow (POST /api/v1/auth/access-token) and keeps the
// token for the page's later requests.
window.ui = SwaggerUIBundle({
	url: "/api/v1/openapi.json",
	dom_id: "#swagger-ui",
	deepLinking: true,
	persistAuthorization: true,
	displayRequestDuration: true,
	defaultModelsExpandDepth: 0,
	validatorUrl: null,
});
