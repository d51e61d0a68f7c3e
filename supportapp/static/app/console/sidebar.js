// Right column: who the customer is, their previous conversations, and a search box over
// every conversation.
import { html } from "../html.js";
import { useEffect, useState } from "preact/hooks";
import { query } from "../api.js";
import { t, fmt } from "../strings.js";
import { clock } from "../format.js";
import { openConversation } from "./conversation.js";

// A search highlight is the message HTML-escaped with <mark>…</mark> around the matches. It is
// split on those markers and each piece un-escaped and rendered as text (matches inside
// <mark> elements): nothing is ever parsed as HTML.
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };

function unescapeHtml(text) {
  return text.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);
}

export function Highlight({ text }) {
  const parts = String(text || "").split(/<\/?mark>/);
  return html`<span class="highlight">${parts.map((part, i) => (i % 2 ? html`<mark>${unescapeHtml(part)}</mark>` : unescapeHtml(part)))}</span>`;
}

async function previousSessions(api, userId) {
  const history = await api.optional(`/api/chat/users/${userId}/sessions?limit=10`);
  if (history) return history.sessions || history;
  const page = await api.get(`/api/chat/sessions/all${query({ userId, limit: 10, sortBy: "createdAt", sortOrder: "desc" })}`);
  return page.sessions;
}

function Customer({ api, store, session, details }) {
  const [history, setHistory] = useState(null);
  const user = details?.user;
  useEffect(() => {
    setHistory(null);
    if (session?.userId) previousSessions(api, session.userId).then(setHistory).catch(() => setHistory([]));
  }, [session?.userId, session?.status]);
  if (!session) return null;
  const others = (history || []).filter((s) => s.id !== session.id);
  return html`<section aria-labelledby="customer-title" data-testid="customer">
    <h3 id="customer-title">${t.sidebar.customer}</h3>
    <p class="name" data-testid="customer-name">${user?.name || "—"}${user?.isGuest ? html` <span class="badge">${t.sidebar.guest}</span>` : ""}</p>
    <p class="muted" data-testid="customer-email">${user?.email || ""}</p>
    ${typeof user?.sessionsCount === "number" && html`<p class="muted">${fmt(t.sidebar.sessionsCount, { n: user.sessionsCount })}</p>`}
    <h4>${t.sidebar.previous}</h4>
    <ul class="list compact" data-testid="previous">
      ${history && others.length === 0 && html`<li class="empty">${t.sidebar.none}</li>`}
      ${others.map(
        (s) => html`<li><button type="button" class="link" onClick=${() => openConversation(api, store, s.id)}>
          ${clock(s.createdAt)} · ${t.status[s.status]} — ${s.messages?.[0]?.message || ""}
        </button></li>`,
      )}
    </ul>
  </section>`;
}

function Search({ api, store }) {
  const [q, setQ] = useState("");
  const [results, setResults] = useState(null);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    if (!q.trim()) return;
    setError(null);
    try {
      const found = await api.get(`/api/chat/search${query({ q: q.trim(), limit: 20 })}`);
      setResults(found.results);
    } catch (err) {
      setError(err.message);
      setResults(null);
    }
  };
  return html`<section aria-labelledby="search-title">
    <h3 id="search-title">${t.sidebar.search}</h3>
    <form onSubmit=${submit} role="search">
      <input type="search" data-testid="search" placeholder=${t.sidebar.searchPlaceholder} aria-label=${t.sidebar.search} value=${q} onInput=${(e) => setQ(e.target.value)} />
    </form>
    ${error && html`<p class="error">${error}</p>`}
    ${results &&
    html`<ul class="list compact" data-testid="search-results">
      ${results.length === 0 && html`<li class="empty">${t.sidebar.noResults}</li>`}
      ${results.map(
        (r) => html`<li><button type="button" class="link" onClick=${() => openConversation(api, store, r.session.id)}>
          ${clock(r.message?.timestamp || r.session.createdAt)} — ${r.highlight ? html`<${Highlight} text=${r.highlight} />` : r.message?.message}
        </button></li>`,
      )}
    </ul>`}
  </section>`;
}

export function Sidebar({ api, store, state, session }) {
  return html`<aside class="panel sidebar">
    <${Customer} api=${api} store=${store} session=${session} details=${session ? state.details[session.id] : null} />
    <${Search} api=${api} store=${store} />
  </aside>`;
}
