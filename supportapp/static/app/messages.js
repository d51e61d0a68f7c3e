// One message bubble, shared by the console and the widget: text as text, attachments as an
// image thumbnail (images) or a download link, both through the signed `url`.
import { useState } from "preact/hooks";
import { html } from "./html.js";
import { t } from "./strings.js";
import { clock, bytes } from "./format.js";

export function Attachment({ file }) {
  if (file.contentType?.startsWith("image/")) {
    return html`<a class="attachment image" href=${file.url} target="_blank" rel="noopener" data-testid="attachment">
      <img class="thumb" src=${file.url} alt=${file.filename} loading="lazy" data-testid="thumbnail" />
    </a>`;
  }
  return html`<a class="attachment file" href=${file.url} download=${file.filename} data-testid="attachment">
    ${t.conversation.download}: ${file.filename} (${bytes(file.size || 0)})
  </a>`;
}

export function Bubble({ message, mine, label, readLabel }) {
  const files = message.attachments || [];
  return html`<li class=${`msg ${message.sender} ${mine ? "mine" : "theirs"}`} data-testid="message" data-sender=${message.sender} data-message-id=${message.id}>
    <span class="meta">${label} · ${clock(message.timestamp)}</span>
    ${message.message && html`<p class="text" data-testid="message-text">${message.message}</p>`}
    ${files.map((file) => html`<${Attachment} key=${file.id} file=${file} />`)}
    ${mine && readLabel && html`<span class="read" data-testid="read-state">${message.isRead ? t.conversation.read : t.conversation.sent}</span>`}
  </li>`;
}

// Throttled typing signal (docs/realtime.md): at most one `true` a second while typing, and
// a `false` after a pause or when the message is sent.
export function typingNotifier(send) {
  let lastSent = 0;
  let idle = null;
  let typing = false;
  const stop = () => {
    clearTimeout(idle);
    if (typing) send(false);
    typing = false;
  };
  return {
    input() {
      const now = Date.now();
      if (!typing || now - lastSent > 1000) {
        send(true);
        lastSent = now;
        typing = true;
      }
      clearTimeout(idle);
      idle = setTimeout(stop, 3000);
    },
    stop,
  };
}

// The file picked in a composer's file input, sent as an attachment with the composer's text
// as its caption. Resolves to the new ChatMessage, or null when nothing was picked; rejects
// with a message a person can read (413 and 415 explained).
export async function uploadPicked(api, sessionId, event, caption) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return null;
  const form = new FormData();
  form.append("file", file);
  if (caption.trim()) form.append("message", caption.trim());
  try {
    return await api.upload(`/api/chat/session/${sessionId}/attachments`, form);
  } catch (error) {
    const readable = { 413: t.errors.fileTooLarge, 415: t.errors.fileType }[error.status];
    throw readable ? new Error(readable) : error;
  }
}

// A composer's text and the one send in flight: `run(action)` marks it busy, clears the text
// when the action produced something, and hands a failure's message to `onError`.
export function useComposer(onError) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const run = async (action) => {
    setBusy(true);
    try {
      if (await action()) setText("");
    } catch (error) {
      onError(error.message);
    } finally {
      setBusy(false);
    }
  };
  return { text, setText, busy, run };
}
