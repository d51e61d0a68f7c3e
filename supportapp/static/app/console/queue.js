// Left column: the waiting queue (with "Tomar"), my chats (unread badges, time since the
// customer's last message) and, for admins, every chat with filters.
import { html } from "../html.js";
import { useEffect, useState } from "preact/hooks";
import { query } from "../api.js";
import { t, fmt } from "../strings.js";
import { duration, since } from "../format.js";
import { queueOf, upsertSessions } from "./store.js";
import { openConversation } from "./conversation.js";

function useNow(everyMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

function preview(session) {
  const text = session.preview?.message || (session.preview?.attachments?.length ? session.preview.attachments[0].filename : "");
  return text || t.queue.noPreview;
}

function SlaBadge({ session, now }) {
  const due = session.sla?.firstResponseDueAt;
  if (!due) return null;
  const left = Date.parse(due) - now;
  if (session.sla.firstResponseBreached || left <= 0) return html`<span class="badge sla breached">${t.queue.slaBreached}</span>`;
  return html`<span class=${`badge sla ${left < 5 * 60000 ? "warn" : ""}`} data-testid="sla">${fmt(t.queue.slaDue, { d: duration(left) })}</span>`;
}

function TeamBadge({ session, teams }) {
  if (!session.teamId) return null;
  const team = teams.find((item) => item.id === session.teamId);
  return html`<span class="badge team">${team ? team.name : t.queue.team}</span>`;
}

function QueueItem({ api, store, session, position, now, state }) {
  const take = async (event) => {
    event.stopPropagation();
    try {
      const taken = await api.patch(`/api/chat/session/${session.id}/assign`, { supportAgentId: state.agent.id });
      store.set((s) => upsertSessions(s, [taken]));
      openConversation(api, store, session.id);
    } catch (error) {
      store.set({ error: error.message });
    }
  };
  return html`<li class=${`item prio-${session.priority} ${state.selectedId === session.id ? "selected" : ""}`} data-testid="queue-item" data-session-id=${session.id}>
    <button type="button" class="item-main" onClick=${() => openConversation(api, store, session.id)}>
      <span class="row">
        <span class="pos">${fmt(t.queue.position, { n: position })}</span>
        <span class=${`badge prio ${session.priority}`}>${t.priority[session.priority]}</span>
        <${TeamBadge} session=${session} teams=${state.teams || []} />
        ${session.outsideBusinessHours && html`<span class="badge">${t.queue.outsideHours}</span>`}
        <span class="wait" data-testid="wait">${fmt(t.queue.waitedFor, { d: since(session.createdAt, now) })}</span>
      </span>
      <span class="preview" data-testid="preview">${preview(session)}</span>
      <span class="row"><${SlaBadge} session=${session} now=${now} /></span>
    </button>
    ${state.agent && html`<button type="button" class="take" data-testid="take" onClick=${take}>${t.queue.take}</button>`}
  </li>`;
}

function MineItem({ api, store, session, now, state }) {
  const unread = state.unread[session.id] || 0;
  const lastCustomer = state.lastCustomerAt[session.id];
  return html`<li class=${`item ${state.selectedId === session.id ? "selected" : ""}`} data-testid="mine-item" data-session-id=${session.id}>
    <button type="button" class="item-main" onClick=${() => openConversation(api, store, session.id)}>
      <span class="row">
        <span class=${`badge prio ${session.priority}`}>${t.priority[session.priority]}</span>
        ${lastCustomer && html`<span class="wait">${fmt(t.queue.lastCustomer, { d: since(lastCustomer, now) })}</span>`}
        ${unread > 0 && html`<span class="badge unread" data-testid="unread" aria-label=${fmt(t.queue.unread, { n: unread })}>${unread}</span>`}
      </span>
      <span class="preview">${preview(session)}</span>
    </button>
  </li>`;
}

function AllChats({ api, store, state, now }) {
  const [filters, setFilters] = useState({ status: "", priority: "", supportAgentId: "", teamId: "" });
  const [rows, setRows] = useState([]);
  useEffect(() => {
    api
      .get(`/api/chat/sessions/all${query({ ...filters, limit: 50, sortBy: "lastMessageAt", sortOrder: "desc" })}`)
      .then((page) => {
        setRows(page.sessions.map((s) => s.id));
        store.set((s) => upsertSessions(s, page.sessions));
      })
      .catch((error) => store.set({ error: error.message }));
  }, [filters.status, filters.priority, filters.supportAgentId, filters.teamId]);
  const set = (key) => (event) => setFilters({ ...filters, [key]: event.target.value });
  const agents = state.agents || [];
  return html`<div>
    <div class="filters" role="group" aria-label=${t.queue.filters}>
      <select data-testid="filter-status" value=${filters.status} onChange=${set("status")} aria-label=${t.queue.anyStatus}>
        <option value="">${t.queue.anyStatus}</option>
        ${["pending", "active", "closed"].map((s) => html`<option value=${s}>${t.status[s]}</option>`)}
      </select>
      <select value=${filters.priority} onChange=${set("priority")} aria-label=${t.queue.anyPriority}>
        <option value="">${t.queue.anyPriority}</option>
        ${["high", "medium", "low"].map((p) => html`<option value=${p}>${t.priority[p]}</option>`)}
      </select>
      <select value=${filters.supportAgentId} onChange=${set("supportAgentId")} aria-label=${t.queue.anyAgent}>
        <option value="">${t.queue.anyAgent}</option>
        ${agents.map((a) => html`<option value=${a.id}>${a.name}</option>`)}
      </select>
      ${(state.teams || []).length > 0 &&
      html`<select value=${filters.teamId} onChange=${set("teamId")} aria-label=${t.queue.anyTeam}>
        <option value="">${t.queue.anyTeam}</option>
        ${state.teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}
      </select>`}
    </div>
    <ul class="list">
      ${rows.length === 0 && html`<li class="empty">${t.queue.allEmpty}</li>`}
      ${rows
        .map((id) => state.sessions[id])
        .filter(Boolean)
        .map(
          (session) => html`<li class=${`item ${state.selectedId === session.id ? "selected" : ""}`} data-testid="all-item" data-session-id=${session.id}>
            <button type="button" class="item-main" onClick=${() => openConversation(api, store, session.id)}>
              <span class="row"><span class="badge">${t.status[session.status]}</span><span class=${`badge prio ${session.priority}`}>${t.priority[session.priority]}</span><span class="wait">${since(session.lastMessageAt, now)}</span></span>
              <span class="preview">${preview(session)}</span>
            </button>
          </li>`,
        )}
    </ul>
  </div>`;
}

export function QueuePanel({ api, store, state, mine, admin }) {
  const [tab, setTab] = useState("waiting");
  const now = useNow();
  const queue = queueOf(state);
  const unreadMine = mine.reduce((sum, s) => sum + (state.unread[s.id] || 0), 0);
  const tabs = [
    ["waiting", `${t.queue.waiting} (${queue.length})`],
    ["mine", `${t.queue.mine} (${mine.length})${unreadMine ? ` · ${unreadMine}` : ""}`],
    ...(admin ? [["all", t.queue.all]] : []),
  ];
  return html`<nav class="panel queue" aria-label=${t.queue.waiting}>
    <div class="tabs" role="tablist">
      ${tabs.map(
        ([key, label]) => html`<button type="button" role="tab" aria-selected=${tab === key} data-testid=${`tab-${key}`} class=${tab === key ? "active" : ""} onClick=${() => setTab(key)}>${label}</button>`,
      )}
    </div>
    ${tab === "waiting" &&
    html`<ul class="list" data-testid="queue">
      ${queue.length === 0 && html`<li class="empty">${t.queue.empty}</li>`}
      ${queue.map((session, index) => html`<${QueueItem} key=${session.id} api=${api} store=${store} session=${session} position=${index + 1} now=${now} state=${state} />`)}
    </ul>`}
    ${tab === "mine" &&
    html`<ul class="list" data-testid="mine">
      ${mine.length === 0 && html`<li class="empty">${t.queue.mineEmpty}</li>`}
      ${mine.map((session) => html`<${MineItem} key=${session.id} api=${api} store=${store} session=${session} now=${now} state=${state} />`)}
    </ul>`}
    ${tab === "all" && html`<${AllChats} api=${api} store=${store} state=${state} now=${now} />`}
  </nav>`;
}
