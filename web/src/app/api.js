// REST calls of the web client (docs/openapi.yaml), with the caller's
// tokens: kept in localStorage so that a reload stays logged in, the
// access token refreshed a minute before it expires, and once more after
// a 401 (a machine that slept past the timer).

const API = "/api/v1";
const KEY = "chat.tokens";
const EARLY = 60; // seconds before expiry to refresh

export class ApiError extends Error {
	constructor(status, body) {
		super(typeof body?.detail === "string" ? body.detail :
			Array.isArray(body?.detail) ? body.detail.map((e) => `${e.loc.at(-1)}: ${e.msg}`).join("; ") :
			`HTTP ${status}`);
		this.status = status;
		this.body = body;
	}
}

let tokens = JSON.parse(localStorage.getItem(KEY) || "null");
let timer = null;
let onLogout = () => {};

export function setLogoutHandler(fn) {
	onLogout = fn;
}

export function accessToken() {
	return tokens?.access_token ?? null;
}

function keep(answer) {
	tokens = { ...answer, expires_at: Date.now() + answer.expires_in * 1000 };
	localStorage.setItem(KEY, JSON.stringify(tokens));
	schedule();
}

function schedule() {
	clearTimeout(timer);
	if (!tokens) return;
	const wait = Math.max(0, tokens.expires_at - Date.now() - EARLY * 1000);
	timer = setTimeout(() => refresh().catch(() => {}), wait);
}

export function forget() {
	clearTimeout(timer);
	tokens = null;
	localStorage.removeItem(KEY);
}

let refreshing = null;

/** A new pair of tokens from the refresh token; logs out when refused. */
export function refresh() {
	if (!tokens) return Promise.reject(new ApiError(401, null));
	refreshing ??= request("POST", "/auth/refresh-token",
		{ refresh_token: tokens.refresh_token }, { auth: false })
		.then(keep)
		.catch((e) => {
			if (e.status === 401 || e.status === 403) {
				forget();
				onLogout();
			}
			throw e;
		})
		.finally(() => { refreshing = null; });
	return refreshing;
}

async function request(method, path, body, { auth = true, headers = {}, retry = true } = {}) {
	const init = { method, headers: { ...headers } };
	if (auth && tokens) init.headers.Authorization = `Bearer ${tokens.access_token}`;
	if (body instanceof URLSearchParams) {
		init.body = body;
	} else if (body !== undefined) {
		init.headers["Content-Type"] = "application/json";
		init.body = JSON.stringify(body);
	} else if (method !== "GET") {
		init.body = ""; // a POST without a body still says Content-Length: 0
	}
	const r = await fetch(API + path, init);
	const answer = r.status === 204 ? null : await r.json().catch(() => null);
	if (r.status === 401 && auth && retry && tokens) {
		await refresh();
		return request(method, path, body, { auth, headers, retry: false });
	}
	if (!r.ok) throw new ApiError(r.status, answer);
	return answer;
}

export const get = (path) => request("GET", path);
export const post = (path, body, options) => request("POST", path, body, options);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

export function query(params) {
	return new URLSearchParams(Object.entries(params)
		.filter(([, v]) => v !== undefined && v !== null && v !== "")).toString();
}

export async function login(username, password) {
	keep(await request("POST", "/auth/access-token",
		new URLSearchParams({ username, password }), { auth: false }));
}

export async function register(fields) {
	await request("POST", "/accounts", fields, { auth: false });
	await login(fields.username, fields.password);
}

/** Whether tokens from an earlier visit are there (then refresh them). */
export function resume() {
	if (!tokens) return false;
	schedule();
	return true;
}
