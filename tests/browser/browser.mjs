// Helpers of the browser tests: Debian's Chromium driven by playwright-core
// (web/node_modules), one browser context per person, a screenshot of
// each step.

import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

// playwright-core is a package of web/ (web/package-lock.json).
const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

export const BASE = (process.env.CHAT_URL || "").replace(/\/$/, "");
export const SHOTS = process.env.CHAT_SCREENSHOTS || "/tmp/chat-browser-screenshots";
export const WAIT = 15000; // ms any one expected thing may take

if (!BASE) throw new Error("CHAT_URL is not set: run the browser tests with ./stack test");
mkdirSync(SHOTS, { recursive: true });

export async function launch() {
	return chromium.launch({
		executablePath: process.env.CHAT_CHROMIUM || "/usr/bin/chromium",
		// Headless as root in a closed network: no sandbox (root), nothing
		// of Chromium's own that would call out.
		args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--disable-dev-shm-usage"],
	});
}

let step = 0;

/** A screenshot of page, numbered in the order of the steps. */
export async function shot(page, name) {
	step += 1;
	const file = join(SHOTS, `${String(step).padStart(2, "0")}-${name}.png`);
	await page.screenshot({ path: file });
	return file;
}

export function uniqueName(prefix) {
	return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A person: a browser context of their own (their own localStorage). */
export async function person(browser, prefix, viewport = { width: 1100, height: 760 }) {
	const context = await browser.newContext({ viewport });
	const page = await context.newPage();
	const errors = [];
	page.on("pageerror", (e) => errors.push(e.message));
	const username = uniqueName(prefix);
	return { context, page, username, errors, password: "correct horse 9" };
}

/** Registers through the web client; the chat shows afterwards. */
export async function register(p, fullName) {
	await p.page.goto(BASE + "/");
	await p.page.getByRole("tab", { name: "Register" }).click();
	const form = p.page.getByRole("form", { name: "Register" });
	await form.getByLabel("Username").fill(p.username);
	await form.getByLabel("Email").fill(`${p.username}@example.com`);
	await form.getByLabel("Full name (optional)").fill(fullName);
	await form.getByLabel(/^Password/).fill(p.password);
	await form.getByRole("button", { name: "Register" }).click();
	await p.page.getByRole("button", { name: "Log out" }).waitFor({ timeout: WAIT });
	await connected(p);
}

/** Waits until the page's WebSocket is open. */
export async function connected(p) {
	await p.page.getByRole("status").filter({ hasText: "Connected" }).waitFor({ timeout: WAIT });
}

export function friendButton(p, fullName) {
	return p.page.getByRole("complementary").getByRole("button", { name: new RegExp(`^${fullName}`) });
}
