/* The reservation form: picking a looked-up guest fills the guest fields and reuses that guest. */
(function () {
  "use strict";
  const FIELDS = { first: "guest_first_name", last: "guest_last_name", email: "guest_email",
                   phone: "guest_phone", country: "guest_country" };
  document.addEventListener("click", function (event) {
    const pick = event.target.closest(".guest-pick");
    if (!pick) return;
    const form = pick.closest("form");
    form.querySelector("[name=existing_guest]").value = pick.dataset.guest;
    Object.entries(FIELDS).forEach(([key, name]) => {
      const input = form.querySelector("[name=" + name + "]");
      if (input) { input.value = pick.dataset[key] || ""; input.readOnly = true; }
    });
    const chosen = document.getElementById("guest-chosen");
    chosen.hidden = false;
    chosen.textContent = "Booking for the existing guest " + pick.dataset.first + " " + pick.dataset.last + ". ";
    const clear = document.createElement("a");
    clear.href = "#"; clear.textContent = "Book for someone else";
    clear.addEventListener("click", function (e) {
      e.preventDefault();
      form.querySelector("[name=existing_guest]").value = "";
      Object.values(FIELDS).forEach((name) => {
        const input = form.querySelector("[name=" + name + "]");
        if (input) { input.value = ""; input.readOnly = false; }
      });
      chosen.hidden = true;
    });
    chosen.appendChild(clear);
    document.getElementById("guest-matches").innerHTML = "";
  });
})();
