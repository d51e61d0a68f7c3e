// Copy-paste snippet for a host site (README, "The widget on your site"):
//   <script src="https://SUPPORT_HOST/static/app/widget/embed.js" defer
//           data-external-id="…" data-name="…" data-email="…" data-user-hash="…"></script>
// It adds a chat button that opens /widget in an iframe. With data-user-hash (computed by the
// host's server as HMAC-SHA256(IDENTITY_SECRET, externalId)) the visitor arrives identified;
// SupportApp.setToken(accessToken) hands over a token of an external issuer instead.
(function () {
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var data = script.dataset;
  var identity = data.userHash && data.externalId
    ? { type: "supportapp:identify", externalId: data.externalId, name: data.name, email: data.email, userHash: data.userHash }
    : null;
  var frame = null;
  var ready = false;

  function post(message) {
    if (frame && ready) frame.contentWindow.postMessage(message, origin);
  }

  function open() {
    if (frame) {
      frame.hidden = !frame.hidden;
      return;
    }
    frame = document.createElement("iframe");
    frame.src = origin + "/widget";
    frame.title = data.title || "Soporte";
    // Styles through the CSSOM, which a strict CSP on the host page allows.
    Object.assign(frame.style, {
      position: "fixed", right: "20px", bottom: "84px", width: "380px", height: "560px", maxHeight: "80vh",
      border: "1px solid #ddd", borderRadius: "12px", boxShadow: "0 8px 30px rgba(0,0,0,.15)", background: "#fff", zIndex: "2147483000",
    });
    document.body.appendChild(frame);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    if (event.data && event.data.type === "supportapp:ready") {
      ready = true;
      if (identity) post(identity);
      if (pendingToken) post(pendingToken);
    }
  });

  var pendingToken = null;
  window.SupportApp = {
    open: open,
    setToken: function (accessToken, refreshToken) {
      pendingToken = { type: "supportapp:token", accessToken: accessToken, refreshToken: refreshToken };
      post(pendingToken);
    },
  };

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = data.label || "Chat";
  button.setAttribute("aria-label", data.title || "Soporte");
  Object.assign(button.style, {
    position: "fixed", right: "20px", bottom: "20px", border: "0", borderRadius: "28px", padding: "14px 22px",
    background: "#2f6fed", color: "#fff", font: "600 15px system-ui,sans-serif", cursor: "pointer", zIndex: "2147483000",
  });
  button.addEventListener("click", open);
  document.body.appendChild(button);
})();
