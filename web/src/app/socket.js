// The one WebSocket of the web client (docs/asyncapi.yaml): opened with
// the access token, reopened after a drop with back-off (1 s doubling to
// 30 s, with jitter), each time with the cursor of the last frame that
// carried one (`since`), so that nothing that happened meanwhile is lost.
// The cursor is kept per account in localStorage: a reload catches up too.

import { accessToken, refresh } from "./api.js";

const FIRST_WAIT = 1000;
const LONGEST_WAIT = 30000;

export class Socket {
	/**
	 * onFrame(frame) gets every frame; onState(state) "connecting",
	 * "online" or "offline" (with the seconds until the next try).
	 */
	constructor(accountId, onFrame, onState) {
		this.key = `chat.cursor.${accountId}`;
		this.onFrame = onFrame;
		this.onState = onState;
		this.wait = FIRST_WAIT;
		this.ws = null;
		this.timer = null;
		this.stopped = false;
		this.failures = 0;
		this.open();
	}

	get cursor() {
		return localStorage.getItem(this.key);
	}

	open() {
		if (this.stopped) return;
		const url = new URL("/api/v1/chat/ws/chat", location.href);
		url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
		url.searchParams.set("token", accessToken());
		if (this.cursor) url.searchParams.set("since", this.cursor);
		this.onState("connecting");
		const ws = new WebSocket(url);
		this.ws = ws;
		ws.onmessage = (event) => {
			const frame = JSON.parse(event.data);
			if (frame.type === "connection_established") {
				this.wait = FIRST_WAIT;
				this.failures = 0;
				this.onState("online");
			}
			this.onFrame(frame);
			if (frame.cursor) localStorage.setItem(this.key, frame.cursor);
		};
		ws.onclose = (event) => {
			if (this.ws !== ws || this.stopped) return;
			this.ws = null;
			this.retry(event.code);
		};
	}

	retry(code) {
		// A refused handshake closes with 1006 before any frame: after two
		// in a row, the token may have expired; get a new one first.
		this.failures += 1;
		const renew = this.failures >= 2 && code === 1006 ? refresh().catch(() => {}) : null;
		const wait = this.wait * (0.5 + Math.random() / 2);
		this.wait = Math.min(this.wait * 2, LONGEST_WAIT);
		this.onState("offline", Math.round(wait / 1000));
		this.timer = setTimeout(() => Promise.resolve(renew).then(() => this.open()), wait);
	}

	/** Sends a frame; false when the socket is not open. */
	send(frame) {
		if (this.ws?.readyState !== WebSocket.OPEN) return false;
		this.ws.send(JSON.stringify(frame));
		return true;
	}

	/** Starts again from the moment a resync_required frame gave. */
	reset(cursor) {
		localStorage.setItem(this.key, cursor);
	}

	close() {
		this.stopped = true;
		clearTimeout(this.timer);
		this.ws?.close(1000);
	}
}
