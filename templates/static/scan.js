// Scan fields keep the focus: after every result the field is focused with
// its text selected, so the next scan (a USB scanner types the code, then
// Enter) replaces it instead of being typed in front of it.
document.addEventListener("DOMContentLoaded", function () {
  var field = document.querySelector("input[data-scan]");
  if (!field) return;
  field.focus();
  field.select();
});
