// Starts ReDoc on the OpenAPI document named by the page (no inline script: CSP). The page's
// nonce is handed to ReDoc, which puts it on the style sheets it generates.
(function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.dataset.specUrl, { nonce: root.dataset.nonce }, root);
})();
