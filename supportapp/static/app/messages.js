// One message bubble, shared by the console and the widget: text as text, attachments as an
// image thumbnail (images) or a download link, both through the signed `url`.
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
