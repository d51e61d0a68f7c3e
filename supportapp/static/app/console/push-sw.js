// Service worker for the console's Web Push: shows the notification the server sent
// ({title, body, ...}) and focuses or opens the console when it is clicked.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { title: "supportapp", body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(self.registration.showNotification(data.title || "supportapp", { body: data.body || "", tag: data.sessionId || data.tag }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).pathname === "/console");
      return open ? open.focus() : self.clients.openWindow("/console");
    }),
  );
});
