// Builds what the web server serves as static files into dist/ (see
// README.md): the API documents as JSON, the reference page and the web
// client. Run by ./stack (lib/stack/web.sh) with `npm run build`.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
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
