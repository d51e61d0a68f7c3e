// The console's state: every session the console knows, by id, kept current by REST loads and
// WebSocket events alike. Panels read derived lists (queue, my chats) from it, so an event
// moves a chat between panels without a refetch. Plain object + subscribers; components
// re-render through useStore().
import { useEffect, useState } from "preact/hooks";
import { mergeById } from "../format.js";

const PRIORITY_RANK = { high: 0, medium: 1, low: 2 };

export function createStore(initial) {
  let state = initial;
  const listeners = new Set();
  return {
    get: () => state,
    set(update) {
      const patch = typeof update === "function" ? update(state) : update;
      state = { ...state, ...patch };
      for (const listener of listeners) listener(state);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function useStore(store) {
  const [state, setState] = useState(store.get());
  useEffect(() => store.subscribe(setState), [store]);
  return state;
}

export const initialState = {
  me: null,
  agent: null,
  sessions: {},
  messages: {},
  notes: {},
  details: {},
  typing: {},
  unread: {},
  lastCustomerAt: {},
  selectedId: null,
  connection: { status: "connecting", retryInMs: 0 },
  agents: [],
  agentNames: {},
  stats: null,
  templates: [],
  features: {},
  newWhileHidden: 0,
  error: null,
};

export function upsertSessions(state, sessions) {
  const next = { ...state.sessions };
  const lastCustomerAt = { ...state.lastCustomerAt };
  const unread = { ...state.unread };
  for (const session of sessions) {
    const previous = next[session.id] || {};
    const latest = session.messages?.[session.messages.length - 1];
    const preview = latest || previous.preview || null;
    next[session.id] = { ...previous, ...session, preview };
    if (latest?.sender === "user") lastCustomerAt[session.id] = latest.timestamp;
    if (typeof session.unreadCount === "number") unread[session.id] = session.unreadCount;
  }
  return { sessions: next, lastCustomerAt, unread };
}

export function queueOf(state) {
  return Object.values(state.sessions)
    .filter((s) => s.status === "pending")
    .sort(
      (a, b) =>
        PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
        Date.parse(a.createdAt) - Date.parse(b.createdAt),
    );
}

export function mineOf(state) {
  if (!state.agent) return [];
  return Object.values(state.sessions)
    .filter((s) => s.status === "active" && s.supportAgentId === state.agent.id)
    .sort((a, b) => Date.parse(b.lastMessageAt) - Date.parse(a.lastMessageAt));
}

export function addMessages(state, sessionId, items) {
  return { messages: { ...state.messages, [sessionId]: mergeById(state.messages[sessionId] || [], items) } };
}

export function addNotes(state, sessionId, items) {
  return { notes: { ...state.notes, [sessionId]: mergeById(state.notes[sessionId] || [], items, "createdAt") } };
}
