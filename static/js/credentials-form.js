// Show only the fields of the chosen credential type.
// Show only the fields of the chosen credential type.
(function () {
  const kind = document.getElementById("id_kind");
  function sync() {
    document.querySelectorAll(".kind-field").forEach(function (box) {
      const kinds = box.dataset.kinds.split(" ");
      box.hidden = !(kinds.includes("all") || kinds.includes(kind.value));
    });
  }
  kind.addEventListener("change", sync);
  sync();
})();
