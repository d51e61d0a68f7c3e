// New-chat alerts while the tab is not focused: a desktop notification and a short sound (each
// a setting, kept in this browser), the unread count in the tab title, and the Web Push
// subscription when the server has VAPID keys.
import { html } from "../html.js";
import { useEffect, useState } from "preact/hooks";
import { t } from "../strings.js";
import { mineOf } from "./store.js";

const SETTINGS_KEY = "supportapp.console.alerts";
const BASE_TITLE = document.title;

function settings() {
  return { desktop: false, sound: true, ...JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") };
}

function away() {
  return document.hidden || !document.hasFocus();
}

function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
  } catch {}
}

function notify(title, body, tag) {
  const chosen = settings();
  if (chosen.sound) beep();
  if (chosen.desktop && "Notification" in window && Notification.permission === "granted") {
    const note = new Notification(title, { body, tag });
    note.onclick = () => window.focus();
  }
}

export function alertNewChat(store, session) {
  if (!away()) return;
  store.set((s) => ({ newWhileHidden: s.newWhileHidden + 1 }));
  notify(t.alerts.newChat, session?.messages?.[0]?.message || "", session?.id);
}

export function alertNewMessage(store, session) {
  if (!away()) return;
  notify(t.alerts.newMessage, session?.messages?.[0]?.message || "", session?.id);
}

export function updateTitle(state) {
  const unread = mineOf(state).reduce((sum, s) => sum + (state.unread[s.id] || 0), 0) + state.newWhileHidden;
  document.title = unread > 0 ? `(${unread}) ${BASE_TITLE}` : BASE_TITLE;
}

function base64UrlToBytes(value) {
  const padded = value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function subscribePush(api, publicKey) {
  const registration = await navigator.serviceWorker.register("/static/app/console/push-sw.js");
  await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) });
  const json = subscription.toJSON();
  await api.post("/api/support/push-subscriptions", { endpoint: json.endpoint, keys: json.keys });
}

export function Alerts({ api, store }) {
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState(settings());
  const [vapid, setVapid] = useState(null);
  const [pushState, setPushState] = useState(null);
  useEffect(() => {
    const back = () => {
      if (!away()) store.set({ newWhileHidden: 0 });
    };
    window.addEventListener("focus", back);
    document.addEventListener("visibilitychange", back);
    api.optional("/api/support/push-subscriptions/vapid-public-key").then((data) => setVapid(data?.publicKey || null)).catch(() => {});
    return () => {
      window.removeEventListener("focus", back);
      document.removeEventListener("visibilitychange", back);
    };
  }, []);
  const save = async (key, value) => {
    if (key === "desktop" && value && "Notification" in window && Notification.permission !== "granted") {
      value = (await Notification.requestPermission()) === "granted";
    }
    const next = { ...chosen, [key]: value };
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(next));
    setChosen(next);
  };
  const push = async () => {
    try {
      await subscribePush(api, vapid);
      setPushState(t.alerts.pushOn);
    } catch (error) {
      setPushState(error.message);
    }
  };
  return html`<div class="alerts">
    <button type="button" class="secondary" aria-expanded=${open} data-testid="alerts" onClick=${() => setOpen(!open)}>${t.alerts.settings}</button>
    ${open &&
    html`<div class="popover">
      <label><input type="checkbox" checked=${chosen.desktop} onChange=${(e) => save("desktop", e.target.checked)} /> ${t.alerts.desktop}</label>
      <label><input type="checkbox" checked=${chosen.sound} onChange=${(e) => save("sound", e.target.checked)} /> ${t.alerts.sound}</label>
      ${vapid && "serviceWorker" in navigator && html`<button type="button" onClick=${push}>${t.alerts.push}</button>`}
      ${pushState && html`<p class="muted">${pushState}</p>`}
    </div>`}
  </div>`;
}
