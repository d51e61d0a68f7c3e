// The agent console: login, then one page with the connection banner and presence switch,
// the admin strip, the queue, the open conversation and the customer sidebar. State lives in
// store.js; the socket in ../socket.js; each panel in its own module.
import { html, render } from "../html.js";
import { useEffect, useState } from "preact/hooks";
import { Api, ApiError, query } from "../api.js";
import { LiveSocket } from "../socket.js";
import { t, fmt } from "../strings.js";
import { createStore, useStore, initialState, upsertSessions, addMessages, addNotes, mineOf } from "./store.js";
import { QueuePanel } from "./queue.js";
import { Conversation, loadConversation, markRead } from "./conversation.js";
import { Sidebar } from "./sidebar.js";
import { AdminStrip, loadAdminStrip } from "./adminstrip.js";
import { Alerts, alertNewChat, alertNewMessage, updateTitle } from "./alerts.js";

const STAFF = new Set(["support", "admin", "superadmin"]);
const api = new Api("supportapp.console.tokens");
const store = createStore(initialState);
let socket = null;

export const isAdmin = (me) => me && (me.role === "admin" || me.role === "superadmin");

async function loadAll() {
  const state = store.get();
  const mine = state.agent
    ? api.get(`/api/chat/sessions/all${query({ supportAgentId: "me", status: "active", limit: 100, sortBy: "lastMessageAt", sortOrder: "desc" })}`)
    : Promise.resolve({ sessions: [] });
  const [queue, own, agent, templates, teams] = await Promise.all([
    api.get("/api/chat/queue?limit=100"),
    mine,
    state.agent ? api.get("/api/support/agents/me") : Promise.resolve(null),
    api.get("/api/support/templates?limit=100").catch(() => ({ templates: [] })),
    api.optional("/api/support/teams").catch(() => null),
  ]);
  store.set((s) => {
    // Lists are rebuilt from what the server says now; the open conversation is kept.
    const kept = s.selectedId && s.sessions[s.selectedId] ? [s.sessions[s.selectedId]] : [];
    const base = { ...s, sessions: {}, unread: {} };
    return {
      ...upsertSessions(base, [...kept, ...queue.sessions, ...own.sessions]),
      agent: agent || s.agent,
      templates: templates.templates || [],
      teams: teams || [],
    };
  });
  const { selectedId } = store.get();
  if (selectedId) await loadConversation(api, store, selectedId);
  if (isAdmin(store.get().me)) await loadAdminStrip(api, store);
}

let agentTimer = null;

// Assignments, transfers and closes change my load counter (2/5): refetch my profile once.
function refreshMyAgent() {
  if (!store.get().agent) return;
  clearTimeout(agentTimer);
  agentTimer = setTimeout(() => {
    api.get("/api/support/agents/me").then((agent) => store.set({ agent })).catch(() => {});
  }, 300);
}

function onEvent(name, data) {
  const state = store.get();
  const session = data?.session;
  if (session) store.set((s) => upsertSessions(s, [session]));
  if (data?.agent?.id) store.set((s) => ({ agentNames: { ...s.agentNames, [data.agent.id]: data.agent.name } }));
  switch (name) {
    case "chat_created":
      alertNewChat(store, session);
      break;
    case "chat_message_received": {
      const message = data.message;
      store.set((s) => addMessages(s, message.sessionId, [message]));
      if (message.sender === "user") {
        const open = state.selectedId === message.sessionId && document.hasFocus();
        if (open) markRead(api, store, message.sessionId);
        else if (session?.supportAgentId && session.supportAgentId === state.agent?.id) {
          store.set((s) => ({ unread: { ...s.unread, [message.sessionId]: (s.unread[message.sessionId] || 0) + 1 } }));
          alertNewMessage(store, session);
        }
        store.set((s) => ({ typing: { ...s.typing, [message.sessionId]: null } }));
      }
      break;
    }
    case "messages_read":
      if (data.sender === "support") {
        store.set((s) => ({
          messages: {
            ...s.messages,
            [data.sessionId]: (s.messages[data.sessionId] || []).map((m) => (m.sender === "support" ? { ...m, isRead: true } : m)),
          },
        }));
      } else store.set((s) => ({ unread: { ...s.unread, [data.sessionId]: 0 } }));
      break;
    case "chat_note_added": {
      const note = data.note || data;
      if (note?.sessionId) store.set((s) => addNotes(s, note.sessionId, [note]));
      break;
    }
    case "agent_status_changed":
      if (data.agent) {
        store.set((s) => ({
          agents: s.agents.some((a) => a.id === data.agent.id) ? s.agents.map((a) => (a.id === data.agent.id ? data.agent : a)) : [...s.agents, data.agent],
          agent: s.agent && s.agent.id === data.agent.id ? data.agent : s.agent,
        }));
      }
      break;
    default:
      break;
  }
  if (["chat_assigned", "chat_status_changed", "chat_transferred"].includes(name)) refreshMyAgent();
  if (session && state.selectedId === session.id && name !== "chat_message_received") {
    loadConversation(api, store, session.id);
  }
  if (isAdmin(state.me) && name.startsWith("chat_")) loadAdminStrip(api, store, { soon: true });
  updateTitle(store.get());
}

const typingTimers = {};

// A typing state not refreshed for 6 s counts as stopped (docs/realtime.md).
function onTyping(data) {
  if (data.sender !== "user") return;
  clearTimeout(typingTimers[data.sessionId]);
  store.set((s) => ({ typing: { ...s.typing, [data.sessionId]: data.isTyping ? { at: Date.now() } : null } }));
  if (data.isTyping) {
    typingTimers[data.sessionId] = setTimeout(() => store.set((s) => ({ typing: { ...s.typing, [data.sessionId]: null } })), 6000);
  }
}

async function start() {
  const me = await api.get("/api/auth/me");
  if (!STAFF.has(me.role)) {
    store.set({ me, error: t.errors.notStaff });
    return;
  }
  let agent = null;
  try {
    agent = await api.get("/api/support/agents/me");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  store.set({ me, agent, error: agent || isAdmin(me) ? null : t.errors.noAgent });
  socket = new LiveSocket({
    api,
    storageKey: "supportapp.console.lastEventId",
    onEvent,
    onTyping,
    onStatus: (status, retryInMs) => store.set({ connection: { status, retryInMs } }),
    onResync: () => {
      store.set({ connection: { status: "resyncing" } });
      loadAll()
        .then(() => store.set({ connection: { status: socket.status === "connected" ? "connected" : socket.status } }))
        .catch((error) => store.set({ error: error.message }));
    },
  });
  socket.start();
}

function Login({ onDone }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      api.setTokens(await api.post("/api/auth/login", { email, password }));
      onDone();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form class="card" onSubmit=${submit} aria-labelledby="login-title">
      <h1 id="login-title">${t.login.title}</h1>
      <label>${t.login.email}<input type="email" name="email" required autocomplete="username" value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
      <label>${t.login.password}<input type="password" name="password" required autocomplete="current-password" value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>${t.login.submit}</button>
    </form>
  </main>`;
}

function ConnectionBanner({ connection }) {
  if (connection.status === "connected") return html`<span class="conn ok" data-testid="connection" data-status="connected">${t.connection.connected}</span>`;
  const text =
    connection.status === "reconnecting"
      ? fmt(t.connection.reconnecting, { s: Math.ceil((connection.retryInMs || 0) / 1000) })
      : connection.status === "resyncing"
        ? t.connection.resyncing
        : connection.status === "signed-out"
          ? t.connection.signedOut
          : t.connection.connecting;
  return html`<div class="banner" role="status" data-testid="connection" data-status=${connection.status}>${text}</div>`;
}

// An admin without an agent profile (the demo superadmin of `make run`) can make one to take
// chats themselves; a support account needs an admin for that.
function BecomeAgent({ me }) {
  const create = async () => {
    try {
      store.set({ agent: await api.post("/api/support/agents", { userId: me.id, name: me.name }), error: null });
      loadAll().catch((error) => store.set({ error: error.message }));
    } catch (error) {
      store.set({ error: error.message });
    }
  };
  return html`<button type="button" class="secondary" data-testid="become-agent" onClick=${create}>${t.presence.becomeAgent}</button>`;
}

function PresenceSwitch({ agent, me }) {
  if (!agent) return isAdmin(me) ? html`<${BecomeAgent} me=${me} />` : null;
  const load = html`<span class="load" data-testid="load" title=${t.presence.load}>${agent.currentActiveChats}/${agent.maxConcurrentChats}</span>`;
  if (!("presence" in agent)) return load;
  const change = async (event) => {
    const presence = event.target.value;
    try {
      store.set({ agent: await api.patch("/api/support/agents/me", { presence }) });
    } catch (error) {
      store.set({ error: error.message });
    }
  };
  const chosen = agent.presence === "away" ? "away" : "online";
  return html`<label class="presence">
      <span class=${`dot ${agent.presence}`} aria-hidden="true"></span>
      <span class="sr-only">${t.presence.label}</span>
      <select data-testid="presence" value=${chosen} onChange=${change} aria-label=${t.presence.label}>
        <option value="online">${t.presence.online}</option>
        <option value="away">${t.presence.away}</option>
      </select>
    </label>
    ${load}`;
}

function Console() {
  const state = useStore(store);
  const [signedIn, setSignedIn] = useState(Boolean(api.accessToken));
  useEffect(() => {
    api.onSignedOut = () => {
      if (socket) socket.stop();
      setSignedIn(false);
    };
    if (signedIn) start().catch((error) => store.set({ error: error.message }));
  }, [signedIn]);
  useEffect(() => updateTitle(state), [state.unread, state.newWhileHidden]);
  if (!signedIn) return html`<${Login} onDone=${() => setSignedIn(true)} />`;
  if (!state.me) return html`<main class="loading">${t.connection.connecting}</main>`;
  const logout = async () => {
    try {
      await api.post("/api/auth/logout");
    } catch {}
    api.setTokens(null);
    api.onSignedOut();
  };
  const selected = state.selectedId ? state.sessions[state.selectedId] : null;
  return html`<div class="console">
    <header class="topbar">
      <strong class="brand">${t.appName}</strong>
      <${ConnectionBanner} connection=${state.connection} />
      <span class="spacer"></span>
      <${PresenceSwitch} agent=${state.agent} me=${state.me} />
      <${Alerts} api=${api} store=${store} />
      <span class="who">${state.me.name}</span>
      <button type="button" class="link" onClick=${logout}>${t.login.logout}</button>
    </header>
    ${state.error && html`<p class="error top" role="alert">${state.error}</p>`}
    ${isAdmin(state.me) && html`<${AdminStrip} state=${state} />`}
    <div class="columns">
      <${QueuePanel} api=${api} store=${store} state=${state} mine=${mineOf(state)} admin=${isAdmin(state.me)} />
      <${Conversation} api=${api} store=${store} state=${state} session=${selected} socket=${socket} />
      <${Sidebar} api=${api} store=${store} state=${state} session=${selected} />
    </div>
  </div>`;
}

render(html`<${Console} />`, document.getElementById("app"));
