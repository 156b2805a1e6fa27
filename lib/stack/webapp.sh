# shellcheck shell=bash
# lib/stack/webapp.sh: the static files the web server serves beside the
# API: the web client at /, the reference page at /docs/ and
# docs/openapi.yaml as JSON at /api/v1/openapi.json, built from web/ with
# npm (web/README.md) and copied to $STACK_DIR/web. Sourced by ./stack.

WEB_SRC=$ROOT/web
WEB_DIST=$WEB_SRC/dist
WEB_STAMP=$WEB_DIST/.built

# ensure_npm: Node.js and npm, from Debian when the machine has none.
ensure_npm() {
	command -v npm >/dev/null 2>&1 || install_missing_packages nodejs npm
	command -v npm >/dev/null 2>&1 || die "npm is missing after installing Debian's nodejs and npm"
}

# web_inputs_changed: whether something web/dist is made from is newer
# than its last build.
web_inputs_changed() {
	[[ -f $WEB_STAMP ]] || return 0
	[[ -n $(find "$WEB_SRC/package-lock.json" "$WEB_SRC/build.mjs" \
		"$WEB_SRC/redocly.yaml" "$WEB_SRC/.redocly.lint-ignore.yaml" \
		"$WEB_SRC/src" "$ROOT/docs/openapi.yaml" "$ROOT/docs/asyncapi.yaml" \
		-newer "$WEB_STAMP" -print -quit 2>/dev/null) ]]
}

# web_build: npm ci when web/node_modules is older than the lock file (the
# versions are pinned there), then `npm run lint` (Redocly's linter on the
# API documents) and `npm run build` into web/dist; nothing when nothing
# changed since the last build.
web_build() {
	web_inputs_changed || return 0
	ensure_npm
	if [[ ! -f $WEB_SRC/node_modules/.package-lock.json ||
		$WEB_SRC/node_modules/.package-lock.json -ot $WEB_SRC/package-lock.json ]]; then
		note "installing web/'s npm packages (npm ci)"
		(cd "$WEB_SRC" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
			die "npm ci failed in $WEB_SRC"
	fi
	note "linting the API documents (web: npm run lint)"
	(cd "$WEB_SRC" && npm run --silent lint) >&2 || die "the API documents do not pass the linter"
	note "building web/dist (web: npm run build)"
	(cd "$WEB_SRC" && npm run --silent build) >&2 || die "npm run build failed in $WEB_SRC"
	touch "$WEB_STAMP"
}

# install_web_files: web/dist as $STACK_DIR/web, the web server's root for
# the static paths (etc/stack/*.conf.in), replaced whole.
install_web_files() {
	local dest=$STACK_DIR/web
	[[ -f $WEB_STAMP ]] || die "no web/dist: web_build first"
	rm -rf "$dest.new"
	cp -R "$WEB_DIST" "$dest.new"
	rm -f "$dest.new/.built"
	chmod -R a+rX,go-w "$dest.new"
	rm -rf "$dest"
	mv "$dest.new" "$dest"
}
