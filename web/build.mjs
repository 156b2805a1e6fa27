// Builds what the web server serves as static files into dist/ (see
// README.md): the API documents as JSON, the reference page and the web
// client. Run by ./stack (lib/stack/webapp.sh) with `npm run build`.
import { execFileSync } from "node:child_process";
import { Parser } from "@asyncapi/parser";
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, "..", "docs");
const dist = join(here, "dist");
const redocly = join(here, "node_modules", ".bin", "redocly");

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

// docs/openapi.yaml as JSON, served at /api/v1/openapi.json.
execFileSync(redocly, ["bundle", join(docs, "openapi.yaml"), "--ext", "json",
	"--output", join(dist, "openapi.json")], { stdio: ["ignore", "ignore", "inherit"] });

// docs/asyncapi.yaml with the schemas it takes from docs/openapi.yaml,
// as one JSON document for the WebSocket reference page.
mkdirSync(join(dist, "docs"), { recursive: true });
execFileSync(redocly, ["bundle", join(docs, "asyncapi.yaml"), "--ext", "json",
	"--output", join(dist, "docs", "asyncapi.json")], { stdio: ["ignore", "ignore", "inherit"] });
// AsyncAPI's own parser, stricter than Redocly's linter on AsyncAPI, and
// the one the reference page renders with: its errors and warnings fail
// the build.
const { diagnostics } = await new Parser().parse(
	readFileSync(join(dist, "docs", "asyncapi.json"), "utf8"));
const problems = diagnostics.filter((d) => d.severity <= 1);
for (const d of problems)
	console.error(`docs/asyncapi.yaml: ${d.path.join(".")}: ${d.message}`);
if (problems.length > 0)
	process.exit(1);

// The reference pages at /docs/: our HTML, Swagger UI for REST, AsyncAPI's
// renderer for the WebSocket, both from npm (package-lock.json).
const modules = join(here, "node_modules");
for (const file of ["index.html", "rest.js", "websocket.html", "websocket.js", "docs.css"])
	copyFileSync(join(here, "src", "docs", file), join(dist, "docs", file));
for (const file of ["swagger-ui.css", "swagger-ui-bundle.js"])
	copyFileSync(join(modules, "swagger-ui-dist", file), join(dist, "docs", file));
copyFileSync(join(modules, "@asyncapi", "react-component", "browser", "standalone", "index.js"),
	join(dist, "docs", "asyncapi-standalone.js"));
copyFileSync(join(modules, "@asyncapi", "react-component", "styles", "default.min.css"),
	join(dist, "docs", "asyncapi.css"));

// The web client at /: src/app bundled by esbuild into assets/.
mkdirSync(join(dist, "assets"), { recursive: true });
copyFileSync(join(here, "src", "app", "index.html"), join(dist, "index.html"));
copyFileSync(join(here, "src", "app", "app.css"), join(dist, "assets", "app.css"));
await esbuild.build({
	entryPoints: [join(here, "src", "app", "main.jsx")],
	outfile: join(dist, "assets", "app.js"),
	bundle: true,
	format: "esm",
	minify: true,
	target: ["es2022"],
	jsx: "automatic",
	jsxImportSource: "preact",
	logLevel: "warning",
});
