// A confirmation asked in the page (a modal <dialog>), not with
// window.confirm: keyboard-friendly, styled, and no browser dialog.

import { h } from "./dom.js";

/** Resolves to true when the operator confirms. */
export function confirmAction(question, action) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-question" },
      h("form", { method: "dialog" },
        h("p", { id: "confirm-question" }, question),
        h("div", { class: "actions" },
          h("button", { type: "submit", value: "cancel", class: "secondary" }, "Cancel"),
          h("button", { type: "submit", value: "confirm", class: "primary" }, action))));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector("button.secondary").focus();
  });
}
