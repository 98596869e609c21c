/* The rate grid: shift-click selects a range of cells and links the bulk form, pre-filled. */
(function () {
  "use strict";
  let anchor = null;
  function cellsBetween(a, b) {
    const table = a.closest("table");
    const rows = Array.from(table.querySelectorAll("tbody tr"));
    const pos = (td) => [rows.indexOf(td.parentElement), td.cellIndex];
    const [r1, c1] = pos(a), [r2, c2] = pos(b);
    const out = [];
    for (let r = Math.min(r1, r2); r <= Math.max(r1, r2); r++) {
      for (let c = Math.min(c1, c2); c <= Math.max(c1, c2); c++) {
        const td = rows[r].cells[c];
        if (td && td.dataset.kind) out.push(td);
      }
    }
    return out;
  }
  function show(cells) {
    document.querySelectorAll("#rate-grid td.selected").forEach((td) => td.classList.remove("selected"));
    cells.forEach((td) => td.classList.add("selected"));
    const page = document.getElementById("rate-grid-page");
    const note = document.getElementById("grid-selection");
    const bulk = page.dataset.bulkUrl;
    if (!cells.length || !bulk) { note.hidden = true; return; }
    const dates = cells.map((td) => td.dataset.date).sort();
    const types = new Set(cells.map((td) => td.dataset.rt));
    const plans = new Set(cells.filter((td) => td.dataset.plan).map((td) => td.dataset.plan));
    const q = new URLSearchParams();
    q.set("start", dates[0]);
    q.set("end", dates[dates.length - 1]);
    types.forEach((id) => q.append("room_types", id));
    plans.forEach((id) => q.append("rate_plans", id));
    note.hidden = false;
    note.innerHTML = "";
    const link = document.createElement("a");
    link.className = "button";
    link.id = "bulk-selected";
    link.href = bulk + "?" + q.toString();
    link.textContent = "Bulk update the " + cells.length + " selected cells";
    note.appendChild(link);
  }
  document.addEventListener("click", function (event) {
    const td = event.target.closest("#rate-grid td[data-kind]");
    if (!td) return;
    if (event.shiftKey && anchor) {
      event.preventDefault();
      show(cellsBetween(anchor, td));
    } else {
      anchor = td;
      show([]);
    }
  });
  document.addEventListener("keydown", function (event) {
    const td = event.target.closest && event.target.closest("#rate-grid td[hx-get]");
    if (td && event.key === "Enter") td.click();
  });
})();
