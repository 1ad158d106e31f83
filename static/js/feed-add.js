// Add Feed: the table name preview, and the sample file choices that apply.
(function () {
  const form = document.getElementById("add-feed-form");
  const preview = document.getElementById("table-name-preview");
  function update() {
    const existing = form.elements["data_source"].value;
    const source = existing || form.elements["new_data_source"].value || "<Data source>";
    preview.textContent = source + ":" + (form.elements["name"].value || "<Feed name>");
    form.elements["new_data_source"].closest(".col-md-6").hidden = !!existing;
    const kind = (form.querySelector("input[name=sample]:checked") || {}).value;
    document.getElementById("sample-upload").hidden = kind !== "upload";
    document.getElementById("sample-landed").hidden = kind !== "landed";
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
