// The WebSocket reference: docs/asyncapi.yaml (bundled with the schemas it
// takes from docs/openapi.yaml) in AsyncAPI's own renderer.
AsyncApiStandalone.render({
	schema: { url: "/docs/asyncapi.json" },
	config: {
		show: { sidebar: true, errors: true },
		sidebar: { showOperations: "byDefault" },
	},
}, document.getElementById("asyncapi"));
