// Centre column: the open conversation. History (shown a page at a time), Enter to send,
// templates on "/", typing both ways, read state, attachments, internal notes (visibly not
// messages), transfer with a note, priority and close.
import { html } from "../html.js";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { t, fmt } from "../strings.js";
import { clock } from "../format.js";
import { Bubble, typingNotifier, uploadPicked, useComposer } from "../messages.js";
import { upsertSessions, addMessages, addNotes } from "./store.js";

const PAGE = 50;
let readTimer = null;

export async function loadConversation(api, store, sessionId) {
  const details = await api.get(`/api/chat/session/${sessionId}/details`);
  const notes = await api.optional(`/api/chat/session/${sessionId}/notes?limit=100`);
  store.set((s) => ({
    ...upsertSessions(s, [{ ...details.session, messages: details.session.messages.slice(-1) }]),
    ...addMessages(s, sessionId, details.session.messages),
    ...(notes ? addNotes(s, sessionId, notes.notes || notes) : {}),
    details: { ...s.details, [sessionId]: details },
    features: { ...s.features, notes: notes !== null },
  }));
}

export async function openConversation(api, store, sessionId) {
  store.set({ selectedId: sessionId });
  try {
    await loadConversation(api, store, sessionId);
    markRead(api, store, sessionId);
  } catch (error) {
    store.set({ error: error.message });
  }
}

// Marks the customer's messages read while the conversation is on screen (debounced: a burst
// of messages costs one request).
export function markRead(api, store, sessionId) {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const messages = store.get().messages[sessionId] || [];
    if (!messages.some((m) => m.sender === "user" && !m.isRead) && !store.get().unread[sessionId]) return;
    try {
      await api.patch(`/api/chat/session/${sessionId}/read`);
      store.set((s) => ({
        unread: { ...s.unread, [sessionId]: 0 },
        messages: { ...s.messages, [sessionId]: (s.messages[sessionId] || []).map((m) => (m.sender === "user" ? { ...m, isRead: true } : m)) },
      }));
    } catch {}
  }, 300);
}

function TemplatePicker({ templates, filter, onPick, active }) {
  const matches = templates.filter((tpl) => `${tpl.shortcut || ""} ${tpl.title}`.toLowerCase().includes(filter.toLowerCase())).slice(0, 8);
  return html`<ul class="templates" role="listbox" aria-label=${t.conversation.templates} data-testid="templates">
    ${matches.length === 0 && html`<li class="empty">${t.conversation.noTemplates}</li>`}
    ${matches.map(
      (tpl, index) => html`<li role="option" aria-selected=${index === active} class=${index === active ? "active" : ""} onMouseDown=${(e) => { e.preventDefault(); onPick(tpl); }}>
        <strong>${tpl.shortcut ? `/${tpl.shortcut}` : ""}</strong> ${tpl.title}
      </li>`,
    )}
  </ul>`;
}

function Composer({ api, store, session, socket, noteAvailable, templates }) {
  const { text, setText, busy, run } = useComposer((error) => store.set({ error }));
  const [noteMode, setNoteMode] = useState(false);
  const [picked, setPicked] = useState(0);
  const fileInput = useRef(null);
  const textarea = useRef(null);
  // Opening a conversation puts the cursor where the agent will type.
  useEffect(() => textarea.current?.focus(), [session.id]);
  const typing = useMemo(
    () => typingNotifier((isTyping) => socket?.send({ type: "typing", sessionId: session.id, isTyping })),
    [session.id, socket],
  );
  useEffect(() => () => typing.stop(), [typing]);
  const picking = !noteMode && text.startsWith("/") && !text.includes("\n");
  const filter = picking ? text.slice(1) : "";
  const matches = picking ? templates.filter((tpl) => `${tpl.shortcut || ""} ${tpl.title}`.toLowerCase().includes(filter.toLowerCase())).slice(0, 8) : [];

  const send = () => {
    const body = text.trim();
    if (!body || busy) return;
    typing.stop();
    run(async () => {
      if (noteMode) {
        const note = await api.post(`/api/chat/session/${session.id}/notes`, { note: body });
        store.set((s) => addNotes(s, session.id, [note]));
      } else {
        const message = await api.post(`/api/chat/session/${session.id}/support-message`, { message: body });
        store.set((s) => addMessages(s, session.id, [message]));
      }
      return true;
    });
  };
  const pick = (tpl) => {
    setText(tpl.content);
    setPicked(0);
  };
  const onKeyDown = (event) => {
    if (picking && matches.length) {
      if (event.key === "ArrowDown") return (event.preventDefault(), setPicked((picked + 1) % matches.length));
      if (event.key === "ArrowUp") return (event.preventDefault(), setPicked((picked - 1 + matches.length) % matches.length));
      if (event.key === "Enter" || event.key === "Tab") return (event.preventDefault(), pick(matches[Math.min(picked, matches.length - 1)]));
    }
    if (event.key === "Escape" && picking) return setText("");
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send();
    }
  };
  const upload = (event) =>
    run(async () => {
      const message = await uploadPicked(api, session.id, event, text);
      if (message) store.set((s) => addMessages(s, session.id, [message]));
      return message;
    });
  return html`<div class=${`composer ${noteMode ? "note-mode" : ""}`}>
    ${picking && html`<${TemplatePicker} templates=${templates} filter=${filter} active=${picked} onPick=${pick} />`}
    <textarea
      ref=${textarea}
      data-testid="composer"
      aria-label=${noteMode ? t.conversation.notePlaceholder : t.conversation.placeholder}
      placeholder=${noteMode ? t.conversation.notePlaceholder : t.conversation.placeholder}
      value=${text}
      rows="3"
      onInput=${(e) => {
        setText(e.target.value);
        setPicked(0);
        if (!noteMode) typing.input();
      }}
      onKeyDown=${onKeyDown}
    ></textarea>
    <div class="composer-actions">
      ${noteAvailable &&
      html`<label class="toggle"><input type="checkbox" data-testid="note-mode" checked=${noteMode} onChange=${(e) => setNoteMode(e.target.checked)} /> ${t.conversation.noteMode}</label>`}
      <input type="file" ref=${fileInput} class="sr-only" data-testid="file-input" onChange=${upload} aria-label=${t.conversation.attach} tabindex="-1" />
      <button type="button" class="secondary" onClick=${() => fileInput.current.click()} disabled=${busy || noteMode}>${t.conversation.attach}</button>
      <button type="button" data-testid="send" onClick=${send} disabled=${busy}>${t.conversation.send}</button>
    </div>
  </div>`;
}

function TransferDialog({ api, store, session, onDone }) {
  const [agents, setAgents] = useState(null);
  const [target, setTarget] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState(null);
  useEffect(() => {
    api
      .get("/api/support/agents/transfer-targets")
      .then((list) => {
        const others = list.filter((a) => a.id !== session.supportAgentId);
        setAgents(others);
        setTarget(others[0]?.id || "");
      })
      .catch((err) => setError(err.message));
  }, [session.id]);
  const submit = async (event) => {
    event.preventDefault();
    try {
      const moved = await api.post(`/api/chat/session/${session.id}/transfer`, { supportAgentId: target, note });
      store.set((s) => upsertSessions(s, [moved]));
      onDone();
      loadConversation(api, store, session.id);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="dialog" onSubmit=${submit} data-testid="transfer-dialog">
    <label>${t.conversation.transferTo}
      <select data-testid="transfer-agent" value=${target} onChange=${(e) => setTarget(e.target.value)} required>
        ${(agents || []).map((a) => html`<option value=${a.id}>${a.name} (${a.currentActiveChats}/${a.maxConcurrentChats}${a.presence ? ` · ${t.presence[a.presence] || a.presence}` : ""})</option>`)}
      </select>
    </label>
    <label>${t.conversation.transferNote}<textarea data-testid="transfer-note" maxlength="500" value=${note} onInput=${(e) => setNote(e.target.value)}></textarea></label>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="composer-actions">
      <button type="button" class="secondary" onClick=${onDone}>${t.conversation.cancel}</button>
      <button type="submit" data-testid="transfer-submit" disabled=${!target}>${t.conversation.transferDo}</button>
    </div>
  </form>`;
}

function Timeline({ state, session, details }) {
  const [shown, setShown] = useState(PAGE);
  const list = useRef(null);
  const messages = state.messages[session.id] || [];
  const notes = state.notes[session.id] || [];
  const transfers = details?.transfers || details?.session?.transfers || [];
  // Support agents cannot list agents: names also come from events, my profile and details.
  const agents = new Map([
    ...Object.entries(state.agentNames),
    ...(state.agents || []).map((a) => [a.id, a.name]),
    ...(state.agent ? [[state.agent.id, state.agent.name]] : []),
    ...(details?.agent ? [[details.agent.id, details.agent.name]] : []),
  ]);
  const items = [
    ...messages.map((m) => ({ kind: "message", at: m.timestamp, item: m })),
    ...notes.map((n) => ({ kind: "note", at: n.createdAt, item: n })),
    ...transfers.map((tr, i) => ({ kind: "transfer", at: tr.createdAt, item: { ...tr, id: `tr-${i}` } })),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const visible = items.slice(-shown);
  const last = items.length ? items[items.length - 1].item.id : null;
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [session.id, last]);
  const customer = details?.user?.name || t.conversation.customer;
  return html`<ol class="timeline" ref=${list} data-testid="timeline" aria-live="polite">
    ${items.length > shown && html`<li class="older"><button type="button" class="link" data-testid="older" onClick=${() => setShown(shown + PAGE)}>${t.conversation.older}</button></li>`}
    ${visible.map(({ kind, item }) => {
      if (kind === "note")
        return html`<li class="note" data-testid="note" key=${item.id}><span class="meta">${t.conversation.note} · ${item.authorName || ""} · ${clock(item.createdAt)}</span><p class="text">${item.note}</p></li>`;
      if (kind === "transfer")
        return html`<li class="system" data-testid="transfer" key=${item.id}>
          ${fmt(t.conversation.transferred, { from: agents.get(item.fromAgentId) || "—", to: agents.get(item.toAgentId) || "—" })}${item.note ? ` — ${item.note}` : ""}
        </li>`;
      const mine = item.sender === "support";
      return html`<${Bubble} key=${item.id} message=${item} mine=${mine} label=${mine ? t.conversation.support : customer} readLabel=${true} />`;
    })}
  </ol>`;
}

export function Conversation({ api, store, state, session, socket }) {
  const [transferring, setTransferring] = useState(false);
  if (!session) return html`<main class="panel conversation empty-state"><p>${t.conversation.pick}</p></main>`;
  const details = state.details[session.id];
  const typing = state.typing[session.id];
  const typingNow = Boolean(typing);
  const closed = session.status === "closed";
  const admin = state.me.role === "admin" || state.me.role === "superadmin";
  const mineToAnswer = admin || (state.agent && session.supportAgentId === state.agent.id) || (!session.supportAgentId && state.agent);
  const setPriority = async (event) => {
    try {
      const updated = await api.patch(`/api/chat/session/${session.id}/priority`, { priority: event.target.value });
      store.set((s) => upsertSessions(s, [updated]));
    } catch (error) {
      store.set({ error: error.message });
    }
  };
  const close = async () => {
    if (!window.confirm(t.conversation.closeConfirm)) return;
    try {
      const updated = await api.patch(`/api/chat/session/${session.id}/close`);
      store.set((s) => upsertSessions(s, [updated]));
    } catch (error) {
      store.set({ error: error.message });
    }
  };
  const take = async () => {
    try {
      const taken = await api.patch(`/api/chat/session/${session.id}/assign`, { supportAgentId: state.agent.id });
      store.set((s) => upsertSessions(s, [taken]));
    } catch (error) {
      store.set({ error: error.message });
    }
  };
  return html`<main class="panel conversation" data-testid="conversation" data-session-id=${session.id}>
    <header class="conv-head">
      <div>
        <h2>${details?.user?.name || t.conversation.customer}</h2>
        <span class="badge" data-testid="conv-status">${t.status[session.status]}</span>
        ${details?.agent && html`<span class="muted"> · ${details.agent.name}</span>`}
        ${details?.rating && html`<span class="badge" data-testid="conv-rating">${fmt(t.conversation.rating, { score: details.rating.score })}</span>`}
      </div>
      <div class="conv-actions">
        ${session.status === "pending" && state.agent && html`<button type="button" data-testid="take-open" onClick=${take}>${t.conversation.take}</button>`}
        <label>${t.priority.label}
          <select data-testid="priority" value=${session.priority} onChange=${setPriority} disabled=${closed}>
            ${["low", "medium", "high"].map((p) => html`<option value=${p}>${t.priority[p]}</option>`)}
          </select>
        </label>
        ${session.status === "active" && html`<button type="button" class="secondary" data-testid="transfer" onClick=${() => setTransferring(!transferring)}>${t.conversation.transfer}</button>`}
        ${!closed && html`<button type="button" class="danger" data-testid="close" onClick=${close}>${t.conversation.close}</button>`}
      </div>
    </header>
    ${transferring && html`<${TransferDialog} api=${api} store=${store} session=${session} onDone=${() => setTransferring(false)} />`}
    <${Timeline} key=${session.id} state=${state} session=${session} details=${details} />
    <p class="typing" data-testid="typing" aria-live="polite">${typingNow ? t.conversation.typingUser : ""}</p>
    ${closed
      ? html`<p class="closed-note">${t.conversation.closed}</p>`
      : mineToAnswer && html`<${Composer} key=${session.id} api=${api} store=${store} session=${session} socket=${socket} noteAvailable=${state.features.notes} templates=${state.templates} />`}
  </main>`;
}
