// Admins' strip: waiting count, longest wait, agents online with their load, SLA met today.
// Every figure comes from the API (stats, agents, queue); nothing is estimated here.
import { html } from "../html.js";
import { useEffect, useState } from "preact/hooks";
import { query } from "../api.js";
import { t } from "../strings.js";
import { since } from "../format.js";
import { queueOf } from "./store.js";

let pending = null;

function startOfToday() {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
}

export async function loadAdminStrip(api, store, { soon = false } = {}) {
  if (soon) {
    // Bursts of events refresh the figures once.
    clearTimeout(pending);
    pending = setTimeout(() => loadAdminStrip(api, store), 500);
    return;
  }
  const [stats, today, agents] = await Promise.all([
    api.get("/api/chat/stats"),
    api.get(`/api/chat/stats${query({ from: startOfToday() })}`).catch(() => null),
    api.get("/api/support/agents"),
  ]);
  store.set({ stats, statsToday: today, agents });
}

function isOnline(agent) {
  return "presence" in agent ? agent.presence === "online" && agent.isActive : agent.isActive;
}

// `advanced.slaMet.firstResponse`: the percentage (0–100) of today's decided sessions answered
// within their first-response target; null when none is decided yet.
function slaMetText(statsToday) {
  const value = statsToday?.advanced?.slaMet?.firstResponse;
  if (value === null || value === undefined) return t.admin.none;
  return `${Math.round(value)} %`;
}

export function AdminStrip({ state }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  const queue = queueOf(state);
  const oldest = queue.reduce((min, s) => (!min || Date.parse(s.createdAt) < Date.parse(min) ? s.createdAt : min), null);
  const online = (state.agents || []).filter(isOnline);
  return html`<section class="adminstrip" aria-label="Resumen" data-testid="admin-strip">
    <div><span class="label">${t.admin.waiting}</span><strong data-testid="strip-waiting">${state.stats ? state.stats.pendingSessions : "…"}</strong></div>
    <div><span class="label">${t.admin.longest}</span><strong data-testid="strip-longest">${oldest ? since(oldest, now) : t.admin.none}</strong></div>
    <div><span class="label">${t.admin.online}</span><strong data-testid="strip-online">${online.length}</strong>
      <span class="agents" data-testid="strip-agents">${online.map((a) => html`<span class="agent-load" data-agent-id=${a.id}>${a.name} ${a.currentActiveChats}/${a.maxConcurrentChats}</span>`)}</span>
    </div>
    <div><span class="label">${t.admin.slaToday}</span><strong data-testid="strip-sla">${slaMetText(state.statsToday)}</strong></div>
  </section>`;
}
