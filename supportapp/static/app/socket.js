// The one owner of the WebSocket (docs/realtime.md): authenticates with the first frame (the
// token stays out of URLs and access logs), resumes from the last event id it processed,
// reconnects with exponential backoff and jitter, refreshes the token on 4401, and asks the
// page to refetch over REST on `resync_required`. It never gives up: a person sees
// "reconectando", never a dead "desconectado".
import { tabStorage } from "./api.js";

const MAX_DELAY_MS = 15000;

export class LiveSocket {
  constructor({ api, storageKey, onEvent, onStatus, onResync, onTyping }) {
    this.api = api;
    this.storageKey = storageKey;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onResync = onResync;
    this.onTyping = onTyping || (() => {});
    this.lastEventId = tabStorage.getItem(storageKey);
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.status = "connecting";
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.status === "connected") {
      this.ws.send(JSON.stringify(frame));
    }
  }

  setStatus(status, retryInMs) {
    this.status = status;
    this.onStatus(status, retryInMs);
  }

  connect() {
    clearTimeout(this.timer);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const params = this.lastEventId ? `?lastEventId=${encodeURIComponent(this.lastEventId)}` : "";
    const ws = new WebSocket(`${scheme}://${location.host}/ws${params}`);
    this.ws = ws;
    const resumed = Boolean(this.lastEventId);
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.api.accessToken }));
    ws.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.event === "connected") {
        this.attempt = 0;
        this.setStatus("connected");
        // A fresh connection has nothing to replay: the page loads its state now, after the
        // socket is listening, so nothing can slip between the load and the first event.
        if (!resumed) this.onResync("initial");
        return;
      }
      if (frame.event === "resync_required") {
        this.onResync(frame.data?.reason || "resync");
        return;
      }
      if (frame.event === "typing") {
        this.onTyping(frame.data);
        return;
      }
      if (!frame.id) return; // pong and other notices
      this.lastEventId = frame.id;
      tabStorage.setItem(this.storageKey, frame.id);
      this.onEvent(frame.event, frame.data, frame);
    };
    ws.onclose = async (close) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (close.code === 4401 && !(await this.api.refresh())) {
        this.setStatus("signed-out");
        this.api.setTokens(null);
        this.api.onSignedOut();
        return;
      }
      this.schedule();
    };
  }

  schedule() {
    const base = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.setStatus("reconnecting", delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.status === "connected") return;
    this.attempt = 0;
    this.connect();
  }
}
