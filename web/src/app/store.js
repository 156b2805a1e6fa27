// The web client's state and everything that changes it: REST answers,
// the frames of the WebSocket, and what the person does. Views read the
// state with useStore() and call the actions below.

import { useEffect, useState } from "preact/hooks";
import * as api from "./api.js";
import { Socket } from "./socket.js";

const HISTORY_PAGE = 30;
const TYPING_SHOWN = 6000;    // ms a typing indicator stays without news
const TYPING_REPEAT = 3000;   // ms between two typing frames while typing

const empty = () => ({
	me: null,
	friends: [],          // PublicAccount, by username
	online: new Set(),    // ids of friends with a connection open
	unread: {},           // friend id -> Set of the ids of messages not read
	pending: [],          // friend requests to me
	asked: new Set(),     // ids I sent a friend request to
	groups: [],           // Group, newest activity first
	convo: null,          // the open conversation (openDirect, openGroup)
	connection: "offline",
	retryIn: 0,
	notice: "",
});

export let state = empty();
const listeners = new Set();
let socket = null;
let sequence = 0;

function set(patch) {
	state = { ...state, ...(typeof patch === "function" ? patch(state) : patch) };
	for (const fn of listeners) fn(state);
}

function setConvo(patch) {
	if (!state.convo) return;
	set((s) => ({ convo: { ...s.convo, ...(typeof patch === "function" ? patch(s.convo) : patch) } }));
}

export function useStore() {
	const [, render] = useState(0);
	useEffect(() => {
		const fn = () => render((n) => n + 1);
		listeners.add(fn);
		return () => listeners.delete(fn);
	}, []);
	return state;
}

export function notify(text) {
	set({ notice: text });
}

/** Runs an action, showing its failure instead of throwing it. */
export async function attempt(fn) {
	try {
		return await fn();
	} catch (e) {
		notify(e.message || String(e));
		return undefined;
	}
}

const byName = (a, b) => a.username.localeCompare(b.username);
const other = (m) => (m.sender_id === state.me.account_id ? m.receiver_id : m.sender_id);
const tempId = () => `web-${Date.now()}-${++sequence}`;

// ------------------------------------------------------------ session

export async function start() {
	api.setLogoutHandler(() => stop());
	const me = await api.get("/accounts/me");
	set({ ...empty(), me });
	await reload();
	socket = new Socket(me.account_id, onFrame,
		(connection, retryIn = 0) => set({ connection, retryIn }));
}

export function stop() {
	socket?.close();
	socket = null;
	api.forget();
	set(empty());
}

/** Everything from REST again: at start, and after resync_required. */
async function reload() {
	const [friends, pending, groups] = await Promise.all([
		api.get("/friends/list"), api.get("/friends/pending"),
		api.get("/group-chat/my-groups").catch(() => []),
	]);
	set({ friends: friends.sort(byName), pending, groups });
	await countUnread(friends);
	if (state.convo) await reopen();
}

/** Unread messages per friend: those to me, not read, of the last 100
 * (by id: a message that a frame brings too counts once). */
async function countUnread(friends) {
	const unread = {};
	await Promise.all(friends.map(async (f) => {
		const page = await api.get(`/chat/messages/history/${f.account_id}?limit=100`);
		unread[f.account_id] = new Set(page.messages.filter((m) =>
			m.receiver_id === state.me.account_id && m.status !== "read").map((m) => m.message_id));
	}));
	set((s) => {
		for (const [id, more] of Object.entries(s.unread)) for (const m of more) unread[id]?.add(m);
		return { unread };
	});
}

// ------------------------------------------------------------ frames

function onFrame(f) {
	const handler = frames[f.type];
	if (handler) handler(f);
}

const frames = {
	online_friends: (f) => set({ online: new Set(f.friends) }),
	friend_online: (f) => set((s) => ({ online: new Set(s.online).add(f.user_id) })),
	friend_offline: (f) => set((s) => {
		const online = new Set(s.online);
		online.delete(f.user_id);
		return { online };
	}),
	resync_required: (f) => {
		socket.reset(f.cursor);
		reload();
	},
	new_message: (f) => receiveDirect(f.message),
	message_sent: (f) => {
		setConvo((c) => ({
			messages: c.messages.map((m) => (m.temp_id === f.temp_id && f.temp_id ?
				{ ...m, message_id: f.message_id, created_at: f.created_at, status: m.status === "sending" ? "sent" : m.status } : m)),
		}));
	},
	message_delivered: (f) => updateMessage(f.message_id, (m) =>
		(m.status === "sent" ? { ...m, status: "delivered" } : m)),
	message_read: (f) => updateMessage(f.message_id, (m) => ({ ...m, status: "read" })),
	message_deleted: (f) => {
		removeMessage(f.message_id);
		set((s) => ({
			unread: Object.fromEntries(Object.entries(s.unread).map(([id, ids]) => {
				const left = new Set(ids);
				left.delete(f.message_id);
				return [id, left];
			})),
		}));
	},
	typing_indicator: (f) => {
		if (state.convo?.kind === "direct" && state.convo.id === f.user_id) showTyping(f.user_id, f.is_typing);
	},
	error: (f) => {
		if (f.temp_id) setConvo((c) => ({
			messages: c.messages.map((m) => (m.temp_id === f.temp_id && m.status === "sending" ? { ...m, status: "failed" } : m)),
		}));
		notify(f.detail);
	},
	friend_request: (f) => set((s) => ({
		pending: [...s.pending.filter((p) => p.sender_id !== f.request.sender_id), f.request],
	})),
	friend_accepted: () => refreshFriends(),
	friend_removed: (f) => {
		if (state.convo?.kind === "direct" && state.convo.id === f.user_id) set({ convo: null });
		refreshFriends();
	},
	group_message: (f) => receiveGroup(f.data),
	group_typing_indicator: (f) => {
		if (state.convo?.kind === "group" && state.convo.id === f.group_id &&
		    f.user_id !== state.me.account_id) showTyping(f.user_id, f.is_typing);
	},
	group_read: (f) => {
		if (state.convo?.kind === "group" && state.convo.id === f.group_id) refreshGroupPage();
	},
	group_message_deleted: (f) => removeMessage(f.message_id),
	group_updated: (f) => refreshGroups(),
	group_member_added: (f) => memberChanged(f),
	group_member_left: (f) => memberChanged(f),
	group_member_removed: (f) => memberChanged(f),
};

/** Friends and requests again, and who of them is online (a new friend
 * already online gets no friend_online). */
async function refreshFriends() {
	const [friends, pending, online] = await Promise.all([api.get("/friends/list"),
		api.get("/friends/pending"), api.get("/chat/friends/online")]);
	set({ friends: friends.sort(byName), pending, online: new Set(online.online_friends) });
}

async function refreshGroups() {
	const groups = await api.get("/group-chat/my-groups").catch(() => state.groups);
	set({ groups });
	if (state.convo?.kind === "group") {
		const group = groups.find((g) => g.group_id === state.convo.id);
		if (group) setConvo({ group });
		else set({ convo: null });
	}
}

function memberChanged(f) {
	refreshGroups();
	if (state.convo?.kind !== "group" || state.convo.id !== f.group_id) return;
	// This person left or was removed: the group is no longer theirs to read.
	if (f.member?.account_id === state.me.account_id && f.member.status !== "active") {
		set({ convo: null });
		return;
	}
	if (state.convo.members) loadMembers().catch(() => {});
}

function updateMessage(id, fn) {
	if (!state.convo) return;
	setConvo((c) => ({ messages: c.messages.map((m) => (m.message_id === id ? fn(m) : m)) }));
}

function removeMessage(id) {
	if (!state.convo) return;
	setConvo((c) => ({ messages: c.messages.filter((m) => m.message_id !== id) }));
}

function viewing() {
	return document.visibilityState === "visible";
}

function receiveDirect(m) {
	const friend = other(m);
	const mine = m.sender_id === state.me.account_id;
	const c = state.convo;
	if (c?.kind === "direct" && c.id === friend) {
		if (!c.messages.some((x) => x.message_id === m.message_id)) {
			setConvo({ messages: [...c.messages, m], typing: {} });
		}
		if (!mine && m.status !== "read" && viewing()) markRead([m]);
		else if (!mine && m.status !== "read") addUnread(friend, m.message_id);
	} else if (!mine && m.status !== "read") {
		addUnread(friend, m.message_id);
	}
}

function addUnread(friend, id) {
	set((s) => ({ unread: { ...s.unread, [friend]: new Set(s.unread[friend]).add(id) } }));
}

function receiveGroup(m) {
	const c = state.convo;
	if (c?.kind === "group" && c.id === m.group_id) {
		if (!c.messages.some((x) => x.message_id === m.message_id)) {
			setConvo({ messages: [...c.messages, m] });
		}
		markGroupRead(m.group_id, m.message_id);
	} else {
		set((s) => ({
			groups: s.groups.map((g) => (g.group_id === m.group_id ?
				{ ...g, unread_count: g.unread_count + 1, last_message: m } : g)),
		}));
	}
}

const typingTimers = {};

function showTyping(user, isTyping) {
	clearTimeout(typingTimers[user]);
	setConvo((c) => ({ typing: { ...c.typing, [user]: isTyping } }));
	if (isTyping) typingTimers[user] = setTimeout(() => showTyping(user, false), TYPING_SHOWN);
}

// ------------------------------------------------------------ conversations

export async function openDirect(friend) {
	const page = await api.get(`/chat/messages/history/${friend.account_id}?limit=${HISTORY_PAGE}`);
	set({
		convo: {
			kind: "direct", id: friend.account_id, title: friend.full_name || friend.username,
			peer: friend, messages: page.messages.reverse(), total: page.total, typing: {},
		},
	});
	markRead(state.convo.messages);
}

export async function openGroup(group) {
	const page = await api.get(`/group-chat/${group.group_id}/messages?limit=${HISTORY_PAGE}`);
	set({
		convo: {
			kind: "group", id: group.group_id, title: group.name, group,
			messages: page.messages, total: page.total, typing: {}, members: null,
		},
	});
	const last = page.messages.at(-1);
	if (last) markGroupRead(group.group_id, last.message_id);
}

async function reopen() {
	const c = state.convo;
	if (c.kind === "direct") {
		const friend = state.friends.find((f) => f.account_id === c.id);
		if (friend) await openDirect(friend);
		else set({ convo: null });
	} else {
		const group = state.groups.find((g) => g.group_id === c.id);
		if (group) await openGroup(group);
		else set({ convo: null });
	}
}

export function closeConvo() {
	set({ convo: null });
}

/** The next older page, above what is shown. */
export async function loadOlder() {
	const c = state.convo;
	const skip = c.messages.filter((m) => m.message_id).length;
	if (c.kind === "direct") {
		const page = await api.get(`/chat/messages/history/${c.id}?skip=${skip}&limit=${HISTORY_PAGE}`);
		setConvo((now) => ({ messages: [...page.messages.reverse(), ...now.messages], total: page.total }));
	} else {
		const page = await api.get(`/group-chat/${c.id}/messages?skip=${skip}&limit=${HISTORY_PAGE}`);
		setConvo((now) => ({ messages: [...page.messages, ...now.messages], total: page.total }));
	}
}

let groupPageTimer = null;

/** The group's shown messages again (their read_by_count moved). */
function refreshGroupPage() {
	clearTimeout(groupPageTimer);
	groupPageTimer = setTimeout(async () => {
		const c = state.convo;
		if (c?.kind !== "group") return;
		const shown = Math.min(100, Math.max(1, c.messages.filter((m) => m.message_id).length));
		const page = await api.get(`/group-chat/${c.id}/messages?limit=${shown}`);
		const counts = new Map(page.messages.map((m) => [m.message_id, m.read_by_count]));
		setConvo((now) => ({
			messages: now.messages.map((m) => (counts.has(m.message_id) ?
				{ ...m, read_by_count: counts.get(m.message_id) } : m)),
		}));
	}, 300);
}

function markRead(messages) {
	const mine = state.me.account_id;
	const unread = messages.filter((m) => m.receiver_id === mine && m.status !== "read" && m.message_id);
	for (const m of unread) {
		if (!socket?.send({ type: "mark_read", message_id: m.message_id })) {
			api.put(`/chat/messages/${m.message_id}/read`).catch(() => {});
		}
	}
	if (state.convo?.kind === "direct") {
		const friend = state.convo.id;
		const read = new Set(unread.map((m) => m.message_id));
		setConvo((c) => ({ messages: c.messages.map((m) => (read.has(m.message_id) ? { ...m, status: "read" } : m)) }));
		set((s) => ({ unread: { ...s.unread, [friend]: new Set() } }));
	}
}

function markGroupRead(groupId, messageId) {
	if (!socket?.send({ type: "mark_group_read", group_id: groupId, message_id: messageId })) {
		api.put(`/group-chat/${groupId}/read`, { message_id: messageId }).catch(() => {});
	}
	set((s) => ({ groups: s.groups.map((g) => (g.group_id === groupId ? { ...g, unread_count: 0 } : g)) }));
}

/** Sends over the WebSocket (temp_id), or over REST while it is down
 * (Idempotency-Key: a retry stores nothing twice). */
export async function send(content) {
	const c = state.convo;
	const temp_id = tempId();
	const me = state.me;
	const draft = c.kind === "direct" ?
		{ temp_id, sender_id: me.account_id, receiver_id: c.id, content, status: "sending", created_at: new Date().toISOString() } :
		{ temp_id, sender_id: me.account_id, group_id: c.id, content, status: "sending", sender: me, read_by_count: 1, created_at: new Date().toISOString() };
	setConvo((now) => ({ messages: [...now.messages, draft] }));
	typing(false);
	const frame = c.kind === "direct" ?
		{ type: "send_message", receiver_id: c.id, content, temp_id } :
		{ type: "send_group_message", group_id: c.id, content, temp_id };
	if (socket?.send(frame)) return;
	try {
		const path = c.kind === "direct" ? "/chat/messages" : `/group-chat/${c.id}/messages`;
		const body = c.kind === "direct" ? { receiver_id: c.id, content } : { content };
		const m = await api.post(path, body, { headers: { "Idempotency-Key": temp_id } });
		setConvo((now) => ({ messages: now.messages.map((x) => (x.temp_id === temp_id ? { ...m, temp_id } : x)) }));
	} catch (e) {
		setConvo((now) => ({ messages: now.messages.map((x) => (x.temp_id === temp_id ? { ...x, status: "failed" } : x)) }));
		notify(e.message);
	}
}

let lastTyping = 0;
let typingOff = null;

/** Tells the other side the person types: at most every 3 s, and that
 * they stopped after 4 s without a key. */
export function typing(isTyping) {
	const c = state.convo;
	if (!c) return;
	clearTimeout(typingOff);
	const now = Date.now();
	if (isTyping && now - lastTyping < TYPING_REPEAT) {
		typingOff = setTimeout(() => typing(false), 4000);
		return;
	}
	lastTyping = isTyping ? now : 0;
	socket?.send(c.kind === "direct" ?
		{ type: "typing", receiver_id: c.id, is_typing: isTyping } :
		{ type: "group_typing", group_id: c.id, is_typing: isTyping });
	if (isTyping) typingOff = setTimeout(() => typing(false), 4000);
}

export async function deleteMessage(m) {
	const c = state.convo;
	await api.del(c.kind === "direct" ? `/chat/messages/${m.message_id}` :
		`/group-chat/${c.id}/messages/${m.message_id}`);
	removeMessage(m.message_id);
}

export async function searchMessages(keyword) {
	const c = state.convo;
	const q = api.query({ keyword, limit: 50 });
	const page = await api.get(c.kind === "direct" ? `/chat/messages/search/${c.id}?${q}` :
		`/group-chat/${c.id}/messages/search?${q}`);
	return page.messages;
}

// ------------------------------------------------------------ friends

export function findPeople(name) {
	return api.get(`/accounts/search?${api.query({ name })}`);
}

export async function askFriend(account) {
	await api.post("/friends/request", { receiver_id: account.account_id });
	set((s) => ({ asked: new Set(s.asked).add(account.account_id) }));
}

export async function answerRequest(request, accept) {
	await api.post(`/friends/${accept ? "accept" : "reject"}/${request.sender_id}`);
	await refreshFriends();
	if (accept) await countUnread(state.friends);
}

// ------------------------------------------------------------ groups

export async function createGroup(name, memberIds) {
	const group = await api.post("/group-chat", { name, member_ids: memberIds });
	await refreshGroups();
	await openGroup(group);
}

export async function loadMembers() {
	const members = await api.get(`/group-chat/${state.convo.id}/members`);
	setConvo({ members });
}

export function hideMembers() {
	setConvo({ members: null });
}

export async function leaveGroup() {
	await api.post(`/group-chat/${state.convo.id}/leave`);
	set({ convo: null });
	await refreshGroups();
}
