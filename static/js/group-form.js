// "+ Add Courier" / "Add a courier group constraint": clone the formset's empty form.
document.querySelectorAll("[data-add-row]").forEach(function (button) {
  button.addEventListener("click", function () {
    var prefix = button.dataset.addRow;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix === "members" ? "member-template" : "constraint-template");
    var html = template.innerHTML.replace(/__prefix__/g, total.value);
    document.getElementById(prefix + "-rows").insertAdjacentHTML("beforeend", html);
    total.value = parseInt(total.value, 10) + 1;
  });
});
