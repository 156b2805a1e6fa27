// The web client's screens: logging in, and the chat itself (people,
// requests, friends, groups on the side; one conversation in the middle).

import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "./api.js";
import {
	answerRequest, askFriend, attempt, closeConvo, createGroup, deleteMessage,
	findPeople, hideMembers, leaveGroup, loadMembers, loadOlder, openDirect,
	openGroup, searchMessages, send, start, stop, typing, useStore,
} from "./store.js";

const nameOf = (a) => a.full_name || a.username;
const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

export function App() {
	const s = useStore();
	return (
		<>
			{s.me ? <Chat /> : <Welcome />}
			<p class="notice" role="status" aria-live="polite">{s.notice}</p>
		</>
	);
}

// ------------------------------------------------------------ logging in

function Welcome() {
	const [mode, setMode] = useState("login");
	return (
		<main class="welcome">
			<h1>chat</h1>
			<p>Talk to your friends as it happens. <a href="/docs/">API reference</a></p>
			<div class="tabs" role="tablist">
				<button role="tab" aria-selected={mode === "login"} onClick={() => setMode("login")}>Log in</button>
				<button role="tab" aria-selected={mode === "register"} onClick={() => setMode("register")}>Register</button>
			</div>
			{mode === "login" ? <Login /> : <Register />}
		</main>
	);
}

function Field({ label, ...props }) {
	return (
		<label class="field">
			<span>{label}</span>
			<input {...props} />
		</label>
	);
}

function Login() {
	const submit = (e) => {
		e.preventDefault();
		const f = new FormData(e.target);
		attempt(async () => {
			await api.login(f.get("username"), f.get("password"));
			await start();
		});
	};
	return (
		<form onSubmit={submit} aria-label="Log in">
			<Field label="Username or email" name="username" autocomplete="username" required />
			<Field label="Password" name="password" type="password" autocomplete="current-password" required />
			<button type="submit">Log in</button>
		</form>
	);
}

function Register() {
	const submit = (e) => {
		e.preventDefault();
		const f = Object.fromEntries(new FormData(e.target));
		if (!f.full_name) delete f.full_name;
		attempt(async () => {
			await api.register(f);
			await start();
		});
	};
	return (
		<form onSubmit={submit} aria-label="Register">
			<Field label="Username" name="username" autocomplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_.\-]+" />
			<Field label="Email" name="email" type="email" autocomplete="email" required />
			<Field label="Full name (optional)" name="full_name" autocomplete="name" maxLength={100} />
			<Field label="Password (8 characters or more)" name="password" type="password" autocomplete="new-password" required minLength={8} maxLength={128} />
			<button type="submit">Register</button>
		</form>
	);
}

// ------------------------------------------------------------ the chat

function Chat() {
	const s = useStore();
	const status = s.connection === "online" ? "Connected" :
		s.connection === "connecting" ? "Connecting…" : `Offline: trying again in ${s.retryIn} s`;
	return (
		<div class={`chat${s.convo ? " has-convo" : ""}`}>
			<header class="top">
				<h1>chat</h1>
				<span class={`connection ${s.connection}`} role="status">{status}</span>
				<span class="me">{nameOf(s.me)}</span>
				<a href="/docs/">API</a>
				<button onClick={stop}>Log out</button>
			</header>
			<aside class="side" aria-label="People and conversations">
				<FindPeople />
				<Requests />
				<Friends />
				<Groups />
			</aside>
			<main class="main">{s.convo ? <Conversation /> : <p class="empty">Choose a friend or a group.</p>}</main>
		</div>
	);
}

function FindPeople() {
	const s = useStore();
	const [found, setFound] = useState(null);
	const submit = (e) => {
		e.preventDefault();
		const name = new FormData(e.target).get("name").trim();
		if (name) attempt(async () => setFound(await findPeople(name)));
	};
	const friendIds = new Set(s.friends.map((f) => f.account_id));
	const askedMe = new Set(s.pending.map((p) => p.sender_id));
	return (
		<section aria-labelledby="find-title">
			<h2 id="find-title">Find people</h2>
			<form class="inline" onSubmit={submit} role="search">
				<label class="sr-only" for="find-name">Name</label>
				<input id="find-name" name="name" placeholder="Name" />
				<button type="submit">Search</button>
			</form>
			{found && (found.length === 0 ? <p class="hint">Nobody by that name.</p> : (
				<ul class="list">
					{found.map((a) => (
						<li key={a.account_id} class="row">
							<span class="who">{nameOf(a)} <small>@{a.username}</small></span>
							{friendIds.has(a.account_id) ? <small>Friend</small> :
								s.asked.has(a.account_id) ? <small>Request sent</small> :
								askedMe.has(a.account_id) ? <small>Asked you</small> :
								<button onClick={() => attempt(() => askFriend(a))}
									aria-label={`Add ${a.username} as a friend`}>Add friend</button>}
						</li>
					))}
				</ul>
			))}
		</section>
	);
}

function Requests() {
	const s = useStore();
	if (s.pending.length === 0) return null;
	return (
		<section aria-labelledby="requests-title">
			<h2 id="requests-title">Friend requests</h2>
			<ul class="list">
				{s.pending.map((r) => (
					<li key={r.sender_id} class="row">
						<span class="who">{nameOf(r.sender)} <small>@{r.sender.username}</small></span>
						<button onClick={() => attempt(() => answerRequest(r, true))}
							aria-label={`Accept ${r.sender.username}`}>Accept</button>
						<button class="quiet" onClick={() => attempt(() => answerRequest(r, false))}
							aria-label={`Reject ${r.sender.username}`}>Reject</button>
					</li>
				))}
			</ul>
		</section>
	);
}

function Badge({ n }) {
	return n > 0 ? <span class="badge" aria-label={`${n} unread`}>{n}</span> : null;
}

function Friends() {
	const s = useStore();
	return (
		<section aria-labelledby="friends-title">
			<h2 id="friends-title">Friends</h2>
			{s.friends.length === 0 ? <p class="hint">No friends yet: find people above.</p> : (
				<ul class="list">
					{s.friends.map((f) => {
						const online = s.online.has(f.account_id);
						const open = s.convo?.kind === "direct" && s.convo.id === f.account_id;
						return (
							<li key={f.account_id}>
								<button class={`open${open ? " current" : ""}`} aria-current={open}
									onClick={() => attempt(() => openDirect(f))}>
									<span class={`dot${online ? " on" : ""}`} aria-hidden="true" />
									<span class="who">{nameOf(f)}</span>
									<span class="sr-only">{online ? "online" : "offline"}</span>
									<Badge n={s.unread[f.account_id]?.size || 0} />
								</button>
							</li>
						);
					})}
				</ul>
			)}
		</section>
	);
}

function Groups() {
	const s = useStore();
	const [creating, setCreating] = useState(false);
	return (
		<section aria-labelledby="groups-title">
			<h2 id="groups-title">Groups</h2>
			{s.groups.length > 0 && (
				<ul class="list">
					{s.groups.map((g) => {
						const open = s.convo?.kind === "group" && s.convo.id === g.group_id;
						return (
							<li key={g.group_id}>
								<button class={`open${open ? " current" : ""}`} aria-current={open}
									onClick={() => attempt(() => openGroup(g))}>
									<span class="who">{g.name}</span>
									<small>{g.member_count} members</small>
									<Badge n={open ? 0 : g.unread_count} />
								</button>
							</li>
						);
					})}
				</ul>
			)}
			{creating ? <NewGroup done={() => setCreating(false)} /> :
				<button onClick={() => setCreating(true)}>New group</button>}
		</section>
	);
}

function NewGroup({ done }) {
	const s = useStore();
	const submit = (e) => {
		e.preventDefault();
		const f = new FormData(e.target);
		attempt(async () => {
			await createGroup(f.get("name").trim(), f.getAll("member"));
			done();
		});
	};
	return (
		<form class="new-group" onSubmit={submit} aria-label="New group">
			<Field label="Group name" name="name" required maxLength={100} />
			<fieldset>
				<legend>Friends in it</legend>
				{s.friends.length === 0 && <p class="hint">Add friends first.</p>}
				{s.friends.map((f) => (
					<label key={f.account_id} class="check">
						<input type="checkbox" name="member" value={f.account_id} /> {nameOf(f)}
					</label>
				))}
			</fieldset>
			<button type="submit">Create</button>
			<button type="button" class="quiet" onClick={done}>Cancel</button>
		</form>
	);
}

// ------------------------------------------------------------ a conversation

function Ticks({ m }) {
	const word = { sending: "sending", sent: "sent", delivered: "delivered", read: "read", failed: "not sent" }[m.status];
	// Read is told by a word, not by colour alone.
	const mark = { sending: "…", sent: "✓", delivered: "✓✓", read: "✓✓ read", failed: "! not sent" }[m.status];
	return <span class={`ticks ${m.status}`} title={word} aria-label={word}>{mark}</span>;
}

function Message({ m, convo, me }) {
	const mine = m.sender_id === me.account_id;
	const sender = convo.kind === "group" && !mine ? (m.sender ? nameOf(m.sender) : "") : null;
	return (
		<li class={`message${mine ? " mine" : ""}`} data-status={m.status}>
			{sender && <span class="sender">{sender}</span>}
			<p class="content">{m.content}</p>
			<span class="meta">
				<time datetime={m.created_at}>{time(m.created_at)}</time>
				{mine && convo.kind === "direct" && <Ticks m={m} />}
				{mine && convo.kind === "group" && m.message_id &&
					<span class="ticks" aria-label={`read by ${m.read_by_count - 1}`}>read by {m.read_by_count - 1}</span>}
				{mine && m.message_id && (
					<button class="link" onClick={() => attempt(() => deleteMessage(m))}
						aria-label={`Delete "${m.content.slice(0, 30)}"`}>Delete</button>
				)}
			</span>
		</li>
	);
}

function Conversation() {
	const s = useStore();
	const c = s.convo;
	const list = useRef(null);
	const [results, setResults] = useState(null);
	const count = c.messages.length;
	const newest = c.messages.at(-1)?.temp_id || c.messages.at(-1)?.message_id;
	useEffect(() => {
		if (list.current) list.current.scrollTop = list.current.scrollHeight;
	}, [c.id, newest]);
	useEffect(() => setResults(null), [c.id]);
	const typers = Object.entries(c.typing).filter(([, on]) => on).map(([id]) => {
		if (c.kind === "direct") return nameOf(c.peer);
		const member = c.members?.find((m) => m.account_id === id) || s.friends.find((f) => f.account_id === id);
		return member ? nameOf(member) : "Someone";
	});
	const loaded = c.messages.filter((m) => m.message_id).length;
	const submit = (e) => {
		e.preventDefault();
		const input = e.target.elements.content;
		const text = input.value;
		if (!text.trim()) return;
		input.value = "";
		send(text);
	};
	const search = (e) => {
		e.preventDefault();
		const keyword = new FormData(e.target).get("keyword").trim();
		if (keyword) attempt(async () => setResults(await searchMessages(keyword)));
		else setResults(null);
	};
	return (
		<section class="convo" aria-label={`Conversation with ${c.title}`}>
			<header class="convo-head">
				<button class="back" onClick={closeConvo} aria-label="Back to the list">←</button>
				<h2>{c.title}</h2>
				{c.kind === "direct" && (
					<span class="presence">{s.online.has(c.id) ? "online" : "offline"}</span>
				)}
				{c.kind === "group" && (
					<>
						<button onClick={() => attempt(c.members ? hideMembers : loadMembers)}>
							{c.members ? "Hide members" : "Members"}
						</button>
						<button class="quiet" onClick={() => attempt(leaveGroup)}>Leave</button>
					</>
				)}
				<form class="inline" onSubmit={search} role="search">
					<label class="sr-only" for="search-keyword">Search this conversation</label>
					<input id="search-keyword" name="keyword" placeholder="Search" />
					<button type="submit">Search</button>
				</form>
			</header>
			{c.members && (
				<ul class="members" aria-label="Members">
					{c.members.map((m) => <li key={m.account_id}>{nameOf(m)} <small>{m.role}</small></li>)}
				</ul>
			)}
			{results && (
				<div class="results">
					<h3>{results.length} found <button class="link" onClick={() => setResults(null)}>Close</button></h3>
					<ul>{results.map((m) => <li key={m.message_id}><time datetime={m.created_at}>{time(m.created_at)}</time> {m.content}</li>)}</ul>
				</div>
			)}
			<div class="scroll" ref={list}>
				{loaded < c.total && <button class="older" onClick={() => attempt(loadOlder)}>Older messages</button>}
				<ol class="messages" role="log" aria-live="polite" aria-label="Messages">
					{c.messages.map((m) => <Message key={m.message_id || m.temp_id} m={m} convo={c} me={s.me} />)}
				</ol>
				{count === 0 && <p class="hint">No messages yet.</p>}
			</div>
			<p class="typing" aria-live="polite">{typers.length > 0 ? `${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…` : ""}</p>
			<form class="compose" onSubmit={submit}>
				<label class="sr-only" for="compose">Message</label>
				<input id="compose" name="content" autocomplete="off" maxLength={5000} placeholder="Message"
					onInput={(e) => typing(e.target.value.length > 0)} />
				<button type="submit">Send</button>
			</form>
		</section>
	);
}
