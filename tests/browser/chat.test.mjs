// A person's use of the web client at / and of the reference at /docs/,
// in headless Chromium against the stack of CHAT_URL: two people register,
// become friends, chat both ways with typing and read ticks; one goes
// away and comes back to what was missed; a group of three talks.
// Screenshots of each step: CHAT_SCREENSHOTS.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { BASE, WAIT, connected, friendButton, launch, person, register, shot } from "./browser.mjs";

let browser, alice, bob, carol;

before(async () => {
	browser = await launch();
	alice = await person(browser, "alice");
	bob = await person(browser, "bob");
});

after(async () => {
	await browser?.close();
});

/** A test that, when it fails, leaves a screenshot of every open page. */
function step(name, options, fn = options) {
	return test(name, fn === options ? {} : options, async (t) => {
		try {
			await fn(t);
		} catch (e) {
			for (const p of [alice, bob, carol])
				if (p?.page && !p.page.isClosed()) await shot(p.page, `FAILED-${p.username}`).catch(() => {});
			throw e;
		}
	});
}

describe("two people", () => {
	step("register", async () => {
		await register(alice, "Alice Liddell");
		await register(bob, "Bob Dylan");
		await shot(alice.page, "alice-registered");
	});

	step("become friends: a request one way, accepted the other", async () => {
		const side = alice.page.getByRole("complementary");
		await side.getByLabel("Name").fill(bob.username);
		await side.getByRole("button", { name: "Search" }).click();
		await side.getByRole("button", { name: `Add ${bob.username} as a friend` }).click();
		await side.getByText("Request sent").waitFor({ timeout: WAIT });
		await shot(alice.page, "alice-asked-bob");

		// Bob hears of it live (friend_request), and accepts.
		const accept = bob.page.getByRole("button", { name: `Accept ${alice.username}` });
		await accept.waitFor({ timeout: WAIT });
		await shot(bob.page, "bob-sees-request");
		await accept.click();
		await friendButton(bob, "Alice Liddell").waitFor({ timeout: WAIT });

		// Alice hears of it live (friend_accepted), and sees Bob online.
		const bobInList = friendButton(alice, "Bob Dylan");
		await bobInList.waitFor({ timeout: WAIT });
		await alice.page.locator(".open", { hasText: "Bob Dylan" }).locator(".dot.on").waitFor({ timeout: WAIT });
		await shot(alice.page, "alice-sees-bob-online");
	});

	step("tokens are refreshed a minute before they expire", async () => {
		// Alice's access token made to expire in 62 s: after a reload the
		// client refreshes it within a few seconds, and stays connected.
		await alice.page.evaluate(() => {
			const t = JSON.parse(localStorage.getItem("chat.tokens"));
			t.expires_at = Date.now() + 62000;
			localStorage.setItem("chat.tokens", JSON.stringify(t));
		});
		await alice.page.reload();
		await connected(alice);
		await alice.page.waitForFunction(() =>
			JSON.parse(localStorage.getItem("chat.tokens")).expires_at > Date.now() + 20 * 60000,
		null, { timeout: WAIT });
		await friendButton(alice, "Bob Dylan").waitFor({ timeout: WAIT });
	});

	step("chat both ways, with typing and read ticks", async () => {
		await friendButton(alice, "Bob Dylan").click();
		await friendButton(bob, "Alice Liddell").click();
		const aliceBox = alice.page.getByLabel("Message", { exact: true });
		const bobBox = bob.page.getByLabel("Message", { exact: true });

		await aliceBox.pressSequentially("Hello Bo", { delay: 20 });
		await bob.page.getByText("Alice Liddell is typing…").waitFor({ timeout: WAIT });
		await shot(bob.page, "bob-sees-alice-typing");
		await aliceBox.fill("Hello Bob!");
		await aliceBox.press("Enter");

		const log = (p) => p.page.getByRole("log", { name: "Messages" });
		await log(bob).getByText("Hello Bob!").waitFor({ timeout: WAIT });
		// Bob has the conversation open: it is read, and Alice sees it so.
		await log(alice).locator(".message.mine", { hasText: "Hello Bob!" })
			.getByLabel("read").waitFor({ timeout: WAIT });
		await shot(alice.page, "alice-sees-read-tick");

		await bobBox.fill("Hi Alice, all well?");
		await bobBox.press("Enter");
		await log(alice).getByText("Hi Alice, all well?").waitFor({ timeout: WAIT });
		await log(bob).locator(".message.mine", { hasText: "Hi Alice" })
			.getByLabel("read").waitFor({ timeout: WAIT });
		await shot(bob.page, "bob-sees-his-reply-read");
	});

	step("one goes away, the other writes, and it is all there on return", async () => {
		// Bob closes the tab: his WebSocket closes, Alice sees him offline.
		await bob.page.close();
		await alice.page.locator(".open", { hasText: "Bob Dylan" }).locator(".dot:not(.on)").waitFor({ timeout: WAIT });
		const aliceBox = alice.page.getByLabel("Message", { exact: true });
		for (const text of ["Are you there?", "I will tell you later", "Call me"]) {
			await aliceBox.fill(text);
			await aliceBox.press("Enter");
			await alice.page.locator(".message.mine", { hasText: text }).getByLabel("sent").waitFor({ timeout: WAIT });
		}
		await shot(alice.page, "alice-writes-while-bob-away");

		// Bob comes back (the same browser: still logged in, with the cursor
		// of his last frame): the three messages are waiting, unread.
		bob.page = await bob.context.newPage();
		await bob.page.goto(BASE + "/");
		await connected(bob);
		const badge = friendButton(bob, "Alice Liddell").getByLabel("3 unread");
		await badge.waitFor({ timeout: WAIT });
		await shot(bob.page, "bob-back-sees-unread");
		await friendButton(bob, "Alice Liddell").click();
		const log = bob.page.getByRole("log", { name: "Messages" });
		for (const text of ["Are you there?", "I will tell you later", "Call me"])
			await log.getByText(text).waitFor({ timeout: WAIT });
		// Delivered while he was away, read now that he looks.
		await alice.page.locator(".message.mine", { hasText: "Call me" }).getByLabel("read").waitFor({ timeout: WAIT });
		await shot(bob.page, "bob-reads-what-he-missed");
		await shot(alice.page, "alice-sees-all-read");
	});

	step("the connection drops and comes back by itself, and catches up", {
		skip: !process.env.CHAT_STACK_CMD && "CHAT_STACK_CMD is not set (./stack test sets it)",
	}, async () => {
		// Every push daemon restarted: both pages lose their WebSocket and
		// try again with back-off. Alice writes meanwhile (over REST while
		// her socket is down); Bob, reconnected with his cursor, gets it.
		const daemons = (process.env.CHAT_PUSH_PORTS || "x").split(" ").length;
		for (let k = 1; k <= daemons; k++)
			execFileSync(process.env.CHAT_STACK_CMD, ["daemon-restart", String(k)], { stdio: "ignore" });
		await bob.page.getByRole("status").filter({ hasText: /Offline|Connecting/ }).first().waitFor({ timeout: WAIT })
			.catch(() => {}); // it may be back already
		const aliceBox = alice.page.getByLabel("Message", { exact: true });
		await aliceBox.fill("Back again?");
		await aliceBox.press("Enter");
		await connected(bob);
		await connected(alice);
		await bob.page.getByRole("log", { name: "Messages" }).getByText("Back again?").waitFor({ timeout: WAIT });
		await shot(bob.page, "bob-reconnected-caught-up");
	});

	step("search and delete", async () => {
		const head = alice.page.locator(".convo-head");
		await head.getByLabel("Search this conversation").fill("later");
		await head.getByRole("button", { name: "Search" }).click();
		await alice.page.locator(".results").getByText("1 found").waitFor({ timeout: WAIT });
		await shot(alice.page, "alice-searches");
		await alice.page.getByRole("button", { name: 'Delete "Call me"' }).click();
		await bob.page.getByRole("log", { name: "Messages" }).getByText("Call me").waitFor({ state: "detached", timeout: WAIT });
		await shot(bob.page, "bob-sees-deletion");
	});

	step("at phone width, one column at a time", async () => {
		await bob.page.setViewportSize({ width: 390, height: 760 });
		await shot(bob.page, "phone-conversation");
		await bob.page.getByRole("button", { name: "Back to the list" }).click();
		await friendButton(bob, "Alice Liddell").waitFor({ timeout: WAIT });
		await shot(bob.page, "phone-list");
		await bob.page.setViewportSize({ width: 1100, height: 760 });
	});

	step("no script error on any page", () => {
		assert.deepEqual([...alice.errors, ...bob.errors], []);
	});
});

describe("a group of three", () => {
	step("talks", async () => {
		carol = await person(browser, "carol");
		await register(carol, "Carol King");
		// Carol asks Alice; Alice accepts.
		const side = carol.page.getByRole("complementary");
		await side.getByLabel("Name").fill(alice.username);
		await side.getByRole("button", { name: "Search" }).click();
		await side.getByRole("button", { name: `Add ${alice.username} as a friend` }).click();
		await alice.page.getByRole("button", { name: `Accept ${carol.username}` }).click();
		await friendButton(alice, "Carol King").waitFor({ timeout: WAIT });

		// Alice starts a group with both.
		await alice.page.getByRole("button", { name: "New group" }).click();
		const form = alice.page.getByRole("form", { name: "New group" });
		await form.getByLabel("Group name").fill("Trio");
		await form.getByLabel("Bob Dylan").check();
		await form.getByLabel("Carol King").check();
		await shot(alice.page, "alice-creates-group");
		await form.getByRole("button", { name: "Create" }).click();

		const open = async (p) => {
			const button = p.page.getByRole("complementary").getByRole("button", { name: /^Trio/ });
			await button.waitFor({ timeout: WAIT });
			await button.click();
		};
		await open(bob);
		await open(carol);
		const say = async (p, text) => {
			const box = p.page.getByLabel("Message", { exact: true });
			await box.fill(text);
			await box.press("Enter");
		};
		await say(alice, "Welcome to Trio");
		await say(bob, "Hello both");
		await say(carol, "Hi there");
		for (const p of [alice, bob, carol]) {
			const log = p.page.getByRole("log", { name: "Messages" });
			for (const text of ["Welcome to Trio", "Hello both", "Hi there"])
				await log.getByText(text).waitFor({ timeout: WAIT });
		}
		// The two others have the group open: Bob's message is read by both.
		await bob.page.locator(".message.mine", { hasText: "Hello both" })
			.getByText("read by 2").waitFor({ timeout: WAIT });
		await shot(alice.page, "group-alice");
		await shot(bob.page, "group-bob");
		await shot(carol.page, "group-carol");

		await carol.page.getByRole("button", { name: "Members", exact: true }).click();
		await carol.page.getByRole("list", { name: "Members" }).getByText("Alice Liddell").waitFor({ timeout: WAIT });
		await carol.page.getByRole("button", { name: "Leave", exact: true }).click();
		await carol.page.getByRole("complementary").getByRole("button", { name: /^Trio/ }).waitFor({ state: "detached", timeout: WAIT });
		await shot(carol.page, "carol-left");
		assert.deepEqual(carol.errors, []);
	});
});

describe("the reference at /docs/", () => {
	step("REST: the document, and trying an operation", async () => {
		const p = await person(browser, "reader", { width: 1280, height: 900 });
		await p.page.goto(BASE + "/docs/");
		await p.page.locator(".swagger-ui .info .title").getByText("chat").waitFor({ timeout: WAIT });
		await p.page.getByText("A JavaScript client (the seed's").waitFor({ timeout: WAIT });
		// Try it: GET /health against this server.
		const op = p.page.locator("#operations-service-health");
		await op.locator(".opblock-summary").click();
		await op.getByRole("button", { name: "Try it out" }).click();
		await op.getByRole("button", { name: "Execute" }).click();
		await op.locator(".live-responses-table .response-col_status").getByText("200").waitFor({ timeout: WAIT });
		await op.scrollIntoViewIfNeeded();
		await shot(p.page, "docs-try-it");

		// Authorize with the password flow, then an operation that needs
		// the token: GET /accounts/me answers the account logged in.
		const who = { username: p.username, email: `${p.username}@example.com`, password: p.password };
		assert.equal((await fetch(BASE + "/api/v1/accounts", { method: "POST",
			headers: { "Content-Type": "application/json" }, body: JSON.stringify(who) })).status, 201);
		await p.page.getByRole("button", { name: "Authorize" }).first().click();
		// The dialog's second scheme is the password flow (the first: a
		// bearer token pasted by hand).
		const dialog = p.page.locator(".modal-ux");
		const flow = dialog.locator(".auth-container", { hasText: "password (OAuth2, password)" });
		await flow.getByLabel("username:").fill(p.username);
		await flow.getByLabel("password:").fill(p.password);
		await dialog.getByRole("button", { name: "Apply given OAuth2 credentials" }).click();
		await dialog.getByRole("button", { name: "Remove authorization" }).waitFor({ timeout: WAIT });
		await shot(p.page, "docs-authorized");
		await p.page.getByRole("button", { name: "Close" }).first().click();
		const me = p.page.locator("#operations-accounts-me");
		await me.locator(".opblock-summary").click();
		await me.getByRole("button", { name: "Try it out" }).click();
		await me.getByRole("button", { name: "Execute" }).click();
		await me.locator(".live-responses-table .response-col_status").getByText("200").waitFor({ timeout: WAIT });
		await me.locator(".live-responses-table").getByText(p.username).first().waitFor({ timeout: WAIT });
		await me.scrollIntoViewIfNeeded();
		await shot(p.page, "docs-try-it-authorized");
		assert.deepEqual(p.errors, []);
	});

	step("WebSocket: the AsyncAPI document", async () => {
		const p = await person(browser, "reader", { width: 1280, height: 900 });
		await p.page.goto(BASE + "/docs/websocket.html");
		for (const heading of ["Connecting", "Catching up", "Closing", "Operations", "Messages"])
			await p.page.getByRole("heading", { name: heading, exact: true }).waitFor({ timeout: WAIT });
		await p.page.getByRole("heading", { name: "Operations", exact: true }).scrollIntoViewIfNeeded();
		await shot(p.page, "docs-websocket");
		assert.deepEqual(p.errors, []);
	});
});
