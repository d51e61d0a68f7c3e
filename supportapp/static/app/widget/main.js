// The customer widget: start as a guest, sign in (or register), or arrive identified by the
// host page (embed.js posts the identity); then pick a team, see availability and the queue
// position live, chat with typing and attachments, and rate the chat after it closes. The
// tokens stay in this tab's sessionStorage, so a reload continues the same conversation.
import { html, render } from "../html.js";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Api, query } from "../api.js";
import { LiveSocket } from "../socket.js";
import { t, fmt } from "../strings.js";
import { clock, mergeById } from "../format.js";
import { Bubble, typingNotifier, uploadPicked, useComposer } from "../messages.js";

const api = new Api("supportapp.widget.tokens");
let socket = null;
const listeners = new Set();
const emit = (name, data) => listeners.forEach((fn) => fn(name, data));

function useLive(handler, deps) {
  useEffect(() => {
    listeners.add(handler);
    return () => listeners.delete(handler);
  }, deps);
}

function startSocket(onStatus) {
  if (socket) socket.stop();
  socket = new LiveSocket({
    api,
    storageKey: "supportapp.widget.lastEventId",
    onEvent: (name, data) => emit(name, data),
    onTyping: (data) => emit("typing", data),
    onStatus,
    onResync: () => emit("resync", null),
  });
  socket.start();
}

// --- signing in ----------------------------------------------------------------------------

function Start({ onSignedIn }) {
  const [mode, setMode] = useState("guest");
  const [form, setForm] = useState({ name: "", email: "", password: "" });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const field = (key) => (event) => setForm({ ...form, [key]: event.target.value });
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let tokens;
      if (mode === "guest") {
        const body = {};
        if (form.name.trim()) body.name = form.name.trim();
        if (form.email.trim()) body.email = form.email.trim();
        tokens = await api.post("/api/auth/guest", body);
      } else if (mode === "login") tokens = await api.post("/api/auth/login", { email: form.email, password: form.password });
      else tokens = await api.post("/api/auth/register", { email: form.email, password: form.password, name: form.name });
      api.setTokens(tokens);
      onSignedIn();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="w-form" onSubmit=${submit} data-testid="widget-start">
    <p>${t.widget.hello}</p>
    <div class="row-actions" role="tablist">
      <button type="button" role="tab" aria-selected=${mode === "guest"} class=${mode === "guest" ? "" : "secondary"} data-testid="mode-guest" onClick=${() => setMode("guest")}>${t.widget.startGuest}</button>
      <button type="button" role="tab" aria-selected=${mode === "login"} class=${mode === "login" ? "" : "secondary"} data-testid="mode-login" onClick=${() => setMode("login")}>${t.widget.signIn}</button>
      <button type="button" role="tab" aria-selected=${mode === "register"} class=${mode === "register" ? "" : "secondary"} data-testid="mode-register" onClick=${() => setMode("register")}>${t.login.register}</button>
    </div>
    ${mode !== "login" && html`<label>${mode === "guest" ? t.widget.yourName : t.login.name}<input name="name" value=${form.name} onInput=${field("name")} required=${mode === "register"} /></label>`}
    <label>${mode === "guest" ? t.widget.yourEmail : t.login.email}<input type="email" name="email" value=${form.email} onInput=${field("email")} required=${mode !== "guest"} /></label>
    ${mode !== "guest" && html`<label>${t.login.password}<input type="password" name="password" value=${form.password} onInput=${field("password")} required /></label>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <button type="submit" data-testid="start-submit" disabled=${busy}>${mode === "guest" ? t.widget.startGuest : mode === "login" ? t.login.submit : t.login.register}</button>
  </form>`;
}

// The host page (embed.js) may hand over who the visitor is: an identity signed by the host's
// server ({externalId, name, email, userHash}) or an access token of an external issuer.
function listenForHostIdentity(onSignedIn) {
  const handler = async (event) => {
    if (event.source !== window.parent || !event.data || typeof event.data !== "object") return;
    try {
      if (event.data.type === "supportapp:identify") {
        const { externalId, name, email, userHash } = event.data;
        api.setTokens(await api.post("/api/auth/identify", { externalId, name, email, userHash }));
        onSignedIn();
      } else if (event.data.type === "supportapp:token" && event.data.accessToken) {
        api.setTokens({ accessToken: event.data.accessToken, refreshToken: event.data.refreshToken });
        onSignedIn();
      }
    } catch {
      // A bad identity leaves the visitor on the start screen.
    }
  };
  window.addEventListener("message", handler);
  if (window.parent !== window) window.parent.postMessage({ type: "supportapp:ready" }, "*");
  return () => window.removeEventListener("message", handler);
}

// --- before a chat ---------------------------------------------------------------------------

function NewChat({ onOpened }) {
  const [teams, setTeams] = useState(null);
  const [teamId, setTeamId] = useState("");
  const [availability, setAvailability] = useState(null);
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.optional("/api/chat/teams").then((list) => setTeams(list ? list.teams || list : null)).catch(() => setTeams(null));
  }, []);
  useEffect(() => {
    api.optional(`/api/chat/availability${query({ teamId })}`).then(setAvailability).catch(() => setAvailability(null));
  }, [teamId]);
  const submit = async (event) => {
    event.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const body = { message: text.trim() };
      if (teamId) body.teamId = teamId;
      onOpened(await api.post("/api/chat/sessions", body));
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const closed = availability && (!availability.open || availability.agentsOnline === 0);
  return html`<form class="w-form" onSubmit=${submit} data-testid="widget-new-chat">
    ${teams && teams.length > 0 &&
    html`<label>${t.widget.team}
      <select data-testid="team" value=${teamId} onChange=${(e) => setTeamId(e.target.value)}>
        <option value="">${t.widget.anyTeam}</option>
        ${teams.map((team) => html`<option value=${team.id}>${team.name} — ${team.open ? t.widget.open : t.widget.closedNow}</option>`)}
      </select>
    </label>`}
    ${availability && closed && html`<p class="w-notice offline" data-testid="offline">${t.widget.offline} ${availability.nextOpenAt ? fmt(t.widget.opensAt, { when: clock(availability.nextOpenAt) }) : ""}</p>`}
    ${availability && !closed && typeof availability.estimatedWaitMinutes === "number" && html`<p class="w-notice">${fmt(t.widget.estimate, { m: availability.estimatedWaitMinutes })}</p>`}
    <label>${t.widget.firstMessage}
      <textarea data-testid="first-message" rows="4" value=${text} onInput=${(e) => setText(e.target.value)} required></textarea>
    </label>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <button type="submit" data-testid="start-chat" disabled=${busy}>${t.widget.start}</button>
  </form>`;
}

// --- the chat --------------------------------------------------------------------------------

function Rating({ session, onDone }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState("");
  const [sent, setSent] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    try {
      await api.post(`/api/chat/session/${session.id}/rating`, { score, comment });
      setSent(true);
    } catch (err) {
      if (err.status === 409) setSent(true);
      else setError(err.message);
    }
  };
  if (sent)
    return html`<div class="w-form"><p data-testid="rating-thanks">${t.widget.thanks}</p><button type="button" data-testid="new-chat" onClick=${onDone}>${t.widget.newChat}</button></div>`;
  return html`<form class="w-form" onSubmit=${submit} data-testid="rating">
    <p>${t.widget.ended} ${t.widget.rate}</p>
    <div class="stars" role="group" aria-label=${t.widget.rate}>
      ${[1, 2, 3, 4, 5].map((n) => html`<button type="button" aria-pressed=${score === n} aria-label=${`${n}/5`} data-testid=${`star-${n}`} onClick=${() => setScore(n)}>${n <= score ? "★" : "☆"}</button>`)}
    </div>
    <label>${t.widget.comment}<textarea data-testid="rating-comment" value=${comment} onInput=${(e) => setComment(e.target.value)} maxlength="1000"></textarea></label>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="row-actions">
      <button type="submit" data-testid="send-rating" disabled=${!score}>${t.widget.sendRating}</button>
      <button type="button" class="secondary" onClick=${onDone}>${t.widget.newChat}</button>
    </div>
  </form>`;
}

function Chat({ initial, onFinished }) {
  const [session, setSession] = useState(initial);
  const [messages, setMessages] = useState(initial.messages || []);
  const [position, setPosition] = useState(null);
  const [agentName, setAgentName] = useState(null);
  const [typing, setTyping] = useState(null);
  const [error, setError] = useState(null);
  const { text, setText, busy, run } = useComposer(setError);
  const list = useRef(null);
  const fileInput = useRef(null);
  const typingTimer = useRef(null);
  const notifier = useMemo(() => typingNotifier((isTyping) => socket?.send({ type: "typing", sessionId: initial.id, isTyping })), [initial.id]);

  const reload = async () => {
    const [own, history] = await Promise.all([
      api.get(`/api/chat/sessions${query({ limit: 20 })}`),
      api.get(`/api/chat/session/${initial.id}/messages`),
    ]);
    const current = own.sessions.find((s) => s.id === initial.id);
    if (current) setSession(current);
    setMessages((old) => mergeById(old, history));
  };
  const refreshPosition = async () => {
    try {
      setPosition(await api.get(`/api/chat/session/${initial.id}/queue`));
    } catch {
      setPosition(null);
    }
  };
  useEffect(() => {
    reload().catch((err) => setError(err.message));
  }, [initial.id]);
  useEffect(() => {
    if (session.status !== "pending") return setPosition(null);
    refreshPosition();
    const id = setInterval(refreshPosition, 5000);
    return () => clearInterval(id);
  }, [session.status, session.id]);
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
    if (messages.some((m) => m.sender === "support" && !m.isRead) && document.hasFocus()) {
      api.patch(`/api/chat/session/${initial.id}/read`).catch(() => {});
    }
  }, [messages.length]);
  useLive(
    (name, data) => {
      if (name === "resync") return void reload().catch(() => {});
      if (name === "typing") {
        if (data.sessionId !== initial.id || data.sender !== "support") return;
        clearTimeout(typingTimer.current);
        setTyping(data.isTyping ? data.agentName || "" : null);
        if (data.isTyping) typingTimer.current = setTimeout(() => setTyping(null), 6000);
        return;
      }
      const sessionId = data?.session?.id || data?.sessionId;
      if (sessionId !== initial.id) return;
      if (data.session) setSession(data.session);
      if (name === "chat_message_received") {
        setMessages((old) => mergeById(old, [data.message]));
        if (data.message.sender === "support") setTyping(null);
      }
      if (name === "chat_assigned" && data.agent) setAgentName(data.agent.name);
      if (name === "messages_read" && data.sender === "user") setMessages((old) => old.map((m) => (m.sender === "user" ? { ...m, isRead: true } : m)));
      if (data.session?.status === "pending") refreshPosition();
    },
    [initial.id],
  );

  const send = () => {
    const body = text.trim();
    if (!body || busy) return;
    notifier.stop();
    run(async () => {
      const message = await api.post(`/api/chat/session/${initial.id}/message`, { message: body });
      setMessages((old) => mergeById(old, [message]));
      return true;
    });
  };
  const upload = (event) =>
    run(async () => {
      const message = await uploadPicked(api, initial.id, event, text);
      if (message) setMessages((old) => mergeById(old, [message]));
      return message;
    });
  const close = async () => {
    try {
      setSession(await api.patch(`/api/chat/session/${initial.id}/close`));
    } catch (err) {
      setError(err.message);
    }
  };
  const closed = session.status === "closed";
  return html`<div class="w-body" data-testid="widget-chat" data-session-id=${session.id} data-status=${session.status}>
    ${session.status === "pending" && position &&
    html`<p class="w-notice" data-testid="queue-position">${fmt(t.widget.queue, { n: position.position })} ${typeof position.estimatedWaitMinutes === "number" ? fmt(t.widget.estimate, { m: position.estimatedWaitMinutes }) : ""}</p>`}
    ${session.status === "active" && agentName && html`<p class="w-notice" data-testid="assigned">${fmt(t.widget.assigned, { name: agentName })}</p>`}
    <ol class="timeline" ref=${list} data-testid="timeline" aria-live="polite">
      ${messages.map((m) => html`<${Bubble} key=${m.id} message=${m} mine=${m.sender === "user"} label=${m.sender === "user" ? t.widget.me : agentName || t.widget.agent} readLabel=${true} />`)}
    </ol>
    <p class="typing" data-testid="typing" aria-live="polite">${typing !== null ? (typing ? fmt(t.conversation.typingAgent, { name: typing }) : t.conversation.typingSupport) : ""}</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${closed
      ? html`<${Rating} session=${session} onDone=${onFinished} />`
      : html`<div class="composer">
          <textarea data-testid="composer" aria-label=${t.widget.placeholder} placeholder=${t.widget.placeholder} rows="2" value=${text}
            onInput=${(e) => { setText(e.target.value); notifier.input(); }}
            onKeyDown=${(e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); } }}></textarea>
          <div class="composer-actions">
            <button type="button" class="link" data-testid="end-chat" onClick=${close}>${t.widget.closeChat}</button>
            <input type="file" ref=${fileInput} class="sr-only" data-testid="file-input" onChange=${upload} aria-label=${t.conversation.attach} tabindex="-1" />
            <button type="button" class="secondary" onClick=${() => fileInput.current.click()} disabled=${busy}>${t.conversation.attach}</button>
            <button type="button" data-testid="send" onClick=${send} disabled=${busy}>${t.conversation.send}</button>
          </div>
        </div>`}
  </div>`;
}

// --- the page --------------------------------------------------------------------------------

function Widget() {
  const [signedIn, setSignedIn] = useState(Boolean(api.accessToken));
  const [me, setMe] = useState(null);
  const [session, setSession] = useState(undefined);
  const [connection, setConnection] = useState("connecting");
  useEffect(() => listenForHostIdentity(() => setSignedIn(true)), []);
  useEffect(() => {
    api.onSignedOut = () => {
      if (socket) socket.stop();
      setSignedIn(false);
      setSession(undefined);
    };
    if (!signedIn) return;
    (async () => {
      setMe(await api.get("/api/auth/me"));
      const own = await api.get(`/api/chat/sessions${query({ limit: 5 })}`);
      setSession(own.sessions.find((s) => s.status !== "closed") || null);
      startSocket((status) => setConnection(status));
    })().catch(() => api.onSignedOut());
  }, [signedIn]);
  const banner =
    signedIn && connection !== "connected" && connection !== "connecting"
      ? html`<div class="banner" role="status" data-testid="connection" data-status=${connection}>${connection === "reconnecting" ? fmt(t.connection.reconnecting, { s: "…" }) : t.connection.resyncing}</div>`
      : html`<span data-testid="connection" data-status=${connection} class="sr-only">${connection}</span>`;
  return html`<header class="w-head">
      <h1>${t.widget.title}</h1>
      <span class="sub">${me ? me.name : t.widget.hello}</span>
    </header>
    ${banner}
    ${!signedIn
      ? html`<${Start} onSignedIn=${() => setSignedIn(true)} />`
      : session === undefined
        ? html`<p class="w-form">${t.connection.connecting}</p>`
        : session === null
          ? html`<${NewChat} onOpened=${setSession} />`
          : html`<${Chat} key=${session.id} initial=${session} onFinished=${() => setSession(null)} />`}`;
}

render(html`<${Widget} />`, document.getElementById("app"));
