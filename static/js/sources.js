// Small behaviours shared by every page (no inline scripts: the Content-Security-Policy allows
// only scripts served from here).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = document.querySelector(button.dataset.copy).textContent;
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  const area = document.createElement("textarea");  // plain http: the older way
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
});

// Forms that ask before they act: <form data-confirm="Stop this run? ...">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Widths computed on the server (progress bars): data-width="42" → 42 %. Set through the DOM,
// because the Content-Security-Policy forbids style attributes in the markup.
function applyWidths(root) {
  root.querySelectorAll("[data-width]").forEach((el) => {
    el.style.width = `${el.dataset.width}%`;
  });
}
document.addEventListener("DOMContentLoaded", () => applyWidths(document));
document.addEventListener("htmx:load", (event) => applyWidths(event.detail.elt));
