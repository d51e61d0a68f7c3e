import { t, fmt } from "./strings.js";

export function duration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return fmt(t.time.seconds, { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return fmt(t.time.minutes, { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return fmt(t.time.hours, { n: hours });
  return fmt(t.time.days, { n: Math.floor(hours / 24) });
}

export function since(iso, now = Date.now()) {
  return iso ? duration(now - Date.parse(iso)) : "";
}

export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const sameDay = new Date().toDateString() === date.toDateString();
  const options = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" };
  return date.toLocaleString("es", options);
}

export function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

// Messages by id, oldest first: merging a page, an event and a replay never duplicates.
export function mergeById(list, items, key = "timestamp") {
  const byId = new Map(list.map((item) => [item.id, item]));
  for (const item of items) byId.set(item.id, { ...byId.get(item.id), ...item });
  return [...byId.values()].sort((a, b) => Date.parse(a[key]) - Date.parse(b[key]));
}
