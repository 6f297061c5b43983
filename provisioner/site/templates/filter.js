// Filters a table's rows by the text typed in the field that names it (data-filter).
document.querySelectorAll("input[data-filter]").forEach(function (field) {
  var table = document.getElementById(field.getAttribute("data-filter"));
  if (!table) { return; }
  field.closest("label").hidden = false;
  field.addEventListener("input", function () {
    var wanted = field.value.trim().toLowerCase();
    table.querySelectorAll("tbody tr").forEach(function (row) {
      row.hidden = wanted !== "" && row.textContent.toLowerCase().indexOf(wanted) < 0;
    });
  });
});
